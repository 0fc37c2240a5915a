"""`wait: false`: the action starts the run and leaves its final report to the evals server.

Before anything starts, `check` asks the server whether it writes reports for this repository
(`GET /api/v1/reporting`, `evals-action serve` with a `[github]` table); a backend or a server
that cannot is a configuration error (exit 2) naming why, so no run is left without a final
status. `ask` is what the start request's `context.report` says to the server: report, but hold
the final report (`hold`) until `give` hands the run over (`POST /api/v1/runs/{id}/hand-over`
with the sticky comment's id), which the step does only after it wrote its pending status and
comment. So the server's final status is always written after the step's `pending`, even for a
run that ends at once, and the server edits the step's own comment.

A suite (`settings.Settings.is_suite`) also sends `inputs`: the step's inputs that shape its
report (`SUITE_INPUTS`, input name → value as typed, the comment key resolved), from which the
server rebuilds the step's settings through `settings.load` and writes the suite's statuses
and comment with the suite's own code once every run ended (docs/server.md, `wait: false`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evals_action import actions_runtime, errors, inputs, models, polling, settings

LEFT = "wait is false: the evals server writes the final status and comment when the run ends"
# How long the server holds a run's final report for the step's hand-over before it writes it
# anyway (a step that died after the start); the step hands over seconds after the start.
HOLD_SECONDS = 120.0
# A suite's inputs that shape its report (verdicts, gates, statuses, the comment): sent to the
# server as `report.inputs`; the server takes these and no others.
SUITE_INPUTS = (
    "prompt-id",
    "repeats",
    "comment-key",
    "baseline-runs",
    "min-score",
    "min-pass-rate",
    "fail-on-regression",
    "timeout-fails",
)


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


def ask(*, config: settings.Settings, comment_key: str = "") -> dict[str, Any]:
    """`context.report`: the server writes the report, with these inputs of the action's (a
    suite's with `comment_key`, resolved as `suite.flow.comment_key` resolves it)."""
    report: dict[str, Any] = {"by": "server", "skipComment": config.skip_comment, "hold": True}
    if config.status_context:
        report["statusContext"] = config.status_context
    if config.skip_status:
        report["skipStatus"] = True
    if config.is_suite:
        report["inputs"] = suite_inputs(config=config, comment_key=comment_key)
    return report


def suite_inputs(*, config: settings.Settings, comment_key: str) -> dict[str, str]:
    """`SUITE_INPUTS` as the step's `EVALS_*` variables would spell them (unset ones left out)."""
    found: dict[str, str] = {}
    for name in SUITE_INPUTS:
        value = getattr(config, inputs.BY_NAME[name].attribute)
        if name == "comment-key":
            value = comment_key
        if isinstance(value, tuple):
            value = ",".join(value)
        if isinstance(value, bool):
            value = "true" if value else "false"
        if value is not None and value != "":
            found[name] = str(value)
    return found


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
