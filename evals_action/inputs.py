"""The one table of inputs: everything the package knows about each input of `action.yml`.

One `Input` per input, in `action.yml`'s order: its name (the action's input, the CLI's
`--option`, and `EVALS_<NAME>`), the default `--help` shows, the help text, whether it is a secret
(masked, redacted, length-checked) or an on/off flag (`--x/--no-x`), its converter, and the
`Settings` field it fills. The click options (`cli.py`), the secret list, `settings.load` and the
checks of the docs tables all come from here; which backend reads which input is declared by
the backend registry (`backends.KINDS`). `tests/unit/test_inputs.py` holds this table against
`action.yml`.

A converter takes `name` (the input as the message should name it) and `raw` (the string, `""`
when unset) and returns the value or raises `ValueError(message)`; the generic ones live in
`convert`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from evals_action import backends, convert

DEFAULT_API_BASE_URL = "https://2027.dev/evals"
DEFAULT_WAIT_MINUTES = 20.0
DEFAULT_POLL_SECONDS = 20.0
ROLLOUT_STATUS_MODES = ("auto", "service", "gateway")


def clean_text(*, name: str, raw: str) -> str:
    """Free text: surrounding spaces dropped, `""` when unset."""
    del name
    return raw.strip()


def clean_optional_text(*, name: str, raw: str) -> str | None:
    return clean_text(name=name, raw=raw) or None


def clean_api_base_url(*, name: str, raw: str) -> str:
    return convert.clean_url(name=name, raw=raw or DEFAULT_API_BASE_URL)


def clean_optional_url(*, name: str, raw: str) -> str:
    """A rollout URL: unset stays `""`, else a base URL as `convert.clean_url` wants it."""
    return convert.clean_url(name=name, raw=raw.strip()) if raw.strip() else ""


def clean_deployment_url(*, name: str, raw: str) -> str | None:
    """Unset here is `None`; `settings.load` then takes it from url-map."""
    return convert.clean_preview_url(name=name, raw=raw) if raw.strip() else None


def clean_wait_timeout_minutes(*, name: str, raw: str) -> float:
    return convert.clean_positive(name=name, raw=raw, default=DEFAULT_WAIT_MINUTES)


def clean_poll_interval_seconds(*, name: str, raw: str) -> float:
    return convert.clean_positive(name=name, raw=raw, default=DEFAULT_POLL_SECONDS)


def clean_rollout_timeout_minutes(*, name: str, raw: str) -> float | None:
    """Unset is `None`; `settings.load` then uses wait-timeout-minutes."""
    if raw == "":
        return None
    return convert.clean_positive(name=name, raw=raw, default=DEFAULT_WAIT_MINUTES)


def clean_flag(*, name: str, raw: str) -> bool:
    return convert.clean_bool(name=name, raw=raw, default=False)


def clean_backend(*, name: str, raw: str) -> str:
    return convert.clean_choice(
        name=name, raw=raw, choices=backends.NAMES, default=backends.DEFAULT.name
    )


def clean_rollout_status(*, name: str, raw: str) -> str:
    return convert.clean_choice(name=name, raw=raw, choices=ROLLOUT_STATUS_MODES, default="auto")


def clean_workflow_repo(*, name: str, raw: str) -> str:
    repo = raw.strip()
    if repo and repo.count("/") != 1:
        raise ValueError(f"{name} must look like owner/repo (got '{repo}')")
    return repo


def clean_workflow_ref(*, name: str, raw: str) -> str:
    return clean_text(name=name, raw=raw) or "main"


@dataclasses.dataclass(frozen=True)
class Input:
    """One input of `action.yml`, as every part of the package sees it."""

    name: str
    help: str  # `--help` text (action.yml's `description` is the long form)
    shown: str | None = None  # the default `--help` shows, when there is one to show
    clean: Callable[..., Any] = clean_text
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
    return Input(name, help, "false", clean_flag, fallback=False, flag=True)


TABLE: tuple[Input, ...] = (
    _secret(
        "api-key",
        "Bearer key for the evals API (required for evals-api). Masked.",
        backends=("evals-api",),
    ),
    Input(
        "api-base-url",
        "Evals API root. https:// except on loopback.",
        DEFAULT_API_BASE_URL,
        clean_api_base_url,
        fallback=DEFAULT_API_BASE_URL,
        backends=("evals-api",),
    ),
    Input("prompt-id", "Prompt UUID to run (required).", required=True),
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
        clean_deployment_url,
        fallback=None,
    ),
    Input(
        "wait-timeout-minutes",
        "How long to wait for the run, from its creation.",
        "20",
        clean_wait_timeout_minutes,
        fallback=DEFAULT_WAIT_MINUTES,
    ),
    Input(
        "poll-interval-seconds",
        "Base interval between status checks (jittered, backed off).",
        "20",
        clean_poll_interval_seconds,
        fallback=DEFAULT_POLL_SECONDS,
    ),
    _flag("timeout-fails", "On timeout set the status to failure instead of success."),
    _flag("skip-comment", "Post no PR comment."),
    _flag("skip-status", "Set no commit status."),
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
        clean_optional_text,
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
        clean=clean_optional_url,
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
        clean_rollout_timeout_minutes,
        fallback=None,
        field="timeout_minutes",
        backends=(backends.ROLLOUT,),
    ),
    Input(
        "rollout-url",
        "remote: base URL of the rollout service.",
        clean=clean_optional_url,
        backends=("remote",),
    ),
    Input(
        "rollout-status",
        "remote: completion detection: service, gateway or auto.",
        "auto",
        clean_rollout_status,
        fallback="auto",
        field="status_mode",
        backends=("remote",),
    ),
    Input(
        "tracing-url",
        "remote: Eval Protocol tracing gateway base URL.",
        clean=clean_optional_url,
        backends=("remote",),
    ),
    _secret("tracing-api-key", "remote: tracing gateway key. Masked.", backends=("remote",)),
    Input(
        "workflow-repo",
        "github-workflow: owner/repo of the rollout workflow.",
        "this repository",
        clean_workflow_repo,
        backends=("github-workflow",),
    ),
    Input("workflow", "github-workflow: workflow file name or id.", backends=("github-workflow",)),
    Input(
        "workflow-ref",
        "github-workflow: ref to dispatch on.",
        "main",
        clean_workflow_ref,
        "main",
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
