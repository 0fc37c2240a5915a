"""Inputs → one frozen `Settings`, read once at the edge.

Every input of `action.yml` arrives as an `EVALS_<NAME>` environment variable (or the matching
`--option` of `evals-action run`, which click folds into the same mapping). `""` means unset.
`load` checks everything and raises one `errors.ConfigError` listing every problem, before any
network call. Nothing else in the package reads `os.environ`.

Messages name what the user typed: the input (`prompt-id input is required`) when run as the
action, the option (`--prompt-id is required (or set EVALS_PROMPT_ID)`) when run from a terminal;
`Names` picks the wording once.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from evals_action import errors

DEFAULT_API_BASE_URL = "https://2027.dev/evals"
DEFAULT_GITHUB_API_URL = "https://api.github.com"
DEFAULT_GITHUB_SERVER_URL = "https://github.com"
BACKENDS = ("evals-api", "remote", "github-workflow")
ROLLOUT_STATUS_MODES = ("auto", "service", "gateway")

# A shorter secret would be masked everywhere it happens to occur in the log ("skip-comment"
# becoming "s***ip-comment" for a key `k`), and no real key or token is that short.
MIN_SECRET_LENGTH = 8

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})

T = TypeVar("T")


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
    prompt_id: str
    url_map: Mapping[str, str]
    template_vars: Mapping[str, Any] | None
    deployment_url: str | None
    wait_timeout_minutes: float
    poll_interval_seconds: float
    timeout_fails: bool
    skip_comment: bool
    skip_status: bool
    github_token: str = dataclasses.field(repr=False)
    pr_number: int | None
    sha: str | None
    status_context: str | None
    backend: str
    rollout: RolloutSettings
    github: GitHubContext

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for masking and redaction."""
        values = (
            self.api_key,
            self.github_token,
            self.rollout.model_api_key,
            self.rollout.tracing_api_key,
            self.rollout.workflow_token,
        )
        return tuple(v for v in values if v)


# --- converters: each takes the raw string and returns a value or raises ValueError(message) ---


def clean_bool(*, name: str, raw: str, default: bool) -> bool:
    if raw == "":
        return default
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false (got '{raw}')")


def clean_positive(*, name: str, raw: str, default: float) -> float:
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a positive number (got '{raw}')")
    return value


def clean_json_object(*, name: str, raw: str) -> dict[str, Any] | None:
    if raw.strip() == "":
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{name} must be valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object")
    return value


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def clean_url(*, name: str, raw: str, allow_http_loopback: bool = True) -> str:
    """A base URL: `https://`, or `http://` on a loopback host. Trailing slashes stripped."""
    url = raw.strip().rstrip("/")
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"{name} must be a full https:// URL (got '{raw}')")
    if parsed.scheme == "http" and not (allow_http_loopback and is_loopback_host(parsed.hostname)):
        raise ValueError(
            f"{name} must use https:// (plain http is only allowed for localhost) (got '{raw}')"
        )
    return url


def clean_preview_url(*, name: str, raw: str) -> str:
    """A preview URL: any full http(s) URL (it is what the agent visits, not where keys go)."""
    parsed = urllib.parse.urlsplit(raw.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"{name} must be a full http(s):// URL (got {json.dumps(raw)})")
    return raw.strip()


def clean_url_map(*, raw: str, name: str = "url-map") -> dict[str, str]:
    value = clean_json_object(name=name, raw=raw or "{}")
    result: dict[str, str] = {}
    for host, target in (value or {}).items():
        if not isinstance(target, str):
            target = json.dumps(target)
        result[str(host)] = clean_preview_url(name=f"{name} value for '{host}'", raw=target)
    return result


def clean_template_vars(*, raw: str, name: str = "template-vars") -> dict[str, Any] | None:
    value = clean_json_object(name=name, raw=raw)
    return value or None


def clean_pr_number(*, raw: str, name: str = "pr-number") -> int | None:
    if raw.strip() == "":
        return None
    if not raw.strip().isdigit() or int(raw) <= 0:
        raise ValueError(f"{name} must be a positive whole number (got '{raw}')")
    return int(raw)


def clean_sha(*, raw: str, name: str = "sha") -> str | None:
    sha = raw.strip()
    if sha == "":
        return None
    if not (7 <= len(sha) <= 64) or any(c not in "0123456789abcdefABCDEF" for c in sha):
        raise ValueError(f"{name} must be a commit SHA of hexadecimal digits (got '{raw}')")
    return sha.lower()


def clean_secret(*, name: str, raw: str) -> str:
    """A key or token: empty (unset), or at least `MIN_SECRET_LENGTH` characters."""
    value = raw.strip()
    if value and len(value) < MIN_SECRET_LENGTH:
        raise ValueError(
            f"{name} is too short to be a real key or token (at least {MIN_SECRET_LENGTH} "
            "characters): check that the secret it comes from holds the whole value"
        )
    return value


