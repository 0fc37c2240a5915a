"""`GET /api/v1/reporting?repository=owner/repo`: does this server write final reports there?

The action's `wait: false` asks before it starts anything (`hand_over.check`). The answer is
`{"reports": true, "reason": null}` when `[github]` is configured and (for an App) installed on
the repository, else `{"reports": false, "reason": "..."}`; a missing or malformed repository
is a 400. Behind the API key, like every `/api/v1` route.
"""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from evals_action.server import guards, routing

_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


async def reporting(request: Request, server: routing.Server) -> Response:
    repository = request.query_params.get("repository", "")
    if not _REPOSITORY.match(repository):
        return guards.JSON({"error": "repository must be owner/name"}, status_code=400)
    why_not = await run_in_threadpool(server.why_no_reports, repository)
    return guards.JSON({"reports": why_not is None, "reason": why_not})
