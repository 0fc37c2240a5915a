"""What every route shares (`Server`) and how a handler gets it: with an API key or open.

`api.py` and `page_routes.py` hold the handlers, each `async (request, server) -> Response`;
`app.py` binds them to paths with `with_key` (the `/api/v1` routes, 401 without a valid
`Authorization: Bearer <key>`) or `open_` (the schema, `/healthz` and the pages).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from evals_action.server import config, guards, keys, store, wakeups, worker

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


ServerHandler = Callable[[Request, Server], Awaitable[Response]]


def with_key(*, handler: ServerHandler, server: Server) -> Handler:
    """`handler`, answering 401 unless the request carries an active API key."""

    async def checked(request: Request) -> Response:
        authorization = request.headers.get("authorization")
        if not await run_in_threadpool(keys.check, store=server.db, authorization=authorization):
            return guards.JSON(
                {"error": "Missing or invalid API key: send Authorization: Bearer <key>"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return await handler(request, server)

    return checked


def open_(*, handler: ServerHandler, server: Server) -> Handler:
    """`handler` for everyone."""

    async def plain(request: Request) -> Response:
        return await handler(request, server)

    return plain
