"""The routes of the action's `wait: false`, behind the API key like every `/api/v1` route.

`GET /api/v1/reporting?repository=owner/repo`: does this server write final reports there? The
action asks before it starts anything (`hand_over.check`). The answer is `{"reports": true,
"reason": null}` when `[github]` is configured and (for an App) installed on the repository,
else `{"reports": false, "reason": "..."}`; a missing or malformed repository is a 400.

`POST /api/v1/runs/{id}/hand-over` with `{"commentId": 123}` (or `null`): the step wrote its
pending status and comment; the server writes the final report from now on, on that comment
(`report_request`'s `hold`). 404 for an unknown run, 409 for a run that did not ask the server
to report, 403 when an OIDC token speaks for another repository than the run's.
"""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from evals_action.server import guards, routing

_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_MAX_ID = 2**63 - 1


async def reporting(request: Request, server: routing.Server) -> Response:
    repository = request.query_params.get("repository", "")
    if not _REPOSITORY.match(repository):
        return guards.JSON({"error": "repository must be owner/name"}, status_code=400)
    why_not = await run_in_threadpool(server.why_no_reports, repository)
    return guards.JSON({"reports": why_not is None, "reason": why_not})


async def hand_over(request: Request, server: routing.Server) -> Response:
    run_id = request.path_params["run_id"]
    body = await guards.read_json(request)
    if not isinstance(body, dict):
        return guards.error('the body must be a JSON object: {"commentId": 123}', status=400)
    comment_id = body.get("commentId")
    if comment_id is not None and not (
        type(comment_id) is int and 1 <= comment_id <= _MAX_ID  # noqa: E721 - not a bool
    ):
        return guards.error("commentId must be a comment's id (a whole number) or null", status=400)
    run = await run_in_threadpool(server.db.get_run, run_id=run_id)
    if run is None:
        return guards.error(f"Run not found: {run_id}", status=404)
    bound = getattr(request.state, "oidc_repository", None)
    if bound is not None and run.repository != bound:
        return guards.error(
            "the run's repository must be the repository the OIDC token was issued to",
            status=403,
        )
    if not await run_in_threadpool(server.db.hand_over, run_id=run_id, comment_id=comment_id):
        return guards.error(
            "the run was not started with context.report.by = server: there is nothing to hand "
            "over",
            status=409,
        )
    server.on_hand_over(run_id)
    return guards.JSON({"runId": run_id, "handedOver": True})
