"""The page handlers: dashboard (`/`, `/dashboard`), run page (`/runs/{id}`, the runUrl),
report page (`/reports/{slug}`, report.url) and the screenshots of the agent's trace
(`/runs/{id}/files/{name}`).

Open to everyone and read-only; `pages` renders them, on a worker thread so a big page never
holds up the event loop.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from evals_action.server import pages, routing, store, suite_pages, traces


async def dashboard_page(request: Request, server: routing.Server) -> Response:
    return _html(await run_in_threadpool(_render_dashboard, server=server))


async def run_page(request: Request, server: routing.Server) -> Response:
    return _html(
        await run_in_threadpool(
            _render_run,
            db=server.db,
            run_id=request.path_params["run_id"],
            show_values=server.settings.show_template_values,
        )
    )


async def report_page(request: Request, server: routing.Server) -> Response:
    return _html(
        await run_in_threadpool(
            _render_report,
            db=server.db,
            slug=request.path_params["slug"],
            show_values=server.settings.show_template_values,
        )
    )


def _render_dashboard(*, server: routing.Server) -> str:
    return pages.dashboard(
        db=server.db, settings=server.settings, suites=suite_pages.recent(db=server.db)
    )


async def run_file(request: Request, server: routing.Server) -> Response:
    """A screenshot from the agent's trace (`traces`); the trace itself only through the pages."""
    name = request.path_params["name"]
    found = None
    if traces.FILE_NAME.match(name):
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
    suite = suite_pages.for_run(db=db, run=run)
    trace = db.get_trace(run_id=run_id)
    return pages.run(run=run, show_values=show_values, suite=suite, trace=trace), 200


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
