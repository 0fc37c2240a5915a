"""`wait: false`: the action starts the run and leaves its final report to the evals server.

Before anything starts, `check` asks the server whether it writes reports for this repository
(`GET /api/v1/reporting`, `evals-action serve` with a `[github]` table); a backend or a server
that cannot is a configuration error (exit 2) naming why, so no run is left without a final
status. `ask` is what the start request's `context.report` says to the server.
"""

from __future__ import annotations

from typing import Any

from evals_action import errors, models, settings

LEFT = "wait is false: the evals server writes the final status and comment when the run ends"


def check(*, config: settings.Settings, target: models.Target, backend: Any) -> None:
    """Raise `ConfigError` unless the server will write this run's final report."""
    if not (target.repository and target.pr_number and target.sha):
        raise errors.ConfigError(
            ["wait: false needs a pull request and a commit for the server to report on"]
        )
    why_not = backend.server_reports(repository=target.repository)
    if why_not is not None:
        raise errors.ConfigError(
            [f"wait: false: {why_not}; set wait: true, or give evals-action serve a [github] table"]
        )


def ask(*, config: settings.Settings) -> dict[str, Any]:
    """`context.report`: the server writes the report, with these inputs of the action's."""
    report: dict[str, Any] = {"by": "server", "skipComment": config.skip_comment}
    if config.status_context:
        report["statusContext"] = config.status_context
    if config.skip_status:
        report["skipStatus"] = True
    return report
