"""GitHub App installation tokens and the App's own login through PyGithub's App auth, and a
server reporting with them, against FakeGitHub on loopback."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import github
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from evals_action import errors, github_app, models
from evals_action.server import config, reporting_config
from tests.fakes.github import FakeGitHub
from tests.fakes.oidc import new_key

from .conftest import WAIT, FakeRollouts, Running, running_server, settings

APP_ID = 424242
INSTALLATION = 5550001
TTL = 3600.0
PR = 7
SHA = "e1" * 20
REPOSITORY = "octo-org/octo-repo"  # FakeGitHub's default


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def _public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return new_key()


@pytest.fixture
def fake(app_key: rsa.RSAPrivateKey) -> Iterator[FakeGitHub]:
    with FakeGitHub() as gh:
        gh.add_app(
            app_id=APP_ID,
            public_key_pem=_public_pem(app_key),
            installation_id=INSTALLATION,
            token_ttl=TTL,
        )
        gh.apps.frozen_at = 1_800_000_000.0  # token expiry follows advance_clock only
        yield gh
        assert gh.violations == []


def _tokens(fake: FakeGitHub, key: rsa.RSAPrivateKey) -> github_app.AppTokens:
    return github_app.AppTokens(
        app_id=str(APP_ID),
        private_key=_pem(key),
        api_url=fake.url,
        user_agent="evals-action-tests",
        clock=fake.apps.now,
    )


def _mints(fake: FakeGitHub) -> int:
    return sum(r.route.endswith("/access_tokens") for r in fake.requests)


def test_installation_token_is_minted_with_the_apps_jwt_and_works(
    fake: FakeGitHub, app_key: rsa.RSAPrivateKey
) -> None:
    """The fake verifies the App JWT; the token it issues reads the repository."""
    tokens = _tokens(fake, app_key)
    token = tokens.token(repository=fake.full_name)
    assert token.startswith("ghs_")
    assert [r.route for r in fake.requests] == [
        f"/repos/{fake.full_name}/installation",
        f"/app/installations/{INSTALLATION}/access_tokens",
    ]
    gh = github_app.client(
        source=tokens, repository=fake.full_name, api_url=fake.url, user_agent="t"
    )
    assert gh.get_repo(fake.full_name).private is False
    assert fake.requests[-1].header("authorization") == f"token {token}"


def test_token_is_cached_until_shortly_before_it_expires(
    fake: FakeGitHub, app_key: rsa.RSAPrivateKey
) -> None:
    """One mint per installation while the token has more than the margin left."""
    tokens = _tokens(fake, app_key)
    first = tokens.token(repository=fake.full_name)
    fake.advance_clock(seconds=TTL - github_app.DEFAULT_MARGIN_SECONDS - 1)
    assert tokens.token(repository=fake.full_name.upper()) == first
    assert _mints(fake) == 1
    fake.advance_clock(seconds=2)
    second = tokens.token(repository=fake.full_name)
    assert second != first
    assert _mints(fake) == 2
    assert sum(r.route.endswith("/installation") for r in fake.requests) == 1


def test_expired_installation_token_is_refused_by_the_fake(
    fake: FakeGitHub, app_key: rsa.RSAPrivateKey
) -> None:
    """Honest expiry: after its hour, the token gets 401, and a fresh one is minted."""
    tokens = _tokens(fake, app_key)
    old = tokens.token(repository=fake.full_name)
    gh = github_app.client(
        source=github_app.StaticToken(old),
        repository=fake.full_name,
        api_url=fake.url,
        user_agent="t",
    )
    fake.advance_clock(seconds=TTL + 1)
    with pytest.raises(github.BadCredentialsException):
        _ = gh.get_repo(fake.full_name).private
    fresh = github_app.client(
        source=tokens, repository=fake.full_name, api_url=fake.url, user_agent="t"
    )
    assert fresh.get_repo(fake.full_name).private is False


def test_jwt_signed_by_another_key_is_refused(fake: FakeGitHub) -> None:
    """A key that is not the App's gets GitHub's 401; the message names the setting to check."""
    other = new_key()
    with pytest.raises(errors.GitHubError) as caught:
        _tokens(fake, other).token(repository=fake.full_name)
    assert caught.value.status == 401
    assert "private_key_file" in str(caught.value)
    assert "PRIVATE KEY" not in str(caught.value)


def test_app_not_installed_on_the_repository_is_a_clear_error(
    fake: FakeGitHub, app_key: rsa.RSAPrivateKey
) -> None:
    """No installation on the repository: 404 with what to do."""
    fake.add_workflow(workflow_id="x.yml", numeric_id=1, repo_full_name="other-org/other")
    with pytest.raises(errors.GitHubError, match="is the App installed"):
        _tokens(fake, app_key).token(repository="other-org/other")


def test_the_apps_login_is_its_slug_as_a_bot_asked_once(
    fake: FakeGitHub, app_key: rsa.RSAPrivateKey
) -> None:
    """`GET /app` with the App's JWT, once for the source's life: `<slug>[bot]`, who its
    installation tokens write as; a plain token's login is unknown (None)."""
    tokens = _tokens(fake, app_key)
    assert [tokens.login(), tokens.login()] == [f"evals-app-{APP_ID}[bot]"] * 2
    assert [(r.method, r.route) for r in fake.requests] == [("GET", "/app")]
    assert fake.requests[0].header("authorization").startswith("Bearer ey")
    assert github_app.StaticToken(fake.token).login() is None


