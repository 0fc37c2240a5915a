"""The evals REST API (action-contract.md §3) and the pages, as one Starlette app.

API routes (all need `Authorization: Bearer <key>`, else 401):

    GET  /api/v1/prompts                   the configured prompts
    GET  /api/v1/prompts/{id}              one prompt
    POST /api/v1/prompts/{id}/run          start a run → 201 {runId, statusUrl, runUrl}
    GET  /api/v1/runs/{id}[?wait=N]        a run; long polls up to N s (X-Evals-Long-Poll)
    GET  /api/v1/runs?promptId=&reportStatus=&limit=&offset=   newest first

Open routes: `GET /api/openapi` (the schema, no data), `GET /healthz`, and the read-only pages
`/` (dashboard), `/runs/{id}` (runUrl) and `/reports/{slug}` (report.url).
Errors are JSON `{"error": "..."}`, with the managed API's wording where it has one
(`guards` caps bodies and turns every error, expected or not, into JSON).

The event loop only parses requests and waits: every database call and every page render runs
on a worker thread (`starlette.concurrency.run_in_threadpool`), so a slow disk or a big page
never holds up `/healthz` or the long polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from evals_action.backends import rollout_common
from evals_action.server import (
    config,
    egress,
    guards,
    keys,
    openapi,
    pages,
    runner,
    security,
    store,
    traces,
)

log = logging.getLogger("evals_action.server")

LONG_POLL_HEADER = "X-Evals-Long-Poll"
MAX_LIST_LIMIT = 100
MAX_SQL_INTEGER = openapi.MAX_SQL_INTEGER  # offsets and PR numbers stay within SQLite's range
Handler = Callable[[Request], Awaitable[Response]]


class Changes:
    """Wakes long polls when a run's status changes; `notify` may be called from any thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[str, set[asyncio.Event]] = {}

    def bind(self, *, loop: asyncio.AbstractEventLoop | None) -> None:
        self._loop = loop

    def notify(self, run_id: str) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
            loop.call_soon_threadsafe(self._wake, run_id)

    def _wake(self, run_id: str) -> None:
        for event in self._waiters.get(run_id, ()):
            event.set()

    def watching(self, *, run_id: str) -> int:
        """How many long polls are waiting on this run right now."""
        return len(self._waiters.get(run_id, ()))

    @contextlib.contextmanager
    def watch(self, *, run_id: str) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self._waiters.setdefault(run_id, set()).add(event)
        try:
            yield event
        finally:
            waiters = self._waiters.get(run_id, set())
            waiters.discard(event)
            if not waiters:
                self._waiters.pop(run_id, None)


@dataclasses.dataclass(frozen=True)
class Server:
    """What the routes share."""

    db: store.Store
    settings: config.ServerConfig
    runner: runner.Runner
    changes: Changes
    public_url: str


