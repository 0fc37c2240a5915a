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

A suite's step (several prompts or runs, `context.suite`) adds `"inputs": {"prompt-id":
"signup,smoke", "repeats": "2", ...}`: its inputs that shape the report (`hand_over.SUITE_INPUTS`,
no others), from which `environ` rebuilds the step's settings; the server then writes the
suite's report once every run of the suite ended (`suite_reporter`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evals_action import errors, hand_over, inputs, settings

BY_SERVER = "server"

HOLD_SECONDS = hand_over.HOLD_SECONDS  # a held report's wait for the step's hand-over
_MAX_INPUT = 4000  # characters of one input's value (a suite's prompt ids)

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
    given = report.get("inputs")
    if isinstance(given, Mapping):
        clean["inputs"] = {
            name: value[:_MAX_INPUT]
            for name, value in given.items()
            if name in hand_over.SUITE_INPUTS and isinstance(value, str) and value.strip()
        }
    return clean


def environ(report: Mapping[str, Any]) -> dict[str, str]:
    """The `EVALS_*` variables of the action's inputs `report` stands for."""
    found = {}
    for key, name in INPUTS.items():
        if key in report:
            value = report[key]
            found[inputs.env_name(name)] = str(value).lower() if value is True else str(value)
    for name, value in (report.get("inputs") or {}).items():
        found[inputs.env_name(name)] = value
    return found


def problem(report: Mapping[str, Any] | None) -> str | None:
    """Why a suite's `inputs` cannot make the action's settings (the start's 400), else None."""
    if not report or not report.get("inputs"):
        return None
    trial = {
        "EVALS_API_KEY": "not-used-by-the-server",
        "EVALS_API_BASE_URL": "http://127.0.0.1",
        "EVALS_URL_MAP": '{"app.example.com": "http://127.0.0.1"}',  # the start's own, checked
        **environ(report),
    }
    try:
        settings.load(trial, need_github_token=False)
    except errors.ConfigError as exc:
        return f"context.report.inputs: {'; '.join(exc.problems)}"
    return None
