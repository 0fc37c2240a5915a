"""What FakeGitHub knows about GitHub Apps: keys, installations, installation tokens, roles.

Behaves like GitHub where the project depends on it:
- an App JWT (`Authorization: Bearer <jwt>`) must be RS256, signed by the App's registered key,
  with `iss` = the App id, `iat` not in the future (60 s of clock drift allowed) and `exp` after
  now and at most 10 minutes after `iat`; otherwise 401 with GitHub's kind of message;
- installation tokens (`ghs_...`) expire after `token_ttl` seconds of the fake's token clock (real
  time, or `frozen_at`, plus `advance_clock`ed seconds); after that every request with one gets
  401 "Bad credentials";
- a collaborator's permission is `admin`, `write` (maintain and write), `read` (triage and
  read) or `none`, with `role_name` the finer role, as GitHub's legacy field does;
- an installation token acts as the App's bot, `<slug>[bot]` (type Bot), not as the fake's own
  token (`Writer`); `GET /app` with the App's JWT answers the App (`app_json`).
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from datetime import datetime, timezone
from typing import Any

import jwt

from tests.fakes import _github_objects as objects

MAX_JWT_SECONDS = 600
_SIGNATURE_ONLY = {"verify_exp": False, "verify_iat": False, "verify_nbf": False}
DRIFT_SECONDS = 60
# role_name -> the legacy `permission` field GitHub answers beside it
LEGACY = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}
# What the fake's Apps are granted and subscribed to (installation and App objects alike)
PERMISSIONS = {
    "metadata": "read",
    "pull_requests": "write",
    "statuses": "write",
    "deployments": "read",
}
EVENTS = ("deployment_status", "issue_comment", "pull_request", "status")


@dataclasses.dataclass
class App:
    app_id: int
    public_key_pem: bytes
    installation_id: int
    repositories: set[str]  # lower-case full names the installation covers
    token_ttl: float
    slug: str


@dataclasses.dataclass(frozen=True)
class Writer:
    """Who a request's token acts as: the login and type GitHub records on what it writes."""

    login: str
    type: str  # "Bot" or "User"
    app: App | None = None  # set for an App's installation token

    @staticmethod
    def bot(app: App) -> Writer:
        return Writer(login=f"{app.slug}[bot]", type="Bot", app=app)


class Apps:
    """Registered Apps and the tokens issued to their installations."""

    def __init__(self) -> None:
        self.offset = 0.0  # seconds added to the token clock (`advance_clock`)
        self.frozen_at: float | None = None  # set: the token clock starts here, not real time
        self._apps: dict[int, App] = {}
        self._tokens: dict[str, tuple[int, float]] = {}  # token -> (installation id, expiry)
        self.roles: dict[str, str] = {}  # login (lower case) -> role_name
        self.issued: list[str] = []

    def now(self) -> float:
        """The clock installation tokens expire by (App JWTs are checked against real time)."""
        start = time.time() if self.frozen_at is None else self.frozen_at
        return start + self.offset

    def add(self, app: App) -> None:
        self._apps[app.app_id] = app

    def get(self, app_id: int) -> App | None:
        return self._apps.get(app_id)

    def by_installation(self, installation_id: int) -> App | None:
        return next((a for a in self._apps.values() if a.installation_id == installation_id), None)

    def for_repository(self, full_name: str) -> App | None:
        key = full_name.lower()
        return next((a for a in self._apps.values() if key in a.repositories), None)

    def jwt_problem(self, authorization: str) -> tuple[App | None, str]:
        """The App a JWT authenticates, or None and GitHub's kind of refusal message."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or token.count(".") != 2:
            return None, "A JSON web token could not be decoded"
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None, "A JSON web token could not be decoded"
        app = self._apps.get(_int(claims.get("iss")))
        if header.get("alg") != "RS256" or app is None:
            return None, "Integration not found" if app is None else "Invalid JWT algorithm"
        try:
            jwt.decode(token, app.public_key_pem, algorithms=["RS256"], options=_SIGNATURE_ONLY)
        except jwt.PyJWTError:
            return None, "A JSON web token could not be decoded"
        return app, self._times_problem(claims)

    def _times_problem(self, claims: dict[str, Any]) -> str:
        now = time.time()
        iat, exp = _int(claims.get("iat")), _int(claims.get("exp"))
        if iat is None or iat > now + DRIFT_SECONDS:
            return "'Issued at' claim ('iat') must be an Integer representing a time in the past."
        if exp is None or exp <= now:
            return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires."  # noqa: E501
        if exp - iat > MAX_JWT_SECONDS:
            return "'Expiration time' claim ('exp') is too far in the future."
        return ""

    def issue(self, app: App) -> tuple[str, str]:
        """A new installation token and its `expires_at` (ISO 8601)."""
        token = "ghs_" + secrets.token_urlsafe(27)
        expires = self.now() + app.token_ttl
        self._tokens[token] = (app.installation_id, expires)
        self.issued.append(token)
        when = datetime.fromtimestamp(expires, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return token, when

    def token_valid(self, token: str) -> bool:
        found = self._tokens.get(token)
        return found is not None and self.now() < found[1]

    def app_for_token(self, token: str) -> App | None:
        """The App whose installation a (still valid) token was issued to."""
        if not self.token_valid(token):
            return None
        return self.by_installation(self._tokens[token][0])

    def permission(self, login: str) -> tuple[str, str] | None:
        """(permission, role_name) of a collaborator; None when not one."""
        role = self.roles.get(login.lower())
        return None if role is None else (LEGACY[role], role)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def installation_json(*, api: str, html: str, app: App, account: dict[str, Any]) -> dict[str, Any]:
    """An `installation` object for `GET /repos/{owner}/{repo}/installation`."""
    created = "2026-01-05T10:00:00Z"
    return {
        "id": app.installation_id,
        "account": account,
        "access_tokens_url": f"{api}/app/installations/{app.installation_id}/access_tokens",
        "repositories_url": f"{api}/installation/repositories",
        "html_url": f"{html}/settings/installations/{app.installation_id}",
        "app_id": app.app_id,
        "app_slug": app.slug,
        "client_id": f"Iv23li{app.app_id:010d}",
        "target_id": account["id"],
        "target_type": account["type"],
        "permissions": dict(PERMISSIONS),
        "events": list(EVENTS),
        "created_at": created,
        "updated_at": created,
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "repository_selection": "selected",
        "suspended_by": None,
        "suspended_at": None,
    }


def app_json(*, api: str, html: str, app: App, owner: dict[str, Any]) -> dict[str, Any]:
    """The `integration` object: `GET /app` (with `installations_count`) and a comment's
    `performed_via_github_app`."""
    created = "2026-01-05T09:00:00Z"
    return {
        "id": app.app_id,
        "slug": app.slug,
        "node_id": objects.node_id("Integration", app.app_id),
        "client_id": f"Iv23li{app.app_id:010d}",
        "owner": owner,
        "name": app.slug.replace("-", " ").title(),
        "description": "Agent-experience evals for pull requests",
        "external_url": "https://evals.example.com/",
        "html_url": f"{html}/apps/{app.slug}",
        "created_at": created,
        "updated_at": created,
        "permissions": dict(PERMISSIONS),
        "events": list(EVENTS),
        "installations_count": 1,
    }