def create_app(
    *,
    database: Path,
    settings: config.ServerConfig,
    public_url: str,
    client_factory: runner.ClientFactory = runner.backend_clients,
    clock: Callable[[], float] = time.time,
    open_store: Callable[..., store.Store] = store.Store,
) -> Starlette:
    """The app; runs resume on start.

    Takes the database's lock and opens it (migrations, a test write) here, so a database that
    is read-only or already served raises `store.DatabaseUnavailable` before anything listens.
    """
    changes = Changes()
    lock = store.ServerLock(database=database).acquire()
    try:
        db = _open(
            open_store=open_store,
            database=database,
            clock=clock,
            changes=changes,
            redact=lambda text: rollout_common.redact(text, settings.secrets),
        )
    except BaseException:
        lock.release()
        raise
    work = runner.Runner(
        db=db, settings=settings, public_url=public_url, client_factory=client_factory, clock=clock
    )
    server = Server(
        db=db, settings=settings, runner=work, changes=changes, public_url=public_url.rstrip("/")
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        changes.bind(loop=asyncio.get_running_loop())
        try:
            work.resume()
            yield
        finally:
            work.stop()
            changes.bind(loop=None)
            db.close()
            lock.release()

    def api(handler: Callable[[Request, Server], Awaitable[Response]]) -> Handler:
        async def checked(request: Request) -> Response:
            authorization = request.headers.get("authorization")
            if not await run_in_threadpool(keys.check, store=db, authorization=authorization):
                return guards.JSON(
                    {"error": "Missing or invalid API key: send Authorization: Bearer <key>"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            return await handler(request, server)

        return checked

    def open_(handler: Callable[[Request, Server], Awaitable[Response]]) -> Handler:
        async def plain(request: Request) -> Response:
            return await handler(request, server)

        return plain

    routes = [
        Route("/api/v1/prompts", api(list_prompts), methods=["GET"]),
        Route("/api/v1/prompts/{prompt_id:path}/run", api(start_run), methods=["POST"]),
        Route("/api/v1/prompts/{prompt_id:path}", api(get_prompt), methods=["GET"]),
        Route("/api/v1/runs", api(list_runs), methods=["GET"]),
        Route("/api/v1/runs/{run_id}", api(get_run), methods=["GET"]),
        Route("/api/openapi", open_(openapi_document), methods=["GET"]),
        Route("/healthz", open_(health), methods=["GET"]),
        Route("/", open_(dashboard_page), methods=["GET"]),
        Route("/dashboard", open_(dashboard_page), methods=["GET"]),
        Route("/runs/{run_id}", open_(run_page), methods=["GET"]),
        Route("/runs/{run_id}/files/{name}", open_(run_file), methods=["GET"]),
        Route("/reports/{slug}", open_(report_page), methods=["GET"]),
    ]
    application = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(security.SecurityHeaders),
            Middleware(guards.BodyLimit, max_bytes=settings.max_body_bytes),
        ],
        exception_handlers=guards.EXCEPTION_HANDLERS,
    )
    application.state.changes = changes
    return application


def _open(
    *,
    open_store: Callable[..., store.Store],
    database: Path,
    clock: Callable[[], float],
    changes: Changes,
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


error = guards.error


# --- API --------------------------------------------------------------------------------------


async def list_prompts(request: Request, server: Server) -> Response:
    return guards.JSON([prompt_json(p) for p in server.settings.prompts.values()])


async def get_prompt(request: Request, server: Server) -> Response:
    prompt = server.settings.prompts.get(request.path_params["prompt_id"])
    if prompt is None:
        return error(f"Prompt not found: {request.path_params['prompt_id']}", status=404)
    return guards.JSON(prompt_json(prompt))


async def start_run(request: Request, server: Server) -> Response:
    prompt_id = request.path_params["prompt_id"]
    prompt = server.settings.prompts.get(prompt_id)
    if prompt is None:
        return error(f"Prompt not found: {prompt_id}", status=404)
    body = await guards.read_json(request)
    problem, parsed = parse_start(body=body, prompt=prompt)
    if not problem:  # a DNS lookup: off the event loop
        problem = await asyncio.to_thread(
            previews_problem, url_map=parsed["urlMap"], policy=server.settings.fetch
        )
    if problem:
        return error(problem, status=400)
    idempotency_key = request.headers.get("idempotency-key") or None
    context = parsed["context"]
    new = store.NewRun(
        run_id=str(uuid.uuid4()),
        prompt_id=prompt.id,
        request={"urlMap": parsed["urlMap"], "templateArgs": parsed["templateArgs"]},
        idempotency_key=idempotency_key,
        repository=context.get("repository"),
        pull_request=context.get("pullRequest"),
        sha=context.get("sha"),
        prompt_title=prompt.title,
        prompt_text=rollout_common.prompt_text(
            rollout_common.target_messages(
                messages=prompt.messages,
                template_args=parsed["templateArgs"],
                url_map=parsed["urlMap"],
            )
        )
        or "",
    )
    run, created, superseded = await run_in_threadpool(server.db.create_run, new=new)
    if created:
        server.runner.submit(run=run)
        log.info(
            "run %s: created for prompt %s%s",
            run.run_id,
            prompt.id,
            f", superseding {', '.join(superseded)}" if superseded else "",
        )
    links = run_links(run_id=run.run_id, public_url=server.public_url)
    return guards.JSON({"runId": run.run_id, **links}, status_code=201 if created else 200)


def parse_start(*, body: Any, prompt: config.Prompt) -> tuple[str | None, dict[str, Any]]:
    """Check a start request's body; `(problem, parsed)`, problem None when it is good."""
    if not isinstance(body, Mapping):
        return "Request body must be a JSON object", {}
    url_map = body.get("urlMap") or {}
    if not isinstance(url_map, Mapping) or not all(
        isinstance(v, str) and v.startswith(("http://", "https://")) for v in url_map.values()
    ):
        return "urlMap must be an object of hostname → http(s) URL", {}
    args = body.get("templateArgs") or {}
    if not isinstance(args, Mapping):
        return "templateArgs must be an object", {}
    missing = [name for name in prompt.template_vars if name not in args]
    if missing:
        return f"Missing template vars: {', '.join(missing)}", {}
    context = body.get("context") or {}
    if not isinstance(context, Mapping):
        context = {}
    pull_request: Any = context.get("pullRequest")
    if _is_int(pull_request) and not 1 <= pull_request <= MAX_SQL_INTEGER:
        return f"context.pullRequest must be a pull request number, 1-{MAX_SQL_INTEGER}", {}
    clean_context = {
        "repository": context.get("repository")
        if isinstance(context.get("repository"), str)
        else None,
        "pullRequest": pull_request if _is_int(pull_request) else None,
        "sha": context.get("sha") if isinstance(context.get("sha"), str) else None,
    }
    return None, {
        "urlMap": dict(url_map),
        "templateArgs": {k: str(v) for k, v in args.items()},
        "context": clean_context,
    }


def previews_problem(*, url_map: Mapping[str, str], policy: egress.Policy) -> str | None:
    """Why one of the url map's previews may not be used (`[fetch]`), else None."""
    for host, url in url_map.items():
        problem = egress.preview_problem(host=host, url=url, policy=policy)
        if problem:
            return problem
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


async def get_run(request: Request, server: Server) -> Response:
    run_id = request.path_params["run_id"]
    wait = _wait_seconds(
        request.query_params.get("wait"), limit=server.settings.long_poll_max_seconds
    )
    run = await run_in_threadpool(server.db.get_run, run_id=run_id)
    if run is None:
        return error(f"Run not found: {run_id}", status=404)
    if wait > 0 and run.in_flight:
        run = await _wait_for_change(server=server, run=run, seconds=wait)
    headers = {LONG_POLL_HEADER: f"{server.settings.long_poll_max_seconds:g}"}
    return guards.JSON(run_json(run=run, public_url=server.public_url), headers=headers)


async def _wait_for_change(*, server: Server, run: store.RunRow, seconds: float) -> store.RunRow:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    with server.changes.watch(run_id=run.run_id) as changed:
        while True:
            # re-read after subscribing
            current = await run_in_threadpool(server.db.get_run, run_id=run.run_id)
            if current is None or current.status != run.status:
                return current or run
            remaining = deadline - loop.time()
            if remaining <= 0:
                return current
            changed.clear()
            with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=remaining)


def _wait_seconds(value: str | None, *, limit: float) -> float:
    try:
        seconds = float(value) if value else 0.0
    except ValueError:
        return 0.0
    return min(max(seconds, 0.0), limit) if math.isfinite(seconds) else 0.0


async def list_runs(request: Request, server: Server) -> Response:
    query = request.query_params
    try:
        limit = int(query.get("limit", "20"))
        offset = int(query.get("offset", "0"))
    except ValueError:
        return error("limit and offset must be integers", status=400)
    if not 1 <= limit <= MAX_LIST_LIMIT or not 0 <= offset <= MAX_SQL_INTEGER:
        return error(f"limit must be 1-{MAX_LIST_LIMIT} and offset 0-{MAX_SQL_INTEGER}", status=400)
    runs = await run_in_threadpool(
        server.db.list_runs,
        prompt_id=query.get("promptId") or None,
        report_status=query.get("reportStatus") or None,
        limit=limit,
        offset=offset,
    )
    return guards.JSON([run_json(run=r, public_url=server.public_url) for r in runs])


async def openapi_document(request: Request, server: Server) -> Response:
    return guards.JSON(openapi.document(server_url=server.public_url))


async def health(request: Request, server: Server) -> Response:
    return guards.JSON({"ok": True})


def run_links(*, run_id: str, public_url: str) -> dict[str, str]:
    return {
        "statusUrl": f"{public_url}/api/v1/runs/{run_id}",
        "runUrl": f"{public_url}/runs/{run_id}",
    }


def run_json(*, run: store.RunRow, public_url: str) -> dict[str, Any]:
    """A run in the evals API's wire format."""
    context = None
    if run.repository or run.pull_request is not None or run.sha:
        context = {"repository": run.repository, "pullRequest": run.pull_request, "sha": run.sha}
    return {
        "runId": run.run_id,
        "promptId": run.prompt_id,
        "status": run.status,
        **run_links(run_id=run.run_id, public_url=public_url),
        "failureReason": run.failure_reason,
        "prompt": {"id": run.prompt_id, "title": run.prompt_title, "text": run.prompt_text},
        "report": run.report,
        "reportStatus": run.report_status,
        "supersededBy": run.superseded_by,
        "context": context,
        "createdAt": pages.iso(run.created_at),
        "updatedAt": pages.iso(run.updated_at),
    }


def prompt_json(prompt: config.Prompt) -> dict[str, Any]:
    return {
        "id": prompt.id,
        "title": prompt.title,
        "text": prompt.text,
        "templateVars": list(prompt.template_vars),
        "rolloutTarget": prompt.rollout.target,
        "checks": [{"name": c.name, "type": c.type, "required": c.required} for c in prompt.checks],
    }


# --- pages ------------------------------------------------------------------------------------


async def dashboard_page(request: Request, server: Server) -> Response:
    return _html(await run_in_threadpool(pages.dashboard, db=server.db, settings=server.settings))


async def run_page(request: Request, server: Server) -> Response:
    return _html(
        await run_in_threadpool(
            _render_run,
            db=server.db,
            run_id=request.path_params["run_id"],
            show_values=server.settings.show_template_values,
        )
    )


async def report_page(request: Request, server: Server) -> Response:
    return _html(
        await run_in_threadpool(
            _render_report,
            db=server.db,
            slug=request.path_params["slug"],
            show_values=server.settings.show_template_values,
        )
    )


async def run_file(request: Request, server: Server) -> Response:
    """A screenshot from the agent's trace (server/traces.py)."""
    name = request.path_params["name"]
    found = None
    if traces.FILE_NAME.match(name):  # screenshots only: the trace is shown by the pages
        found = await run_in_threadpool(
            server.db.get_file, run_id=request.path_params["run_id"], name=name
        )
    if found is None:
        return _html((pages.not_found(what="file"), 404))
    return Response(found[1], media_type=found[0], headers={"Cache-Control": "max-age=86400"})


def _render_run(*, db: store.Store, run_id: str, show_values: bool) -> tuple[str, int]:
    run = db.get_run(run_id=run_id)
    if run is None:
        return pages.not_found(what="run"), 404
    trace = db.get_trace(run_id=run_id)
    return pages.run(run=run, show_values=show_values, trace=trace), 200


def _render_report(*, db: store.Store, slug: str, show_values: bool) -> tuple[str, int]:
    run = db.get_by_slug(slug=slug)
    if run is None or run.report is None:
        return pages.not_found(what="report"), 404
    trace = db.get_trace(run_id=run.run_id)
    return pages.report(run=run, show_values=show_values, trace=trace), 200


def _html(page: str | tuple[str, int]) -> HTMLResponse:
    """A page; text that is not valid Unicode (a lone surrogate stored earlier) becomes `?`."""
    text, status = page if isinstance(page, tuple) else (page, 200)
    return HTMLResponse(text.encode("utf-8", "replace"), status_code=status)
