"""FakeGitHub's GitHub App side refuses what GitHub refuses (so tests against it mean something)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from evals_action import render
from tests.fakes.github import FakeGitHub
from tests.fakes.oidc import new_key

APP_ID = 77
INSTALLATION = 88


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return new_key()


def _public(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture
def fake(key: rsa.RSAPrivateKey) -> Iterator[FakeGitHub]:
    with FakeGitHub() as gh:
        gh.add_app(app_id=APP_ID, public_key_pem=_public(key), installation_id=INSTALLATION)
        yield gh


def _post(fake: FakeGitHub, token: str) -> requests.Response:
    return requests.post(
        f"{fake.url}/app/installations/{INSTALLATION}/access_tokens",
        headers={"Authorization": f"Bearer {token}", "User-Agent": "t"},
        json={},
        timeout=10,
    )


def _jwt(key: object, *, algorithm: str = "RS256", **claims: object) -> str:
    now = int(time.time())
    payload = {"iat": now - 60, "exp": now + 540, "iss": str(APP_ID), **claims}
    return jwt.encode(payload, key, algorithm=algorithm)  # type: ignore[arg-type]


def test_good_app_jwt_gets_an_installation_token(fake: FakeGitHub, key: rsa.RSAPrivateKey) -> None:
    """RS256, the App's key, iss = app id, exp within 10 minutes of iat: 201 with a token."""
    answer = _post(fake, _jwt(key))
    assert answer.status_code == 201
    assert answer.json()["token"].startswith("ghs_")
    assert fake.violations == []


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": 3600}, "too far in the future"),
        ({"exp": -10}, "'Expiration time'"),
        ({"iat": 600}, "'Issued at'"),
        ({"iss": "999"}, "Integration not found"),
    ],
)
def test_bad_app_jwt_claims_get_401(
    fake: FakeGitHub, key: rsa.RSAPrivateKey, claims: dict[str, object], message: str
) -> None:
    """Expiry too far out, expired, issued in the future, another App: 401 like GitHub.
    (Times are seconds from now, taken when the test runs.)"""
    now = int(time.time())
    timed = {k: now + v if k in ("exp", "iat") else v for k, v in claims.items()}
    answer = _post(fake, _jwt(key, **timed))
    assert answer.status_code == 401
    assert message in answer.json()["message"]


def test_app_jwt_signed_by_another_key_or_hs256_gets_401(fake: FakeGitHub) -> None:
    """Only the App's registered key verifies."""
    assert _post(fake, _jwt(new_key())).status_code == 401
    assert (
        _post(fake, _jwt("shared-secret-of-32-bytes-or-more!!", algorithm="HS256")).status_code
        == 401
    )


def test_collaborator_permission_follows_the_role(fake: FakeGitHub) -> None:
    """maintain reads as write, triage as read, like GitHub's legacy `permission` field."""
    fake.set_role(login="maintainer", role="maintain")
    fake.set_role(login="triager", role="triage")
    seen = {}
    for login in ("maintainer", "triager", "stranger"):
        answer = requests.get(
            f"{fake.url}/repos/{fake.full_name}/collaborators/{login}/permission",
            headers={"Authorization": f"token {fake.token}", "User-Agent": "t"},
            timeout=10,
        )
        seen[login] = (answer.json()["permission"], answer.json()["role_name"])
    assert seen == {
        "maintainer": ("write", "maintain"),
        "triager": ("read", "triage"),
        "stranger": ("read", "read"),
    }
    assert fake.violations == []


def test_app_requests_are_checked_against_the_openapi_description(
    fake: FakeGitHub, key: rsa.RSAPrivateKey
) -> None:
    """The App endpoints are in the description cut, so a malformed body is a violation."""
    requests.post(
        f"{fake.url}/app/installations/{INSTALLATION}/access_tokens",
        headers={"Authorization": f"Bearer {_jwt(key)}", "User-Agent": "t"},
        json={"repositories": "octo-repo"},
        timeout=10,
    )
    (violation,) = fake.take_violations()
    assert "repositories" in violation


def _app_token(fake: FakeGitHub, key: rsa.RSAPrivateKey) -> str:
    token: str = _post(fake, _jwt(key)).json()["token"]
    return token


def _call(fake: FakeGitHub, method: str, path: str, token: str, **body: object) -> Any:
    answer = requests.request(
        method,
        f"{fake.url}{path}",
        headers={"Authorization": f"token {token}", "User-Agent": "t"},
        json=body or None,
        timeout=10,
    )
    return answer.status_code, answer.json()