@dataclasses.dataclass(frozen=True)
class Names:
    """How messages name an input: as the action's input, or as the CLI's option."""

    cli: bool = False

    def __call__(self, name: str) -> str:
        return f"--{name}" if self.cli else name

    def flag(self, name: str) -> str:
        """A bad on/off value can only come from the variable: the CLI flag takes no value."""
        return f"EVALS_{name.upper().replace('-', '_')}" if self.cli else name

    def required(self, name: str) -> str:
        """`prompt-id input is required` / `--prompt-id is required (or set EVALS_PROMPT_ID)`."""
        if not self.cli:
            return f"{name} input is required"
        return f"--{name} is required (or set EVALS_{name.upper().replace('-', '_')})"


def clean_choice(*, name: str, raw: str, choices: tuple[str, ...], default: str) -> str:
    if raw.strip() == "":
        return default
    if raw.strip() not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)} (got '{raw}')")
    return raw.strip()


class _Collector:
    """Runs converters and keeps every problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def take(self, convert: Callable[[], T], fallback: T) -> T:
        try:
            return convert()
        except ValueError as exc:
            self.problems.append(str(exc))
            return fallback


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
    )


def load(
    environ: Mapping[str, str], *, need_github_token: bool = True, names: Names = Names()
) -> Settings:
    """Build `Settings` from `EVALS_*` and `GITHUB_*` variables, or raise `ConfigError`."""

    def e(name: str) -> str:
        return _env(environ, "EVALS_" + name)

    c = _Collector()
    n = names
    backend = c.take(
        lambda: clean_choice(
            name=n("backend"), raw=e("BACKEND"), choices=BACKENDS, default="evals-api"
        ),
        "evals-api",
    )
    api_key = _secret(c, name=n("api-key"), raw=e("API_KEY"))
    if backend == "evals-api" and not e("API_KEY").strip():
        c.problems.append(n.required("api-key"))
    prompt_id = e("PROMPT_ID").strip()
    if not prompt_id:
        c.problems.append(n.required("prompt-id"))
    api_base_url = c.take(
        lambda: clean_url(name=n("api-base-url"), raw=e("API_BASE_URL") or DEFAULT_API_BASE_URL),
        DEFAULT_API_BASE_URL,
    )
    parsed_map: dict[str, str] | None = c.take(
        lambda: clean_url_map(raw=e("URL_MAP"), name=n("url-map")), None
    )
    problems_before_vars = len(c.problems)
    url_map = parsed_map or {}
    template_vars = c.take(
        lambda: clean_template_vars(raw=e("TEMPLATE_VARS"), name=n("template-vars")), None
    )
    # An invalid template-vars is reported on its own; for url-map it still counts as given.
    vars_given = bool(template_vars) or (
        bool(e("TEMPLATE_VARS").strip()) and len(c.problems) > problems_before_vars
    )
    deployment_url = _deployment_url(
        c,
        raw=e("DEPLOYMENT_URL"),
        url_map=parsed_map,
        vars_given=vars_given,
        names=n,
    )
    wait = c.take(
        lambda: clean_positive(
            name=n("wait-timeout-minutes"), raw=e("WAIT_TIMEOUT_MINUTES"), default=20.0
        ),
        20.0,
    )
    interval = c.take(
        lambda: clean_positive(
            name=n("poll-interval-seconds"), raw=e("POLL_INTERVAL_SECONDS"), default=20.0
        ),
        20.0,
    )
    flags = {
        name: _flag(c, name=n.flag(name), raw=e(_var(name)))
        for name in ("timeout-fails", "skip-comment", "skip-status")
    }
    github_raw = e("GITHUB_TOKEN") or _env(environ, "GITHUB_TOKEN")
    github_token = _secret(c, name=n("github-token"), raw=github_raw)
    pr_number = c.take(lambda: clean_pr_number(raw=e("PR_NUMBER"), name=n("pr-number")), None)
    sha = c.take(lambda: clean_sha(raw=e("SHA"), name=n("sha")), None)
    rollout = _load_rollout(c, e=e, backend=backend, wait_minutes=wait, names=n)
    github = load_github_context(environ)
    if (
        need_github_token
        and not github_raw.strip()
        and not (flags["skip-comment"] and flags["skip-status"])
    ):
        c.problems.append(
            f"{n.required('github-token')} to comment and set statuses "
            f"(pass {n('github-token')}, or set {n('skip-comment')} and {n('skip-status')})"
        )
    if (
        need_github_token
        and not github.repository
        and not (flags["skip-comment"] and flags["skip-status"])
    ):
        c.problems.append(
            "GITHUB_REPOSITORY is not set: run inside GitHub Actions, or use --local or --dry-run"
        )
    if c.problems:
        raise errors.ConfigError(c.problems)
    return Settings(
        api_key=api_key.strip(),
        api_base_url=api_base_url,
        prompt_id=prompt_id,
        url_map=url_map,
        template_vars=template_vars,
        deployment_url=deployment_url,
        wait_timeout_minutes=wait,
        poll_interval_seconds=interval,
        timeout_fails=flags["timeout-fails"],
        skip_comment=flags["skip-comment"],
        skip_status=flags["skip-status"],
        github_token=github_token,
        pr_number=pr_number,
        sha=sha,
        status_context=e("STATUS_CONTEXT").strip() or None,
        backend=backend,
        rollout=rollout,
        github=github,
    )


def _var(name: str) -> str:
    """`model-api-key` → `MODEL_API_KEY` (the part after `EVALS_`)."""
    return name.upper().replace("-", "_")


def _secret(c: _Collector, *, name: str, raw: str) -> str:
    return c.take(lambda: clean_secret(name=name, raw=raw), "")


def _flag(c: _Collector, *, name: str, raw: str) -> bool:
    return c.take(lambda: clean_bool(name=name, raw=raw, default=False), False)


def _deployment_url(
    c: _Collector,
    *,
    raw: str,
    url_map: Mapping[str, str] | None,
    vars_given: bool,
    names: Names,
) -> str | None:
    n = names
    if raw.strip():
        return c.take(lambda: clean_preview_url(name=n("deployment-url"), raw=raw), None)
    if url_map is None:  # url-map itself was invalid; that problem is already reported
        return None
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


def _load_rollout(
    c: _Collector, *, e: Callable[[str], str], backend: str, wait_minutes: float, names: Names
) -> RolloutSettings:
    n = names
    completion = c.take(
        lambda: clean_json_object(name=n("completion-params"), raw=e("COMPLETION_PARAMS")), None
    )
    timeout = c.take(
        lambda: clean_positive(
            name=n("rollout-timeout-minutes"),
            raw=e("ROLLOUT_TIMEOUT_MINUTES"),
            default=wait_minutes,
        ),
        wait_minutes,
    )
    status_mode = c.take(
        lambda: clean_choice(
            name=n("rollout-status"),
            raw=e("ROLLOUT_STATUS"),
            choices=ROLLOUT_STATUS_MODES,
            default="auto",
        ),
        "auto",
    )
    rollout_url = e("ROLLOUT_URL").strip()
    tracing_url = e("TRACING_URL").strip()
    if rollout_url:
        rollout_url = c.take(lambda: clean_url(name=n("rollout-url"), raw=rollout_url), "")
    if tracing_url:
        tracing_url = c.take(lambda: clean_url(name=n("tracing-url"), raw=tracing_url), "")
    model_base_url = e("MODEL_BASE_URL").strip()
    if model_base_url:
        model_base_url = c.take(lambda: clean_url(name=n("model-base-url"), raw=model_base_url), "")
    workflow_repo = e("WORKFLOW_REPO").strip()
    if workflow_repo and workflow_repo.count("/") != 1:
        c.problems.append(f"{n('workflow-repo')} must look like owner/repo (got '{workflow_repo}')")
    if backend != "evals-api" and not e("PROMPT_FILE").strip():
        c.problems.append(f"{n.required('prompt-file')} when backend is {backend}")
    if backend == "remote" and not e("ROLLOUT_URL").strip():
        c.problems.append(f"{n.required('rollout-url')} when backend is remote")
    if backend == "remote" and status_mode == "gateway" and not e("TRACING_URL").strip():
        c.problems.append(f"{n.required('tracing-url')} when rollout-status is gateway")
    if backend == "github-workflow" and not e("WORKFLOW").strip():
        c.problems.append(f"{n.required('workflow')} when backend is github-workflow")
    secrets = {
        name: _secret(c, name=n(name), raw=e(_var(name)))
        for name in ("model-api-key", "tracing-api-key", "workflow-token")
    }
    return RolloutSettings(
        prompt_file=e("PROMPT_FILE").strip(),
        completion_params=completion,
        model_base_url=model_base_url,
        model_api_key=secrets["model-api-key"],
        timeout_minutes=timeout,
        rollout_url=rollout_url,
        status_mode=status_mode,
        tracing_url=tracing_url,
        tracing_api_key=secrets["tracing-api-key"],
        workflow_repo=workflow_repo,
        workflow=e("WORKFLOW").strip(),
        workflow_ref=e("WORKFLOW_REF").strip() or "main",
        workflow_token=secrets["workflow-token"],
        invocation_id=e("INVOCATION_ID").strip(),
        experiment_id=e("EXPERIMENT_ID").strip(),
        rollout_id=e("ROLLOUT_ID").strip(),
        correlation_run_id=e("CORRELATION_RUN_ID").strip(),
        row_id=e("ROW_ID").strip(),
    )
