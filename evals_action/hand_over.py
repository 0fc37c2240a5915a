"""`wait: false`: the action starts the run and leaves its final report to the evals server.

Before anything starts, `check` asks the server whether it writes reports for this repository
(`GET /api/v1/reporting`, `evals-action serve` with a `[github]` table); a backend or a server
that cannot is a configuration error (exit 2) naming why, so no run is left without a final
status. `ask` is what the start request's `context.report` says to the server: report, but hold
the final report (`hold`) until `give` hands the run over (`POST /api/v1/runs/{id}/hand-over`
with the sticky comment's id), which the step does only after it wrote its pending status and
comment. So the server's final status is always written after the step's `pending`, even for a
run that ends at once, and the server edits the step's own comment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evals_action import actions_runtime, errors, models, polling, settings

LEFT = "wait is false: the evals server writes the final status and comment when the run ends"
# How long the server holds a run's final report for the step's hand-over before it writes it
# anyway (a step that died after the start); the step hands over seconds after the start.
HOLD_SECONDS = 120.0


def check(
    *, config: settings.Settings, target: models.Target, backend: Any, ask_server: bool = True
) -> None:
    """Raise `ConfigError` unless the server will write this run's final report (`ask_server`
    False: the target only, for `--dry-run`, which sends nothing)."""
    if not (target.repository and target.pr_number and target.sha):
        raise errors.ConfigError(
            ["wait: false needs a pull request and a commit for the server to report on"]
        )
    if not ask_server:
        return
    why_not = backend.server_reports(repository=target.repository)
    if why_not is not None:
        raise errors.ConfigError(
            [f"wait: false: {why_not}; set wait: true, or give evals-action serve a [github] table"]
        )


def ask(*, config: settings.Settings) -> dict[str, Any]:
    """`context.report`: the server writes the report, with these inputs of the action's."""
    report: dict[str, Any] = {"by": "server", "skipComment": config.skip_comment, "hold": True}
    if config.status_context:
        report["statusContext"] = config.status_context
    if config.skip_status:
        report["skipStatus"] = True
    return report


def give(
    *,
    backend: Any,
    run_id: str,
    comment_id: int | None,
    step: actions_runtime.StepIO,
    sleep: Callable[[float], None],
) -> None:
    """Hand the run over once the pending status and comment are written (two quick retries
    on transient errors). A refusal is a warning, not a failure: the server then writes the
    report when its hold ends."""
    try:
        polling.retry_call(
            lambda: backend.hand_over(run_id=run_id, comment_id=comment_id),
            policy=polling.FIRST_READ,
            sleep=sleep,
        )
    except errors.EvalsActionError as exc:
        step.annotate(
            "warning",
            f"Could not hand run {run_id} over to the evals server ({exc.message}); it writes "
            f"the final report {HOLD_SECONDS / 60:.0f} minutes after the start instead",
        )
