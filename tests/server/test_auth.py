"""Bearer keys: every API route answers 401 without a good key; keys are stored hashed only."""

from __future__ import annotations

import logging

import pytest
import requests
from click.testing import CliRunner

from evals_action import errors
from evals_action.server import cli, keys

from .conftest import Running

API_ROUTES = [
    ("GET", "/api/v1/prompts"),
    ("GET", "/api/v1/prompts/signup"),
    ("POST", "/api/v1/prompts/signup/run"),
    ("GET", "/api/v1/runs"),
    ("GET", "/api/v1/runs/any-id"),
    ("GET", "/api/v1/runs/any-id?wait=5"),
]


@pytest.mark.parametrize(("method", "path"), API_ROUTES)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic abc", "Bearer ", "eak_x"])
def test_every_api_route_rejects_a_missing_or_wrong_key(
    shared_server: Running, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = requests.request(
        method, shared_server.url + path, headers=headers, json={"urlMap": {}}, timeout=5
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {
        "error": "Missing or invalid API key: send Authorization: Bearer <key>"
    }


def test_a_revoked_key_is_rejected_at_once(server: Running) -> None:
    key_id, key = keys.create(store=server.db, name="short-lived")
    url = f"{server.url}/api/v1/prompts"
    assert server.session(key=key).get(url).status_code == 200
    assert server.db.revoke_key(key_id=key_id)
    assert server.session(key=key).get(url).status_code == 401
    assert server.session().get(url).status_code == 200  # other keys still work


def test_the_action_client_gets_a_fatal_error_with_a_hint(server: Running) -> None:
    from evals_action import transport
    from evals_action.backends import evals_api

    backend = evals_api.EvalsApiBackend(
        session=transport.new_session(), base_url=server.url, api_key="wrong"
    )
    with pytest.raises(errors.FatalAPIError, match="HTTP 401.*check the api-key"):
        backend.fetch(run_id="x")


def test_open_routes_need_no_key(server: Running) -> None:
    for path in ("/api/openapi", "/healthz", "/"):
        assert requests.get(server.url + path, timeout=5).status_code == 200


def test_keys_are_stored_hashed_and_never_logged(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """The key is in neither the database file nor any log record, used or refused."""
    caplog.set_level(logging.DEBUG)
    key_id, key = keys.create(store=server.db, name="secret")
    server.session(key=key).get(f"{server.url}/api/v1/prompts")
    server.start()
    requests.get(
        f"{server.url}/api/v1/prompts", headers={"Authorization": f"Bearer {key}x"}, timeout=5
    )
    stored = b"".join(p.read_bytes() for p in server.database.parent.glob("evals.sqlite3*"))
    assert key.encode() not in stored
    assert keys.digest(key=key).encode() in stored
    assert key_id.encode() in stored
    assert caplog.records  # the server did log
    assert all(
        key not in r.getMessage() and server.key not in r.getMessage() for r in caplog.records
    )


def test_cli_creates_lists_and_revokes_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    database = str(tmp_path / "keys.sqlite3")
    created = runner.invoke(cli.serve, ["keys", "create", "--name", "ci", "--database", database])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("eak_")
    key_id = key.split("_")[1]
    listed = runner.invoke(cli.serve, ["--database", database, "keys", "list"])
    assert listed.exit_code == 0
    assert listed.stdout.startswith(f"{key_id}\tci\t")
    assert "active" in listed.stdout
    assert key not in listed.output
    revoked = runner.invoke(
        cli.serve, ["keys", "revoke", key_id], env={"EVALS_SERVER_DATABASE": database}
    )
    assert (revoked.exit_code, revoked.stdout) == (0, f"Revoked key {key_id}.\n")
    again = runner.invoke(cli.serve, ["keys", "revoke", key_id, "--database", database])
    assert again.exit_code == 1
    assert f"no active key with id {key_id}" in again.output
