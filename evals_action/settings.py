"""Inputs → one frozen `Settings`, read once at the edge.

Every input of `action.yml` arrives as an `EVALS_<NAME>` environment variable (or the matching
`--option` of `evals-action run`, which click folds into the same mapping). `""` means unset.
`load` runs each input of `inputs.TABLE` through its converter, in the table's order (the
backend first, since it decides what else is required), then the checks across inputs, and
raises one `errors.ConfigError` listing every problem, before any network call. Nothing else in
the package reads `os.environ`.

Messages name what the user typed: the input (`prompt-id input is required`) when run as the
action, the option (`--prompt-id is required (or set EVALS_PROMPT_ID)`) when run from a terminal;
`Names` picks the wording once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from evals_action import backends, errors, inputs

DEFAULT_GITHUB_API_URL = "https://api.github.com"
DEFAULT_GITHUB_SERVER_URL = "https://github.com"


@dataclasses.dataclass(frozen=True)
class GitHubContext:
    """What the runner tells us through `GITHUB_*` variables."""

    event_name: str = ""
    event_path: str = ""
    repository: str = ""
    sha: str = ""
    api_url: str = DEFAULT_GITHUB_API_URL
    server_url: str = DEFAULT_GITHUB_SERVER_URL
    output_path: str = ""
    summary_path: str = ""
    run_id: str = ""
    run_attempt: str = ""
    actions: bool = False  # running inside GitHub Actions (GITHUB_ACTIONS=true)
    workflow: str = ""  # GITHUB_WORKFLOW, GITHUB_JOB: a suite's default comment-key
    job: str = ""
    # `permissions: id-token: write`: the job may request an OIDC token (used when api-key is
    # empty, see `oidc`); the request token is a secret
    id_token_url: str = ""
    id_token_request_token: str = dataclasses.field(default="", repr=False)

    @property
    def oidc(self) -> bool:
        return bool(self.id_token_url and self.id_token_request_token)


@dataclasses.dataclass(frozen=True)
class RolloutSettings:
    """Inputs of the rollout backends (`rollout-contracts.md`)."""

    prompt_file: str = ""
    completion_params: Mapping[str, Any] | None = None
    model_base_url: str = ""
    model_api_key: str = dataclasses.field(default="", repr=False)
    timeout_minutes: float | None = None
    rollout_url: str = ""
    status_mode: str = "auto"
    tracing_url: str = ""
    tracing_api_key: str = dataclasses.field(default="", repr=False)
    workflow_repo: str = ""
    workflow: str = ""
    workflow_ref: str = "main"
    workflow_token: str = dataclasses.field(default="", repr=False)
    invocation_id: str = ""
    experiment_id: str = ""
    rollout_id: str = ""
    correlation_run_id: str = ""
    row_id: str = ""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every input, validated and typed. Secrets are hidden from `repr`."""

    api_key: str = dataclasses.field(repr=False)
    api_base_url: str
    prompt_ids: tuple[str, ...]
    url_map: Mapping[str, str]
    template_vars: Mapping[str, Any] | None
    deployment_url: str | None
    wait_timeout_minutes: float
    poll_interval_seconds: float
    timeout_fails: bool
    skip_comment: bool
    skip_status: bool
    wait: bool
    github_token: str = dataclasses.field(repr=False)
    pr_number: int | None
    sha: str | None
    status_context: str | None
    backend: str
    rollout: RolloutSettings
    github: GitHubContext
    repeats: int = 1
    max_repeats: int = 1
    concurrency: int = 4
    comment_key: str = ""
    baseline_runs: int = 10
    min_score: float | None = None
    min_pass_rate: float | None = None
    fail_on_regression: bool = False
    budget_usd: float | None = None
    results_file: str = ""
    junit_file: str = ""

    @property
    def prompt_id(self) -> str:
        """The first (for one prompt: the) prompt id."""
        return self.prompt_ids[0] if self.prompt_ids else ""

    @property
    def is_suite(self) -> bool:
        """Several prompts, several runs, or a `comment-key` (a share in a comment with other
        steps): the suite runner, not the contract's single run."""
        return len(self.prompt_ids) > 1 or self.max_repeats > 1 or bool(self.comment_key)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value (`inputs.SECRETS`), for masking and redaction."""
        values = (_value_of(self, item=item) for item in inputs.SECRETS)
        return tuple(v for v in values if v)


_ROLLOUT_FIELDS = frozenset(f.name for f in dataclasses.fields(RolloutSettings))


def _value_of(settings: Settings, *, item: inputs.Input) -> Any:
    """The value `settings` holds for one input of the table."""
    where = settings.rollout if item.attribute in _ROLLOUT_FIELDS else settings
    return getattr(where, item.attribute)


@dataclasses.dataclass(frozen=True)
class Names:
    """How messages name an input: as the action's input, or as the CLI's option."""

    cli: bool = False

    def __call__(self, name: str) -> str:
        return f"--{name}" if self.cli else name

    def flag(self, name: str) -> str:
        """A bad on/off value can only come from the variable: the CLI flag takes no value."""
        return inputs.env_name(name) if self.cli else name

    def required(self, name: str) -> str:
        """`prompt-id input is required` / `--prompt-id is required (or set EVALS_PROMPT_ID)`."""
        if not self.cli:
            return f"{name} input is required"
        return f"--{name} is required (or set {inputs.env_name(name)})"


class _Collector:
    """Runs converters and keeps every problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.refused: set[str] = set()  # inputs whose converter refused the value

    def convert(self, item: inputs.Input, *, raw: str, names: Names) -> Any:
        label = names.flag(item.name) if item.flag else names(item.name)
        try:
            return item.clean(name=label, raw=raw)
        except ValueError as exc:
            self.problems.append(str(exc))
            self.refused.add(item.name)
            return item.fallback


