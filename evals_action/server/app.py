"""The evals REST API (action-contract.md §3) and the pages, as one Starlette app.

API routes (all need `Authorization: Bearer <key>`, else 401):

    GET  /api/v1/prompts                   the configured prompts
    GET  /api/v1/prompts/{id}              one prompt
    POST /api/v1/prompts/{id}/run          start a run → 201 {runId, statusUrl, runUrl}
    GET  /api/v1/runs/{id}[?wait=N]        a run; long polls up to N s (X-Evals-Long-Poll)
    GET  /api/v1/runs?promptId=&reportStatus=&branch=default&limit=&offset=   newest first
    GET  /api/v1/reporting?repository=o/r  {"reports": bool, "reason": ...}: does the server
                                           write final reports there (`wait: false`)?

Signed route: `POST /api/v1/github/webhooks` (GitHub's deliveries, `webhook_routes`).
Open routes: `GET /api/openapi` (the schema, no data), `GET /healthz`, and the read-only pages
`/` (dashboard), `/runs/{id}` (runUrl), `/runs/{id}/files/{name}` (the agent's screenshots) and
`/reports/{slug}` (report.url).
Errors are JSON `{"error": "..."}`, with the managed API's wording where it has one
(`guards` caps bodies and turns every error, expected or not, into JSON).

The event loop only parses requests and waits: every database call and every page render runs
on a worker thread (`starlette.concurrency.run_in_threadpool`), so a slow disk or a big page
never holds up `/healthz` or the long polls.

This module is the assembly: the database's lock and store, the rollout worker, the long-poll
wake-ups, the route table and the middleware. The rooms: `api` (the API's handlers),
`page_routes` (the pages' handlers), `routing` (what they share, the key check), `wakeups`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import ASGIApp

from evals_action import redaction
from evals_action.server import (
    api,
    config,
    guards,
    oidc_auth,
    page_routes,
    reporter,
    reporting_route,
    rollout_clients,
    routing,
    security,
    server_lock,
    store,
    wakeups,
    webhook_routes,
    worker,
)


def create_app(
    *,
    database: Path,
    settings: config.ServerConfig,
    public_url: str,
    client_factory: rollout_clients.ClientFactory = rollout_clients.backend_clients,
    clock: Callable[[], float] = time.time,
    open_store: Callable[..., store.Store] = store.Store,
) -> Starlette:
    """The app; runs resume on start.

    Takes the database's lock and opens it (migrations, a test write) here, so a database that
    is read-only or already served raises `store.DatabaseUnavailable` before anything listens.
    """
    # [github]'s tokens first: an unusable App key is a ConfigError before the database is held
    tokens = reporter.token_source(settings=settings, clock=clock)
    changes = wakeups.Changes()
    lock = server_lock.ServerLock(database=database).acquire()
    try:
        db = _open(
            open_store=open_store,
            database=database,
            clock=clock,
            changes=changes,
            redact=redaction.Secrets(settings.secrets).redact,
        )
    except BaseException:
        lock.release()
        raise
    stop = threading.Event()
    reports = reporter.from_settings(
        db=db, settings=settings, tokens=tokens, public_url=public_url, stop=stop, clock=clock
    )
    work = worker.WorkerPool(
        db=db,
        settings=settings,
        public_url=public_url,
        client_factory=client_factory,
        clock=clock,
        stop=stop,
        on_end=reports.on_end if reports else lambda run_id: None,
    )
    server = routing.Server(
        db=db,
        settings=settings,
        runner=work,
        changes=changes,
        public_url=public_url.rstrip("/"),
        why_no_reports=reports.why_not if reports else lambda repository: routing.NO_GITHUB,
        on_hand_over=reports.handed_over if reports else lambda run_id: None,
        oidc_check=oidc_auth.from_settings(settings=settings),
    )

    intake = webhook_routes.from_settings(server=server, tokens=tokens)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        changes.bind(loop=asyncio.get_running_loop())
        try:
            work.resume()
            if reports is not None:
                reports.resume()
            yield
        finally:
            work.stop()
            if reports is not None:  # waits for a report being written, off the event loop
                await asyncio.to_thread(reports.close)
            changes.bind(loop=None)
            db.close()
            lock.release()

    application = _HeadedStarlette(
        routes=_routes(server=server, intake=intake),
        lifespan=lifespan,
        middleware=[Middleware(guards.BodyLimit, max_bytes=settings.max_body_bytes)],
        exception_handlers=guards.EXCEPTION_HANDLERS,
    )
    application.state.changes = changes
    application.state.webhooks = intake
    return application


class _HeadedStarlette(Starlette):
    """Starlette whose security headers (`security`) wrap the whole stack, so the 500 that
    Starlette's outermost error middleware answers for a bug carries them too."""

    def build_middleware_stack(self) -> ASGIApp:
        inner = super().build_middleware_stack()
        api = security.Headers(inner, headers=security.API_HEADERS, prefix=security.API_PREFIX)
        return security.Headers(api, headers=security.HEADERS)


def _open(
    *,
    open_store: Callable[..., store.Store],
    database: Path,
    clock: Callable[[], float],
    changes: wakeups.Changes,
    redact: Callable[[str], str],
) -> store.Store:
    try:
        db = open_store(path=database, on_change=changes.notify, clock=clock, redact=redact)
    except store.StorageError as exc:
        raise _unwritable(database, exc) from None
    try:
        db.check_writable()
    except store.StorageError as exc:
        db.close()
        raise _unwritable(database, exc) from None
    return db


def _unwritable(database: Path, exc: store.StorageError) -> store.DatabaseUnavailable:
    return store.DatabaseUnavailable(
        f"cannot write to the database {database} ({exc}): give the server's user write "
        "access to the file and its folder, or pass another --database"
    )


def _routes(*, server: routing.Server, intake: webhook_routes.Intake | None) -> list[Route]:
    def keyed(handler: routing.ServerHandler) -> routing.Handler:
        return routing.with_key(handler=handler, server=server)

    def open_(handler: routing.ServerHandler) -> routing.Handler:
        return routing.open_(handler=handler, server=server)

    return [
        Route("/api/v1/prompts", keyed(api.list_prompts), methods=["GET"]),
        Route("/api/v1/prompts/{prompt_id:path}/run", keyed(api.start_run), methods=["POST"]),
        Route("/api/v1/prompts/{prompt_id:path}", keyed(api.get_prompt), methods=["GET"]),
        Route("/api/v1/runs", keyed(api.list_runs), methods=["GET"]),
        Route("/api/v1/runs/{run_id}", keyed(api.get_run), methods=["GET"]),
        Route(
            "/api/v1/runs/{run_id}/hand-over", keyed(reporting_route.hand_over), methods=["POST"]
        ),
        Route("/api/v1/reporting", keyed(reporting_route.reporting), methods=["GET"]),
        Route(webhook_routes.PATH, webhook_routes.handler(intake=intake), methods=["POST"]),
        Route("/api/openapi", open_(api.openapi_document), methods=["GET"]),
        Route("/healthz", open_(api.health), methods=["GET"]),
        Route("/", open_(page_routes.dashboard_page), methods=["GET"]),
        Route("/dashboard", open_(page_routes.dashboard_page), methods=["GET"]),
        Route("/runs/{run_id}", open_(page_routes.run_page), methods=["GET"]),
        Route("/runs/{run_id}/files/{name}", open_(page_routes.run_file), methods=["GET"]),
        Route("/reports/{slug}", open_(page_routes.report_page), methods=["GET"]),
    ]
