"""A start request's ask that the server write the final report (`context.report`).

    "context": {"repository": "o/r", "pullRequest": 12, "sha": "...",
                "report": {"by": "server", "statusContext": "ci/evals", "skipComment": false,
                           "hold": true}}

`by: "server"` is the ask (the action's `wait: false`; webhook runs set it too); `statusContext`,
`skipComment` and `skipStatus` stand for the action's inputs of the same name. `hold: true` (the
action's step) asks the server to hold the final report until the step has written its pending
status and comment and handed the run over (`POST /api/v1/runs/{id}/hand-over`, with the
comment's id), or until `HOLD_SECONDS` after the start: a run that ends at once can then never
have its final status overwritten by the step's `pending`. It is stored with the run's request,
so a restarted server still knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evals_action import hand_over

BY_SERVER = "server"

HOLD_SECONDS = hand_over.HOLD_SECONDS  # a held report's wait for the step's hand-over

# `report` keys → the action's inputs they stand for.
INPUTS = {
    "statusContext": "status-context",
    "skipComment": "skip-comment",
    "skipStatus": "skip-status",
}


def parse(context: Any) -> dict[str, Any] | None:
    """`context.report`, cleaned, or None when the server is not asked to report."""
    report = context.get("report") if isinstance(context, Mapping) else None
    if not isinstance(report, Mapping) or report.get("by") != BY_SERVER:
        return None
    clean: dict[str, Any] = {"by": BY_SERVER}
    status_context = report.get("statusContext")
    if isinstance(status_context, str) and status_context.strip():
        clean["statusContext"] = status_context.strip()[:100]
    for flag in ("skipComment", "skipStatus", "hold"):
        if report.get(flag) is True:
            clean[flag] = True
    return clean
