"""What every route shares (`Server`) and how a handler gets it: with an API key or open.

`api.py` and `page_routes.py` hold the handlers, each `async (request, server) -> Response`;
`app.py` binds them to paths with `with_key` (the `/api/v1` routes, 401 without a valid
`Authorization: Bearer <key>`, or, with `[oidc]`, a GitHub Actions OIDC token it accepts) or
`open_` (the schema, `/healthz` and the pages).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from evals_action.server import config, guards, keys, oidc, store, wakeups, worker

NO_GITHUB = "the evals server has no [github] table, so it cannot write reports"

Handler = Callable[[Request], Awaitable[Response]]


@dataclasses.dataclass(frozen=True)
class Server:
    """What the routes share."""

    db: store.Store
    settings: config.ServerConfig
    runner: worker.WorkerPool
    changes: wakeups.Changes
    public_url: str
    # why the server cannot write reports for a repository (`reporter`); None when it can
    why_no_reports: Callable[[str], str | None] = lambda repository: NO_GITHUB
    # a step handed its run over (`POST /api/v1/runs/{id}/hand-over`): the report is due
    on_hand_over: Callable[[str], None] = lambda run_id: None
    # `[oidc]`: a bearer that is not a key, checked as an OIDC token: who it speaks for when
    # accepted, else why it is refused
    oidc_check: Callable[[str], oidc.Identity | str] | None = None


ServerHandler = Callable[[Request, Server], Awaitable[Response]]


def with_key(*, handler: ServerHandler, server: Server) -> Handler:
    """`handler`, answering 401 unless the request carries an active API key."""

    async def checked(request: Request) -> Response:
        authorization = request.headers.get("authorization")
        if not await run_in_threadpool(keys.check, store=server.db, authorization=authorization):
            found = await _oidc_check(server=server, authorization=authorization)
            if isinstance(found, str):
                return guards.JSON(
                    {"error": found}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
                )
            # A token speaks for one repository: runs it starts may report only there.
            request.state.oidc_repository = found.repository
        return await handler(request, server)

    return checked


_NO_KEY = "Missing or invalid API key: send Authorization: Bearer <key>"


async def _oidc_check(*, server: Server, authorization: str | None) -> oidc.Identity | str:
    """The identity of an OIDC token `[oidc]` accepts; else the 401's message (the claim at
    fault, never a value)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if server.oidc_check is None or scheme.lower() != "bearer" or token.count(".") != 2:
        return _NO_KEY
    return await run_in_threadpool(server.oidc_check, token)


def open_(*, handler: ServerHandler, server: Server) -> Handler:
    """`handler` for everyone."""

    async def plain(request: Request) -> Response:
        return await handler(request, server)

    return plain