def test_each_token_writes_as_its_own_identity(fake: FakeGitHub, key: rsa.RSAPrivateKey) -> None:
    """The App's installation token writes as `<slug>[bot]` (the App in
    `performed_via_github_app`); the fake's own token still writes as `github-actions[bot]`."""
    app_token = _app_token(fake, key)
    fake.add_pull(number=5, head_sha="a" * 40)
    comments = f"/repos/{fake.full_name}/issues/5/comments"
    _, by_app = _call(fake, "POST", comments, app_token, body="from the App")
    _, by_actions = _call(fake, "POST", comments, fake.token, body="from the workflow")
    _, status = _call(
        fake,
        "POST",
        f"/repos/{fake.full_name}/statuses/{'a' * 40}",
        app_token,
        state="success",
        context="ev",
    )

    assert (by_app["user"]["login"], by_app["user"]["type"]) == (f"evals-app-{APP_ID}[bot]", "Bot")
    assert by_app["performed_via_github_app"]["slug"] == f"evals-app-{APP_ID}"
    assert (by_actions["user"]["login"], by_actions["performed_via_github_app"]) == (
        "github-actions[bot]",
        None,
    )
    assert (status["creator"]["login"], status["creator"]["type"]) == (
        f"evals-app-{APP_ID}[bot]",
        "Bot",
    )
    assert [c["user"]["login"] for c in fake.comments(5)] == [
        f"evals-app-{APP_ID}[bot]",
        "github-actions[bot]",
    ]
    assert fake.violations == []


def test_get_user_with_an_app_installation_token_is_403(key: rsa.RSAPrivateKey) -> None:
    """Like GitHub: an installation token has no user behind it."""
    with FakeGitHub(token_kind="user") as users:
        users.add_app(app_id=APP_ID, public_key_pem=_public(key), installation_id=INSTALLATION)
        assert _call(users, "GET", "/user", users.token)[0] == 200
        code, body = _call(users, "GET", "/user", _app_token(users, key))
        assert (code, body["message"]) == (403, "Resource not accessible by integration")
        assert users.violations == []


def test_get_app_answers_the_app_for_its_jwt(fake: FakeGitHub, key: rsa.RSAPrivateKey) -> None:
    """`GET /app` with the App's JWT: the App, valid against the description; another key: 401."""

    def get(token: str) -> requests.Response:
        return requests.get(
            f"{fake.url}/app",
            headers={"Authorization": f"Bearer {token}", "User-Agent": "t"},
            timeout=10,
        )

    answer = get(_jwt(key))
    assert answer.status_code == 200
    app = answer.json()
    assert (app["id"], app["slug"], app["owner"]["login"]) == (
        APP_ID,
        f"evals-app-{APP_ID}",
        fake.owner,
    )
    assert app["permissions"]["pull_requests"] == "write"
    assert fake.violations == []
    refused = get(_jwt(new_key()))
    assert (refused.status_code, refused.json()["message"]) == (
        401,
        "A JSON web token could not be decoded",
    )


def test_an_app_may_edit_only_marker_comments_on_repositories_it_is_installed_on(
    fake: FakeGitHub, key: rsa.RSAPrivateKey
) -> None:
    """The server reporting for the step: its App may edit the step's marker comment. Any other
    comment, or an App installed elsewhere, is still a contract violation."""
    fake.add_pull(number=5, head_sha="a" * 40)
    marked = f"{render.marker('signup')}\nRunning"
    step_comment = fake.add_comment(
        issue_number=5, body=marked, user_login="github-actions[bot]", user_type="Bot"
    )
    plain = fake.add_comment(issue_number=5, body="LGTM", user_login="octocat")
    other_key = new_key()
    fake.add_app(
        app_id=APP_ID + 1,
        public_key_pem=_public(other_key),
        installation_id=INSTALLATION + 1,
        repositories=["other-org/other"],
    )
    app_token = _app_token(fake, key)
    path = f"/repos/{fake.full_name}/issues/comments/"

    assert _call(fake, "PATCH", f"{path}{step_comment}", app_token, body=marked + " done")[0] == 200
    assert fake.take_violations() == []
    _call(fake, "PATCH", f"{path}{plain}", app_token, body="edited")
    (not_marked,) = fake.take_violations()
    assert "changes a comment by 'octocat'" in not_marked
    elsewhere = requests.post(
        f"{fake.url}/app/installations/{INSTALLATION + 1}/access_tokens",
        headers={
            "Authorization": f"Bearer {_jwt(other_key, iss=str(APP_ID + 1))}",
            "User-Agent": "t",
        },
        json={},
        timeout=10,
    ).json()["token"]
    _call(fake, "PATCH", f"{path}{step_comment}", elsewhere, body=marked + " hijacked")
    (not_installed,) = fake.take_violations()
    assert f"the token is 'evals-app-{APP_ID + 1}[bot]'" in not_installed
