"""A start request's ask that the server write the final report (`context.report`).

    "context": {"repository": "o/r", "pullRequest": 12, "sha": "...",
                "report": {"by": "server", "statusContext": "ci/evals", "skipComment": false}}

`by: "server"` is the ask (the action's `wait: false`; webhook runs set it too); the other keys
stand for the action's inputs of the same name. It is stored with the run's request, so a
restarted server still knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BY_SERVER = "server"

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
    for flag in ("skipComment", "skipStatus"):
        if report.get(flag) is True:
            clean[flag] = True
    return clean