def _env(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name, "") or ""


def load_github_context(environ: Mapping[str, str]) -> GitHubContext:
    return GitHubContext(
        event_name=_env(environ, "GITHUB_EVENT_NAME"),
        event_path=_env(environ, "GITHUB_EVENT_PATH"),
        repository=_env(environ, "GITHUB_REPOSITORY"),
        sha=_env(environ, "GITHUB_SHA"),
        api_url=(_env(environ, "GITHUB_API_URL") or DEFAULT_GITHUB_API_URL).rstrip("/"),
        server_url=(_env(environ, "GITHUB_SERVER_URL") or DEFAULT_GITHUB_SERVER_URL).rstrip("/"),
        output_path=_env(environ, "GITHUB_OUTPUT"),
        summary_path=_env(environ, "GITHUB_STEP_SUMMARY"),
        run_id=_env(environ, "GITHUB_RUN_ID"),
        run_attempt=_env(environ, "GITHUB_RUN_ATTEMPT"),
        actions=_env(environ, "GITHUB_ACTIONS").lower() == "true",
        workflow=_env(environ, "GITHUB_WORKFLOW"),
        job=_env(environ, "GITHUB_JOB"),
        id_token_url=_env(environ, "ACTIONS_ID_TOKEN_REQUEST_URL"),
        id_token_request_token=_env(environ, "ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    )


def load(
    environ: Mapping[str, str], *, need_github_token: bool = True, names: Names = Names()
) -> Settings:
    """Build `Settings` from `EVALS_*` and `GITHUB_*` variables, or raise `ConfigError`."""
    raw = {item.name: _raw(environ, item=item) for item in inputs.TABLE}
    c = _Collector()
    values: dict[str, Any] = {}
    kind = backends.DEFAULT
    github = load_github_context(environ)
    for item in sorted(inputs.TABLE, key=lambda item: item.name != "backend"):
        values[item.name] = c.convert(item, raw=raw[item.name], names=names)
        if item.name == "backend":
            kind = backends.KINDS[values["backend"]]
        if item.name == "deployment-url" and not raw[item.name].strip():
            values[item.name] = _deployment_url(c, values=values, names=names)
        if raw[item.name].strip():
            continue
        if item.required:
            c.problems.append(names.required(item.name))
        elif item.name in kind.required and not (item.name == "api-key" and github.oidc):
            c.problems.append(kind.missing(name=item.name, required=names.required))
    for name, other, value in kind.required_when:
        if values[other] == value and not raw[name].strip():
            c.problems.append(f"{names.required(name)} when {other} is {value}")
    max_repeats, repeats = values["max-repeats"], values["repeats"]
    if max_repeats is not None and "repeats" not in c.refused and max_repeats < repeats:
        c.problems.append(
            f"{names('max-repeats')} must be at least {names('repeats')} ({repeats}) "
            f"(got '{max_repeats}')"
        )
    if values["wait"] is False and kind.rollout:
        c.problems.append(
            f"{names('wait')} false needs backend evals-api (an evals server that writes the "
            f"final report), not {values['backend']}"
        )
    if need_github_token and not (values["skip-comment"] and values["skip-status"]):
        _check_github_writes(c, token=raw["github-token"], github=github, names=names)
    if c.problems:
        raise errors.ConfigError(c.problems)
    config = _settings(values=values, github=github)
    if not config.wait:
        _check_handed_over(config, names=names)
    return config


def _check_handed_over(config: Settings, *, names: Names) -> None:
    """`wait: false`: a step that does not wait cannot decide after each run, so what decides
    mid-way (adaptive sampling, a budget) is refused; everything else of a suite works."""
    problems = []
    if config.max_repeats > config.repeats:
        problems.append(
            f"{names('wait')} false cannot add runs while a verdict is inconclusive: "
            f"{names('max-repeats')} ({config.max_repeats}) above {names('repeats')} "
            f"({config.repeats}) needs a step that waits; drop {names('max-repeats')} or set "
            f"{names('wait')} true"
        )
    if config.budget_usd is not None:
        problems.append(
            f"{names('wait')} false starts every run at once, so {names('budget-usd')} could "
            f"not stop any; drop {names('budget-usd')} or set {names('wait')} true"
        )
    if problems:
        raise errors.ConfigError(problems)


def _raw(environ: Mapping[str, str], *, item: inputs.Input) -> str:
    """The input's variable; `""` (unset) falls back to the runner's variable, if it has one."""
    value = _env(environ, item.env)
    return value or (_env(environ, item.also_env) if item.also_env else "")


def _deployment_url(c: _Collector, *, values: Mapping[str, Any], names: Names) -> str | None:
    """deployment-url left unset: the one url-map value, or none with template-vars."""
    n = names
    url_map: Mapping[str, str] | None = values["url-map"]
    if url_map is None:  # url-map itself was invalid; that problem is already reported
        return None
    # An invalid template-vars is reported on its own; for url-map it still counts as given.
    vars_given = values["template-vars"] is not None or "template-vars" in c.refused
    if len(url_map) > 1:
        where = "--deployment-url" if n.cli else "'deployment-url' input"
        c.problems.append(
            f"{n('url-map')} has multiple entries, set {where} explicitly to disambiguate"
        )
        return None
    if not url_map and not vars_given:
        c.problems.append(
            f"{n('url-map')} must have at least one entry (or set {n('template-vars')} for "
            "prompts that use template variables instead of a preview URL)"
        )
        return None
    return next(iter(url_map.values()), None)


def _check_github_writes(c: _Collector, *, token: str, github: GitHubContext, names: Names) -> None:
    """A comment or a status is written: it needs a token and a repository."""
    n = names
    if not token.strip():
        c.problems.append(
            f"{n.required('github-token')} to comment and set statuses "
            f"(pass {n('github-token')}, or set {n('skip-comment')} and {n('skip-status')})"
        )
    if not github.repository:
        c.problems.append(
            "GITHUB_REPOSITORY is not set: run inside GitHub Actions, or use --local or --dry-run"
        )


def _settings(*, values: Mapping[str, Any], github: GitHubContext) -> Settings:
    """Each input's value into its field; the defaults that depend on another input filled in."""
    fields = {item.attribute: values[item.name] for item in inputs.TABLE}
    fields["url_map"] = fields["url_map"] or {}
    if fields["max_repeats"] is None:
        fields["max_repeats"] = fields["repeats"]
    if fields["timeout_minutes"] is None:
        fields["timeout_minutes"] = fields["wait_timeout_minutes"]
    rollout = RolloutSettings(**{k: v for k, v in fields.items() if k in _ROLLOUT_FIELDS})
    common = {k: v for k, v in fields.items() if k not in _ROLLOUT_FIELDS}
    return Settings(**common, rollout=rollout, github=github)
