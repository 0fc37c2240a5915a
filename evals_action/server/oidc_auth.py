"""`[oidc]` as the API's second way in: a GitHub Actions OIDC token instead of an API key.

`check(token)` is what `routing.with_key` asks when a bearer is not an active key: the token's
`oidc.Identity` when `oidc.Verifier` accepts it (signature from the issuer's JWKS, `iss`, `aud`,
`exp`, `nbf`, the `[[oidc.allow]]` rules), else the 401's message, which names the claim and
never a value. A run started with a token may report only to the token's own repository
(`api.start_run`: 403 otherwise). Tokens are never logged: a refusal is logged with its reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from evals_action import transport
from evals_action.server import config, oidc

log = logging.getLogger("evals_action.server")


def from_settings(*, settings: config.ServerConfig) -> Callable[[str], oidc.Identity | str] | None:
    """The check `[oidc]` configures: the token's `Identity` when accepted, else the 401's
    message; None without the table."""
    found = settings.reporting.oidc
    if found is None:
        return None
    verifier = oidc.Verifier(
        keys=oidc.KeySet(session=transport.new_session(), issuer=found.issuer),
        issuer=found.issuer,
        audience=found.audience,
        rules=found.rules,
        leeway_seconds=found.leeway_seconds,
    )

    def check(token: str) -> oidc.Identity | str:
        try:
            identity = verifier.verify(token=token)
        except oidc.Rejected as exc:
            log.info("OIDC token refused: %s", exc.reason)
            return str(exc)
        log.debug("OIDC token accepted for %s", identity.repository)
        return identity

    return check