def test_the_apps_login_with_another_key_is_a_clear_error(fake: FakeGitHub) -> None:
    """GitHub's 401 names the call and the settings to check, never the key."""
    with pytest.raises(errors.GitHubError) as caught:
        _tokens(fake, new_key()).login()
    assert caught.value.status == 401
    assert "GET /app" in str(caught.value)
    assert "private_key_file" in str(caught.value)
    assert "PRIVATE KEY" not in str(caught.value)


def test_unusable_private_key_is_a_config_error(fake: FakeGitHub) -> None:
    """A file that is not an RSA key fails at start (exit 2), without echoing it."""
    with pytest.raises(errors.ConfigError) as caught:
        github_app.AppTokens(
            app_id=str(APP_ID),
            private_key="not a key at all",
            api_url=fake.url,
            user_agent="t",
        )
    assert caught.value.exit_code == 2
    assert "not a key at all" not in str(caught.value)
    assert fake.requests == []


def test_static_token_is_the_fallback(fake: FakeGitHub) -> None:
    """With no App configured, a plain token authenticates the same client."""
    source = github_app.StaticToken(fake.token)
    assert source.token(repository="any/repo") == fake.token
    assert fake.token not in repr(source)
    gh = github_app.client(
        source=source, repository=fake.full_name, api_url=fake.url, user_agent="t"
    )
    assert gh.get_repo(fake.full_name).private is False


def _app_settings(fake: FakeGitHub, key: rsa.RSAPrivateKey) -> config.ServerConfig:
    gh = reporting_config.GitHubSettings(
        api_url=fake.url, app_id=str(APP_ID), private_key=_pem(key)
    )
    return dataclasses.replace(settings(), reporting=reporting_config.ReportingConfig(github=gh))


def _report_one(server: Running, rollouts: FakeRollouts, n: int) -> str:
    """The n-th run on the PR asks the server to report; it ends; the server writes its report.
    Returns the run's report page (which its comment links to)."""
    context = {"repository": REPOSITORY, "pullRequest": PR, "sha": SHA, "report": {"by": "server"}}
    run_id = server.start(context=context)
    rollouts.finish(rollouts.started(n)[-1])
    ended = server.until(run_id, lambda body: body["status"] == models.COMPLETED)
    deadline = time.monotonic() + WAIT
    while any(due.row.run_id == run_id for due in server.db.reports_due()):
        assert time.monotonic() < deadline, "the server never wrote the report"
        time.sleep(0.02)
    return str(ended["report"]["url"])


def test_a_server_with_an_app_edits_its_own_comment_across_restarts(
    tmp_path: Path, fake: FakeGitHub, app_key: rsa.RSAPrivateKey
) -> None:
    """Three reports on one PR over two server lives end in ONE comment by `<slug>[bot]`, edited
    in place: the server learns its login from `GET /app` once per life and never asks
    `GET /user` (403 for an installation token, which once made it look for
    `github-actions[bot]`'s comment after a restart, and post a second one)."""
    fake.add_pull(number=PR, head_sha=SHA)
    rollouts = FakeRollouts()
    pages = []
    for life, runs in ((1, (1,)), (2, (2, 3))):
        with running_server(
            database=tmp_path / "evals.sqlite3",
            settings_=_app_settings(fake, app_key),
            client_factory=rollouts.factory,
        ) as server:
            pages += [_report_one(server, rollouts, n) for n in runs]
        asked = [r.route for r in fake.requests if r.method == "GET"]
        assert (asked.count("/app"), asked.count("/user")) == (life, 0), asked

    (comment,) = fake.comments(PR)
    assert comment["user"]["login"] == f"evals-app-{APP_ID}[bot]"
    assert f"({pages[-1]})" in comment["body"]  # the third run's report: edited in place
    writes = [f"{r.method} {r.route}" for r in fake.requests if "/comments" in r.route]
    writes = [w for w in writes if not w.startswith("GET")]
    patch = f"PATCH /repos/{REPOSITORY}/issues/comments/{comment['id']}"
    assert writes == [f"POST /repos/{REPOSITORY}/issues/{PR}/comments", patch, patch], writes
    creators = {s["creator"]["login"] for s in fake.statuses(SHA)}
    assert creators == {f"evals-app-{APP_ID}[bot]"}


def test_wait_false_with_an_app_ends_in_the_steps_one_comment(
    tmp_path: Path, fake: FakeGitHub, app_key: rsa.RSAPrivateKey
) -> None:
    """The step writes as `github-actions[bot]`, the server as `<slug>[bot]`: the server edits
    the comment the step handed over (a marker comment, which the App installed on the
    repository may edit), so the PR ends with ONE comment, final, and no "Running" one left."""
    from tests.integration import helpers

    from .test_wait_false import _env

    helpers.seed(fake, None)
    rollouts = FakeRollouts()
    with running_server(
        database=tmp_path / "evals.sqlite3",
        settings_=_app_settings(fake, app_key),
        client_factory=rollouts.factory,
    ) as server:
        result = helpers.run_cli(_env(tmp_path, fake, url=server.url, key=server.key))
        assert result.code == 0, result.log
        (rollout_id,) = rollouts.started()
        rollouts.finish(rollout_id, status=models.FAILED, message="The agent gave up")
        deadline = time.monotonic() + WAIT
        while [s["state"] for s in fake.statuses(helpers.HEAD_SHA)] != ["pending", "error"]:
            assert time.monotonic() < deadline, fake.statuses(helpers.HEAD_SHA)
            time.sleep(0.02)

    (comment,) = fake.comments(helpers.PR)
    assert comment["user"]["login"] == "github-actions[bot]"  # the step's, edited by the App
    assert "The agent gave up" in comment["body"]
    creators = [s["creator"]["login"] for s in fake.statuses(helpers.HEAD_SHA)]
    assert creators == ["github-actions[bot]", f"evals-app-{APP_ID}[bot]"]
