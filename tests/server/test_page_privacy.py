"""What the public pages keep private: template var values, security headers, the database."""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from evals_action.server import store

from .conftest import WAIT, FakeRollouts, Running, running_server, settings

PASSWORD = "hunter2-Tr0ub4dor"
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def _finished_with_password(server: Running, rollouts: FakeRollouts) -> dict[str, object]:
    """A completed run whose template var is a password the agent repeats and a check names."""
    run_id = server.start(template_args={"project_name": PASSWORD})
    answer = {"role": "assistant", "content": f"Created the project {PASSWORD}."}
    rollouts.finish(rollouts.started()[-1], result={"messages": [answer]})
    return server.until(run_id, lambda b: b["status"] == "completed")


def _pages(server: Running, body: dict[str, object]) -> str:
    report = body["report"]
    assert isinstance(report, dict)
    urls = [f"{server.url}/runs/{body['runId']}", str(report["url"]), f"{server.url}/"]
    return "".join(requests.get(url, timeout=WAIT).text for url in urls)


def test_pages_hide_template_var_values_by_default(server: Running, rollouts: FakeRollouts) -> None:
    """The prompt, the answer, the checks and the targets table show `{{project_name}}`."""
    body = _finished_with_password(server, rollouts)
    shown = _pages(server, body)
    assert PASSWORD not in shown
    assert "Created the project {{project_name}}." in shown  # the answer
    assert "named &#34;{{project_name}}&#34;" in shown  # the prompt
    assert "answer contains &#39;{{project_name}}&#39;" in shown  # a check's name
    assert "(hidden)" in shown  # the targets table
    assert PASSWORD in str(body)  # the API (behind a key) still has it


@pytest.fixture
def showing(tmp_path: Path, rollouts: FakeRollouts) -> Iterator[Running]:
    shown = dataclasses.replace(settings(), show_template_values=True)
    with running_server(
        database=tmp_path / "db", settings_=shown, client_factory=rollouts.factory
    ) as running:
        yield running


def test_pages_show_values_when_the_config_says_so(
    showing: Running, rollouts: FakeRollouts
) -> None:
    """`[pages] show_template_values = true` puts them back."""
    shown = _pages(showing, _finished_with_password(showing, rollouts))
    assert f"Created the project {PASSWORD}." in shown
    assert "(hidden)" not in shown


@pytest.mark.parametrize(
    ("path", "status", "authorized"),
    [
        ("/", 200, False),
        ("/dashboard", 200, False),
        ("/runs/nope", 404, False),
        ("/reports/nope", 404, False),
        ("/no/such/route", 404, False),
        ("/healthz", 200, False),
        ("/api/openapi", 200, False),
        ("/api/v1/prompts", 401, False),
        ("/api/v1/prompts", 200, True),
        ("/api/v1/runs/nope", 404, True),
    ],
)
def test_every_response_carries_the_security_headers(
    shared_server: Running, path: str, status: int, authorized: bool
) -> None:
    """Pages, API answers, errors and 404s alike."""
    session = shared_server.session() if authorized else requests.Session()
    response = session.get(shared_server.url + path, timeout=WAIT)
    assert response.status_code == status
    assert {name: response.headers.get(name) for name in HEADERS} == HEADERS


def test_a_new_database_and_its_wal_and_shm_files_are_private(tmp_path: Path) -> None:
    """Mode 0600 even under a permissive umask; SQLite gives -wal and -shm the same mode."""
    database = tmp_path / "evals.sqlite3"
    previous = os.umask(0o022)
    try:
        db = store.Store(path=database)
        db.add_key(key_id="k", name="n", key_hash="h")  # a write: the -wal and -shm files exist
        files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
        modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files}
        db.close()
    finally:
        os.umask(previous)
    assert modes == {f.name: 0o600 for f in files}
