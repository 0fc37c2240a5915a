"""OIDC instead of an API key, end to end on loopback: the real action CLI with `api-key` empty
requests the job's token from the fake Actions endpoint and the server accepts it; tokens the
`[oidc]` table does not allow get a 401 naming the claim, never the token; keys keep working."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from evals_action.server import config, oidc, reporting_config
from tests.fakes import oidc as fake_oidc
from tests.fakes.github import FakeGitHub
from tests.integration import helpers

from .conftest import WAIT, FakeRollouts, Running, running_server, settings


@pytest.fixture
def issuer() -> Iterator[fake_oidc.FakeIssuer]:
    with fake_oidc.FakeIssuer() as fake:
        yield fake


def _with_oidc(issuer: fake_oidc.FakeIssuer) -> Callable[[str], config.ServerConfig]:
    def make(url: str) -> config.ServerConfig:
        found = reporting_config.OidcSettings(
            issuer=issuer.issuer,
            audience=url,
            rules=(oidc.Rule(repository="octo-org/octo-repo"),),
        )
        return dataclasses.replace(
            settings(), reporting=reporting_config.ReportingConfig(oidc=found)
        )

    return make


@pytest.fixture
def guarded(tmp_path: Path, issuer: fake_oidc.FakeIssuer) -> Iterator[tuple[Running, FakeRollouts]]:
    rollouts = FakeRollouts()
    with running_server(
        database=tmp_path / "db", settings_=_with_oidc(issuer), client_factory=rollouts.factory
    ) as server:
        yield server, rollouts


def _get(server: Running, token: str) -> requests.Response:
    return requests.get(
        f"{server.url}/api/v1/prompts",
        headers={"Authorization": f"Bearer {token}"},
        timeout=WAIT,
    )


def test_the_action_authenticates_with_the_jobs_oidc_token(
    tmp_path: Path, issuer: fake_oidc.FakeIssuer, guarded: tuple[Running, FakeRollouts]
) -> None:
    server, rollouts = guarded
    with FakeGitHub() as github:
        helpers.seed(github, None)
        env = helpers.environment(
            tmp_path / "runner",
            github,
            None,
            EVALS_API_BASE_URL=server.url,
            EVALS_API_KEY="",
            EVALS_PROMPT_ID="signup",
            EVALS_URL_MAP='{"app.example.com": "http://127.0.0.1:9"}',
            EVALS_TEMPLATE_VARS='{"project_name": "demo"}',
            ACTIONS_ID_TOKEN_REQUEST_URL=issuer.request_url,
            ACTIONS_ID_TOKEN_REQUEST_TOKEN=fake_oidc.REQUEST_TOKEN,
        )
        result = helpers.run_while(
            env,
            when=lambda: rollouts.requests,
            then=lambda proc: rollouts.finish(next(iter(rollouts.requests))),
        )
        comments = [c["body"] for c in github.comments(helpers.PR)]

    assert "authenticating with the job's OIDC token" in result.log, result.log
    assert result.code == 0, result.log  # the server accepted the token for every call
    assert result.outputs["final-status"] == "completed"
    token_requests = [r for r in issuer.requests if r.path == "/_apis/token"]
    assert [r.query.get("audience") for r in token_requests] == [server.url]
    helpers.assert_no_secrets(result, fake_oidc.REQUEST_TOKEN)
    log = "\n".join(line for line in result.log.splitlines() if "::add-mask::" not in line)
    for text in [log, result.summary, *result.outputs.values(), *comments]:
        assert "eyJ" not in text, text  # no JWT anywhere
    assert not issuer.take_violations()


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"repository": "someone/else"}, "repository: not in the server's [oidc] allow-list"),
        ({"exp": 1_000_000_000, "iat": 999_999_000, "nbf": 999_999_000}, "exp:"),
        ({"aud": "https://elsewhere.example"}, "aud: the token is for another audience"),
    ],
)
def test_a_token_the_allow_list_refuses_gets_a_401_naming_the_claim(
    guarded: tuple[Running, FakeRollouts],
    issuer: fake_oidc.FakeIssuer,
    caplog: pytest.LogCaptureFixture,
    claims: dict[str, object],
    reason: str,
) -> None:
    server, _ = guarded
    audience = str(claims.pop("aud", server.url))
    token = issuer.mint(audience=audience, **claims)
    with caplog.at_level(logging.DEBUG):
        response = _get(server, token)
    assert response.status_code == 401
    assert reason in response.json()["error"], response.json()
    assert token not in response.text
    assert token not in caplog.text
    assert token.split(".")[1] not in caplog.text


def test_an_allowed_token_and_a_key_both_work(
    guarded: tuple[Running, FakeRollouts], issuer: fake_oidc.FakeIssuer
) -> None:
    server, _ = guarded
    assert _get(server, issuer.mint(audience=server.url)).status_code == 200
    assert _get(server, server.key).status_code == 200
    assert _get(server, "eak_not_a_key_at_all").status_code == 401


def test_a_token_starts_runs_only_for_its_own_repository(
    guarded: tuple[Running, FakeRollouts], issuer: fake_oidc.FakeIssuer
) -> None:
    """A token allowed for one repository cannot start a run that reports to another (the
    server would write its comment and status there); a key is not bound to a repository."""
    server, _ = guarded
    token = issuer.mint(audience=server.url)

    def start(bearer: str, repository: str) -> requests.Response:
        return requests.post(
            f"{server.url}/api/v1/prompts/signup/run",
            headers={"Authorization": f"Bearer {bearer}"},
            json={
                "templateArgs": {"project_name": "demo"},
                "context": {"repository": repository, "pullRequest": 7, "sha": "a" * 40},
            },
            timeout=WAIT,
        )

    refused = start(token, "someone/else")
    assert refused.status_code == 403
    assert refused.json() == {
        "error": "context.repository must be the repository the OIDC token was issued to"
    }
    assert start(token, "octo-org/octo-repo").status_code == 201
    assert start(server.key, "someone/else").status_code == 201
