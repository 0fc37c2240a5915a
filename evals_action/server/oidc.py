"""Verifying a GitHub Actions OIDC token presented as the bearer instead of an API key.

`Verifier.verify(token=...)` checks, in this order: the header (`alg` must be RS256, so `none`
and an HS256 token "signed" with the public key are refused before any key is used), the
signing key (`kid` looked up in the issuer's JWKS), the signature, `iss`, `aud`, `exp`, `nbf`
and `iat` (with `leeway` seconds), then the claims against the allow-list (`Rule`s: repository,
and optionally refs, workflows, event names). A refusal raises `Rejected` whose `reason` names
the claim, never its value nor the token, so it can go into a 401 answer and a log line.

The JWKS comes from `<issuer>/.well-known/openid-configuration` → `jwks_uri`, is cached, and is
fetched again when a token names an unknown `kid`, at most once per `min_refresh_seconds`, so
tokens with made-up key ids cannot make the server hammer the issuer. At most `MAX_KEYS` keys
are kept, and the documents are read through the capped `transport` session.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jwt
import requests

from evals_action import errors, transport

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
ALGORITHM = "RS256"
MAX_KEYS = 20
MAX_TOKEN_CHARS = 16_384  # a GitHub Actions token is about 1 KB
REQUIRED = ("iss", "aud", "exp", "iat", "repository")
_CLAIM_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "exp: the token has expired"),
    (jwt.ImmatureSignatureError, "nbf/iat: the token is not valid yet"),
    (jwt.InvalidAudienceError, "aud: the token is for another audience"),
    (jwt.InvalidIssuerError, "iss: the token is from another issuer"),
    (jwt.InvalidSignatureError, "signature: the token's signature does not verify"),
)


class Rejected(errors.EvalsActionError):
    """The token is refused; `reason` names the claim (or part) at fault, never a value."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"OIDC token refused: {reason}")
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Rule:
    """Tokens from `repository` are allowed; empty tuples mean "any" for the optional claims.

    `workflows` are workflow file paths (`.github/workflows/evals.yml`), matched against the
    path part of the `workflow_ref` claim.
    """

    repository: str
    refs: tuple[str, ...] = ()
    workflows: tuple[str, ...] = ()
    event_names: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Identity:
    """Who a verified token speaks for."""

    repository: str
    ref: str
    workflow: str
    event_name: str


class KeySet:
    """The issuer's signing keys, fetched on first use and again for an unknown `kid`."""

    def __init__(
        self,
        *,
        session: requests.Session,
        issuer: str,
        min_refresh_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session, self._issuer = session, issuer.rstrip("/")
        self._min_refresh, self._clock = min_refresh_seconds, clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._count = 0
        self._lock = threading.Lock()

    def key(self, *, kid: str) -> jwt.PyJWK:
        """The key with this id; `Rejected` naming `kid` when the issuer has none (after one
        refresh, unless the last fetch was less than `min_refresh_seconds` ago)."""
        with self._lock:
            if kid not in self._keys and self._may_refresh():
                self._refresh()
            found = self._keys.get(kid)
        if found is None:
            raise Rejected("kid: the issuer has no key with this id")
        return found

    @property
    def fetches(self) -> int:
        """How many times the JWKS was fetched (for tests and metrics)."""
        return self._count

    def _may_refresh(self) -> bool:
        last = self._fetched_at
        return last is None or self._clock() - last >= self._min_refresh

    def _refresh(self) -> None:
        self._fetched_at = self._clock()
        self._count += 1
        what = "reading the OIDC issuer's keys"
        try:
            config = self._get(url=f"{self._issuer}/.well-known/openid-configuration", what=what)
            jwks_uri = config.get("jwks_uri")
            if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
                raise Rejected("kid: the issuer's openid-configuration has no jwks_uri")
            keys = self._get(url=jwks_uri, what=what).get("keys")
        except errors.APIError as exc:
            raise Rejected(f"kid: the issuer's keys could not be read ({exc.message})") from None
        if isinstance(keys, list):
            self._keys = _parse_keys(keys=keys)

    def _get(self, *, url: str, what: str) -> Mapping[str, Any]:
        # Short limits: requests carrying a token with an unknown kid wait for this fetch.
        response = transport.send(
            self._session, method="GET", url=url, what=what, timeout=(5.0, 10.0)
        )
        data = transport.json_body(response, what=what)
        return data if isinstance(data, dict) else {}


class Verifier:
    """Checks tokens for one issuer and audience against an allow-list."""

    def __init__(
        self,
        *,
        keys: KeySet,
        issuer: str,
        audience: str,
        rules: Sequence[Rule],
        leeway_seconds: float = 60.0,
    ) -> None:
        self._keys, self._issuer, self._audience = keys, issuer, audience
        self._rules, self._leeway = tuple(rules), leeway_seconds

    def verify(self, *, token: str) -> Identity:
        """The token's identity, or `Rejected` with a reason naming the claim."""
        if len(token) > MAX_TOKEN_CHARS:
            raise Rejected("token: too long to be an OIDC token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Rejected("token: not a JWT") from None
        if header.get("alg") != ALGORITHM:
            raise Rejected(f"alg: only {ALGORITHM} is accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Rejected("kid: the token names no key")
        claims = self._decode(token=token, key=self._keys.key(kid=kid))
        return _allowed(claims=claims, rules=self._rules)

    def _decode(self, *, token: str, key: jwt.PyJWK) -> Mapping[str, Any]:
        try:
            return jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED), "verify_nbf": True},
            )
        except jwt.MissingRequiredClaimError as exc:
            raise Rejected(f"{exc.claim}: the token lacks this claim") from None
        except jwt.PyJWTError as exc:
            for kind, reason in _CLAIM_ERRORS:
                if isinstance(exc, kind):
                    raise Rejected(reason) from None
            raise Rejected("token: malformed or unverifiable") from None


def _allowed(*, claims: Mapping[str, Any], rules: Sequence[Rule]) -> Identity:
    identity = Identity(
        repository=str(claims.get("repository", "")),
        ref=str(claims.get("ref", "")),
        workflow=str(claims.get("workflow_ref", "")).split("@", 1)[0],
        event_name=str(claims.get("event_name", "")),
    )
    matching = [r for r in rules if r.repository.lower() == identity.repository.lower()]
    if not matching:
        raise Rejected("repository: not in the server's [oidc] allow-list")
    failures = [_first_failure(rule=rule, identity=identity) for rule in matching]
    if None in failures:
        return identity
    raise Rejected(f"{failures[0]}: not allowed for this repository by the [oidc] allow-list")


def _first_failure(*, rule: Rule, identity: Identity) -> str | None:
    prefix = identity.repository + "/"
    workflow = identity.workflow.removeprefix(prefix) if identity.workflow else ""
    checks = (
        ("ref", rule.refs, identity.ref),
        ("workflow_ref", rule.workflows, workflow),
        ("event_name", rule.event_names, identity.event_name),
    )
    for claim, allowed, value in checks:
        if allowed and value not in allowed:
            return claim
    return None


def _parse_keys(*, keys: Sequence[Any]) -> dict[str, jwt.PyJWK]:
    parsed: dict[str, jwt.PyJWK] = {}
    for item in keys[:MAX_KEYS]:
        if not isinstance(item, dict) or item.get("kty") != "RSA" or not item.get("kid"):
            continue
        try:
            parsed[str(item["kid"])] = jwt.PyJWK(item, algorithm=ALGORITHM)
        except jwt.PyJWTError:
            continue
    return parsed
