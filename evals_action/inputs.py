"""The one table of inputs: everything the package knows about each input of `action.yml`.

One `Input` per input, in `action.yml`'s order: its name (the action's input, the CLI's
`--option`, and `EVALS_<NAME>`), the default `--help` shows, the help text, whether it is a secret
(masked, redacted, length-checked) or an on/off flag (`--x/--no-x`), its converter, and the
`Settings` field it fills, and which backends read it (what a backend cannot run without is
declared by the registry, `backends.KINDS`). The click options (`cli.py`), the secret list,
`settings.load` and the docs tables (`scripts/docs-tables.py`) all come from here;
`tests/unit/test_inputs.py` holds this table against `action.yml`.

A converter takes `name` (the input as the message should name it) and `raw` (the string, `""`
when unset) and returns the value or raises `ValueError(message)`; they live in `convert`, except
`clean_backend`, which asks the backend registry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from evals_action import backends, convert


def clean_backend(*, name: str, raw: str) -> str:
    return convert.clean_choice(
        name=name, raw=raw, choices=backends.NAMES, default=backends.DEFAULT.name
    )


@dataclasses.dataclass(frozen=True)
class Input:
    """One input of `action.yml`, as every part of the package sees it."""

    name: str
    help: str  # `--help` text (action.yml's `description` is the long form)
    shown: str | None = None  # the default `--help` shows, when there is one to show
    clean: Callable[..., Any] = convert.clean_text
    fallback: Any = ""  # the value when `clean` refused the input, so later checks still run
    secret: bool = False  # masked, redacted everywhere, refused when shorter than 8 characters
    flag: bool = False  # `--x/--no-x`; its variable takes true/false (read by settings, not click)
    required: bool = False  # needed whatever the backend (a backend's own needs: `backends`)
    # read only by these backends (`backends.ROLLOUT`: by every rollout backend); () by all
    backends: tuple[str, ...] = ()
    also_env: str = ""  # a runner variable read when this input is unset
    field: str = ""  # the `Settings` (or `RolloutSettings`) attribute; default: the name with _

    @property
    def env(self) -> str:
        """`model-api-key` → `EVALS_MODEL_API_KEY`."""
        return env_name(self.name)

    @property
    def attribute(self) -> str:
        return self.field or self.name.replace("-", "_")


def env_name(name: str) -> str:
    return "EVALS_" + name.upper().replace("-", "_")


def _secret(
    name: str, help: str, shown: str | None = None, *, backends: tuple[str, ...] = ()
) -> Input:
    return Input(name, help, shown, convert.clean_secret, secret=True, backends=backends)


def _flag(name: str, help: str) -> Input:
    return Input(name, help, "false", convert.clean_flag, fallback=False, flag=True)


TABLE: tuple[Input, ...] = (
    _secret(
        "api-key",
        "Bearer key for the evals API (evals-api: else the job's OIDC token). Masked.",
        backends=("evals-api",),
    ),
    Input(
        "api-base-url",
        "Evals API root. https:// except on loopback.",
        convert.DEFAULT_API_BASE_URL,
        convert.clean_api_base_url,
        fallback=convert.DEFAULT_API_BASE_URL,
        backends=("evals-api",),
    ),
    Input(
        "prompt-id",
        "Prompt UUID to run (required); several separated by newlines or commas run as a suite.",
        clean=convert.clean_prompt_ids,
        fallback=(),
        required=True,
        field="prompt_ids",
    ),
    Input(
        "url-map",
        "JSON object: production hostname → preview URL.",
        "{}",
        convert.clean_url_map,
        fallback=None,
    ),
    Input(
        "template-vars",
        "JSON object of the prompt's template variables (sent as templateArgs).",
        clean=convert.clean_template_vars,
        fallback=None,
    ),
    Input(
        "deployment-url",
        "Preview URL; required when url-map has several entries.",
        "first url-map value",
        convert.clean_deployment_url,
        fallback=None,
    ),
    Input(
        "wait-timeout-minutes",
        "How long to wait for the run, from its creation.",
        "20",
        convert.clean_wait_timeout_minutes,
        fallback=convert.DEFAULT_WAIT_MINUTES,
    ),
    Input(
        "poll-interval-seconds",
        "Base interval between status checks (jittered, backed off).",
        "20",
        convert.clean_poll_interval_seconds,
        fallback=convert.DEFAULT_POLL_SECONDS,
    ),
    _flag("timeout-fails", "On timeout set the status to failure instead of success."),
    _flag("skip-comment", "Post no PR comment."),
    _flag("skip-status", "Set no commit status."),
    Input(
        "wait",
        "false: start, write the pending status and comment, exit; the server reports the end.",
        "true",
        convert.clean_flag_on,
        fallback=True,
        flag=True,
    ),
    dataclasses.replace(
        _secret("github-token", "Token for the comment and status. Masked.", "$GITHUB_TOKEN"),
        also_env="GITHUB_TOKEN",
    ),
    Input("pr-number", "Pull request to comment on.", "from the event", convert.clean_pr_number),
    Input("sha", "Commit that gets the status.", "from the event", convert.clean_sha),
    Input(
        "status-context",
        "Fixed commit status context.",
        "2027/eval/<slug>",
        convert.clean_optional_text,
    ),
    Input("repeats", "Suites: runs per prompt (1..50).", "1", convert.clean_repeats, fallback=1),
    Input(
        "max-repeats",
        "Suites: adaptive sampling up to this many runs per prompt (repeats..50).",
        "repeats",
        convert.clean_max_repeats,
        fallback=None,
    ),
    Input(
        "concurrency",
        "Suites: runs in flight at once, across prompts (1..32).",
        "4",
        convert.clean_concurrency,
        fallback=4,
    ),
    Input(
        "comment-key",
        "Suites: steps with the same key share one PR comment.",
        "<workflow>/<job> for several prompts",
    ),
    Input(
        "baseline-runs",
        "Suites: prior published runs per prompt in its baseline (1..100).",
        "10",
        convert.clean_baseline_runs,
        fallback=10,
    ),
    Input(
        "min-score",
        "Gate: a prompt whose mean score is below this (0..100) fails.",
        clean=convert.clean_min_score,
        fallback=None,
    ),
    Input(
        "min-pass-rate",
        "Gate: a prompt whose pass rate is below this (0..1) fails.",
        clean=convert.clean_min_pass_rate,
        fallback=None,
    ),
    _flag("fail-on-regression", "Gate: a prompt whose verdict is regressed fails."),
    Input(
        "budget-usd",
        "Suites: start no new runs once the reported cost reaches this (USD).",
        clean=convert.clean_budget_usd,
        fallback=None,
    ),
    Input(
        "results-file",
        "Also write the results document (JSON) to this path.",
        clean=convert.clean_output_file,
    ),
    Input(
        "junit-file",
        "Also write JUnit XML (one testcase per prompt) to this path.",
        clean=convert.clean_output_file,
    ),
    Input(
        "backend",
        backends.choices_text() + ".",
        backends.DEFAULT.name,
        clean_backend,
        fallback=backends.DEFAULT.name,
    ),
    Input(
        "prompt-file",
        "Rollout backends: JSON prompt file (title, messages, tools, completion_params).",
        backends=(backends.ROLLOUT,),
    ),
    Input(
        "completion-params",
        "Rollout backends: JSON object overriding the file's completion_params.",
        clean=convert.clean_json_object,
        fallback=None,
        backends=(backends.ROLLOUT,),
    ),
    Input(
        "model-base-url",
        "Rollout backends: OpenAI-compatible base URL for the agent.",
        clean=convert.clean_optional_url,
        backends=(backends.ROLLOUT,),
    ),
    _secret(
        "model-api-key",
        "Rollout backends: key passed to the agent. Masked.",
        backends=(backends.ROLLOUT,),
    ),
    Input(
        "rollout-timeout-minutes",
        "Rollout backends: rollout deadline.",
        "wait-timeout-minutes",
        convert.clean_rollout_timeout_minutes,
        fallback=None,
        field="timeout_minutes",
        backends=(backends.ROLLOUT,),
    ),
    Input(
        "rollout-url",
        "remote: base URL of the rollout service.",
        clean=convert.clean_optional_url,
        backends=("remote",),
    ),
    Input(
        "rollout-status",
        "remote: completion detection: service, gateway or auto.",
        "auto",
        convert.clean_rollout_status,
        fallback="auto",
        field="status_mode",
        backends=("remote",),
    ),
    Input(
        "tracing-url",
        "remote: Eval Protocol tracing gateway base URL.",
        clean=convert.clean_optional_url,
        backends=("remote",),
    ),
    _secret("tracing-api-key", "remote: tracing gateway key. Masked.", backends=("remote",)),
    Input(
        "workflow-repo",
        "github-workflow: owner/repo of the rollout workflow.",
        "this repository",
        convert.clean_workflow_repo,
        backends=("github-workflow",),
    ),
    Input("workflow", "github-workflow: workflow file name or id.", backends=("github-workflow",)),
    Input(
        "workflow-ref",
        "github-workflow: ref to dispatch on.",
        "main",
        convert.clean_workflow_ref,
        fallback="main",
        backends=("github-workflow",),
    ),
    _secret(
        "workflow-token",
        "github-workflow: token with actions: write. Masked.",
        "github-token",
        backends=("github-workflow",),
    ),
    Input(
        "invocation-id",
        "Correlation invocation_id.",
        "gh-<run id>-<attempt>",
        backends=(backends.ROLLOUT,),
    ),
    Input(
        "experiment-id",
        "Correlation experiment_id.",
        "<owner>/<repo>#<pr>",
        backends=(backends.ROLLOUT,),
    ),
    Input("rollout-id", "Correlation rollout_id.", "fresh unique id", backends=(backends.ROLLOUT,)),
    Input(
        "correlation-run-id", "Correlation run_id.", "random per run", backends=(backends.ROLLOUT,)
    ),
    Input("row-id", "Correlation row_id.", "prompt-id", backends=(backends.ROLLOUT,)),
)

BY_NAME = {item.name: item for item in TABLE}
SECRETS = tuple(item for item in TABLE if item.secret)
