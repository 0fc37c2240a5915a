"""`evals-action agent`: click only at import time, so `evals-action --help` stays fast.

Two modes: a remote rollout service (default: `POST /init`, `GET /status` on --host/--port), or
`--once`, one rollout from a dispatched workflow's four inputs. Options also read
`EVALS_AGENT_*` variables. Bad input leaves with one line and exit code 2, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

OPTION: dict[str, Any] = {"show_default": True, "show_envvar": True}


class _Usage(click.ClickException):
    exit_code = 2


def _fail(exc: Exception) -> click.ClickException:
    if int(getattr(exc, "exit_code", 1)) == 2:
        return _Usage(str(exc))
    return click.ClickException(str(exc))


@click.command()
@click.option("--host", default="127.0.0.1", envvar="EVALS_AGENT_HOST", **OPTION)
@click.option("--port", type=int, default=8700, envvar="EVALS_AGENT_PORT", **OPTION)
@click.option(
    "--max-rollouts",
    type=click.IntRange(min=1),
    default=4,
    envvar="EVALS_AGENT_MAX_ROLLOUTS",
    help="Rollouts run at once; more get 503 + Retry-After.",
    **OPTION,
)
@click.option(
    "--chromium",
    default="",
    envvar="EVALS_AGENT_CHROMIUM",
    help="Chromium executable (default: chromium on PATH). Never downloaded.",
    show_envvar=True,
)
@click.option(
    "--tools",
    "groups",
    default="browser,http",
    envvar="EVALS_AGENT_TOOLS",
    help="Tools offered when the prompt names none: browser, http, shell.",
    **OPTION,
)
@click.option(
    "--max-steps", type=click.IntRange(min=1), default=30, envvar="EVALS_AGENT_MAX_STEPS", **OPTION
)
@click.option(
    "--max-seconds",
    type=click.FloatRange(min=1),
    default=600.0,
    envvar="EVALS_AGENT_MAX_SECONDS",
    **OPTION,
)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=1),
    default=None,
    envvar="EVALS_AGENT_MAX_TOKENS",
    **OPTION,
)
@click.option(
    "--max-cost-usd",
    type=click.FloatRange(min=0),
    default=None,
    envvar="EVALS_AGENT_MAX_COST_USD",
    **OPTION,
)
@click.option(
    "--prices",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    envvar="EVALS_AGENT_PRICES",
    help='JSON: {"<model>": {"input": usd per 1M tokens, "output": …}}.',
    show_envvar=True,
)
@click.option(
    "--shell-timeout",
    type=click.FloatRange(min=1),
    default=60.0,
    envvar="EVALS_AGENT_SHELL_TIMEOUT",
    **OPTION,
)
@click.option("--once", is_flag=True, help="Run one rollout from a dispatched workflow's inputs.")
@click.option(
    "--prompt-file",
    default="",
    envvar="EVALS_AGENT_PROMPT_FILE",
    help="--once: the task (may contain {row_id}).",
    show_envvar=True,
)
@click.option(
    "--result-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("rollout-result.json"),
    envvar="EVALS_AGENT_RESULT_FILE",
    **OPTION,
)
@click.option(
    "--completion-params", default="", envvar="EVALS_AGENT_COMPLETION_PARAMS", show_envvar=True
)
@click.option("--metadata", default="", envvar="EVALS_AGENT_METADATA", show_envvar=True)
@click.option("--model-base-url", default="", envvar="EVALS_AGENT_MODEL_BASE_URL", show_envvar=True)
@click.option(
    "--api-key",
    default="",
    envvar="EVALS_AGENT_API_KEY",
    show_envvar=True,
    help="--once: the model key (never printed).",
)
def agent(**options: Any) -> None:
    """Run the agent for agent-experience evals (needs the `agent` extra; docs/agent.md).

    It drives any OpenAI-compatible model with browser, HTTP and shell tools against the
    rollout's preview, and reports a trace the evals server shows step by step.
    """
    from evals_action import errors

    try:
        from evals_action.agent import main
    except ImportError as exc:
        raise _Usage(
            f"the agent needs the agent extra ({exc.name} is missing): "
            "from a clone of evals-action, run: pip install '.[agent]'"
        ) from None
    try:
        code = main.run(options=options, echo=click.echo)
    except errors.EvalsActionError as exc:
        raise _fail(exc) from None
    raise SystemExit(code)
