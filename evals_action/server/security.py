"""Headers the server puts on its responses: an ASGI middleware, `Headers`.

- `HEADERS`, on every HTTP response: the pages need no script, no frame, no form and nothing
  from another origin, so the Content-Security-Policy allows only their inline `<style>` (and
  same-origin images). Browsers must not sniff JSON into HTML, frame the pages (clickjacking) or
  send run URLs as referrers.
- `API_HEADERS`, on every response under `/api/` (errors included): what this server does
  beyond the managed API, so a client can rely on it. `X-Evals-Suites: 1` says that runs of one
  step (same `context.suite`) never supersede each other and that `GET /api/v1/runs` accepts
  `branch=default` (suites-contract §6).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from evals_action import models

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
API_HEADERS: tuple[tuple[bytes, bytes], ...] = ((models.SUITES_HEADER.lower().encode(), b"1"),)
API_PREFIX = "/api/"


class Headers:
    """Adds `headers` to every HTTP response whose path starts with `prefix` (replacing any
    the app set)."""

    def __init__(
        self, app: ASGIApp, *, headers: tuple[tuple[bytes, bytes], ...], prefix: str = "/"
    ) -> None:
        self._app = app
        self._headers = headers
        self._names = {name for name, _ in headers}
        self._prefix = prefix

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self._prefix):
            await self._app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [
                    h for h in message.get("headers", []) if bytes(h[0]).lower() not in self._names
                ]
                message = {**message, "headers": [*kept, *self._headers]}
            await send(message)

        await self._app(scope, receive, send_with_headers)
