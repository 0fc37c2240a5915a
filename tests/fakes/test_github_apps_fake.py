"""FakeGitHub's GitHub App side refuses what GitHub refuses (so tests against it mean something)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.github import FakeGitHub
from tests.fakes.oidc import new_key

APP_ID = 77
INSTALLATION = 88


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return new_key()


@pytest.fixture
def fake(key: rsa.RSAPrivateKey) -> Iterator[FakeGitHub]:
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with FakeGitHub() as gh:
        gh.add_app(app_id=APP_ID, public_key_pem=public, installation_id=INSTALLATION)
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
