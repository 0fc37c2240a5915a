"""Prompts, rollout targets and grading checks, read once from a TOML file.

    [server]                      # optional
    poll_interval_seconds = 2     # how often the runner asks a rollout for its status
    long_poll_max_seconds = 30    # advertised in X-Evals-Long-Poll
    max_body_bytes = 1048576      # larger request bodies get 413
    workers = 32                  # rollouts followed at once; more runs wait as pending
    workers_per_repository = 16   # at most this many of them for one repository

    [fetch]                       # optional: see `egress` (url maps and http checks)
    allow_private_networks = false

    [pages]                       # optional
    show_template_values = false  # true: the public pages show templateArgs values

    [judge]                       # optional: an OpenAI-compatible chat endpoint
    base_url = "https://api.openai.com/v1"
    model = "gpt-4o-mini"
    api_key_env = "OPENAI_API_KEY"

    [[prompts]]
    id = "create-project"
    title = "Sign up and create a project"
    text = "On https://app.example.com, create a project named {{project_name}}."
    template_vars = ["project_name"]

    [prompts.rollout]
    target = "remote"             # or "github-workflow"
    url = "http://127.0.0.1:8700"

    [[prompts.checks]]
    type = "contains"
    value = "{{project_name}}"

Secrets never live in the file: every secret is named by the environment variable that holds it
(`*_env`). Every problem in the file is reported together, as a `ConfigError`.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evals_action import errors
from evals_action.server import egress, traces

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
CHECK_TYPES = ("contains", "regex", "json_equals", "http", "llm_judge", "trace")
TARGETS = ("remote", "github-workflow")


@dataclasses.dataclass(frozen=True)
class Check:
    """One grading check. Which fields matter depends on `type` (see docs/server.md)."""

    type: str
    name: str
    required: bool = True
    weight: float = 1.0
    value: str = ""  # contains: the text; json_equals: compared after JSON decoding
    pattern: str = ""  # regex
    path: str = ""  # json_equals: dotted path into the rollout result
    expected: Any = None  # json_equals: the expected value
    case_sensitive: bool = False
    url: str = ""  # http: production URL, rewritten to the preview through the url map
    method: str = "GET"
    expect_status: int = 200
    body_contains: str = ""
    json_contains: Mapping[str, Any] | None = None
    criteria: str = ""  # llm_judge: what the judge must decide


@dataclasses.dataclass(frozen=True)
class Rollout:
    """Where the agent runs: an Eval Protocol remote service or a dispatched workflow."""

    target: str
    url: str = ""  # remote
    status_mode: str = "auto"
    tracing_url: str | None = None
    tracing_api_key_env: str | None = None
    workflow_repo: str = ""  # github-workflow
    workflow: str = ""
    workflow_ref: str = "main"
    workflow_token_env: str = "GITHUB_TOKEN"  # noqa: S105 - a variable's name, not a secret
    github_api_url: str = "https://api.github.com"
    github_server_url: str = "https://github.com"
    model_base_url: str = ""
    model_api_key_env: str | None = None
    completion_params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # Secrets, read from the variables named by the `*_env` keys when the file is loaded.
    tracing_api_key: str | None = dataclasses.field(default=None, repr=False)
    workflow_token: str | None = dataclasses.field(default=None, repr=False)
    model_api_key: str | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(frozen=True)
class Prompt:
    """A prompt the server can run."""

    id: str
    title: str
    messages: tuple[Mapping[str, Any], ...]
    template_vars: tuple[str, ...]
    rollout: Rollout
    checks: tuple[Check, ...]
    tools: tuple[Mapping[str, Any], ...] | None = None
    timeout_minutes: float = 20.0

    @property
    def text(self) -> str:
        """The prompt as one text: the user messages' contents, joined."""
        return "\n\n".join(
            str(m.get("content", "")) for m in self.messages if m.get("role") == "user"
        )


@dataclasses.dataclass(frozen=True)
class Judge:
    """The optional LLM judge: any OpenAI-compatible `/chat/completions` endpoint."""

    base_url: str
    model: str
    api_key_env: str | None = None
    timeout_seconds: float = 60.0
    api_key: str | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """Everything the config file says."""

    prompts: Mapping[str, Prompt]
    judge: Judge | None = None
    poll_interval_seconds: float = 2.0
    long_poll_max_seconds: float = 30.0
    max_body_bytes: int = 1_048_576
    workers: int = 32
    workers_per_repository: int = 16
    show_template_values: bool = False  # [pages]: show templateArgs values on the public pages
    fetch: egress.Policy = egress.Policy()  # [fetch]: where checks and url maps may point

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret the config read (model, tracing, GitHub, judge keys), for redaction."""
        found = [self.judge.api_key if self.judge else None]
        for prompt in self.prompts.values():
            rollout = prompt.rollout
            found += [rollout.model_api_key, rollout.tracing_api_key, rollout.workflow_token]
        return tuple(sorted({s for s in found if s}))


def load(*, path: Path, environ: Mapping[str, str]) -> ServerConfig:
    """Read and check the file; raise `ConfigError` listing every problem.

    `environ` is where the secrets named by `*_env` keys are read from (the process environment).
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise errors.ConfigError([f"cannot read config {path}: {exc.strerror}"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise errors.ConfigError([f"config {path} is not valid TOML: {exc}"]) from exc
    return parse(raw=raw, environ=environ)


def parse(*, raw: Mapping[str, Any], environ: Mapping[str, str]) -> ServerConfig:
    """Turn the decoded TOML into a `ServerConfig`; raise `ConfigError` listing every problem."""
    problems: list[str] = []
    server = _table(raw, "server", problems)
    prompts: dict[str, Prompt] = {}
    raw_prompts = raw.get("prompts", [])
    if not isinstance(raw_prompts, list) or not raw_prompts:
        problems.append("config needs at least one [[prompts]] table")
        raw_prompts = []
    for index, item in enumerate(raw_prompts):
        prompt = _prompt(item, f"prompts[{index}]", problems, environ)
        if prompt is None:
            continue
        if prompt.id in prompts:
            problems.append(f"prompts[{index}]: duplicate prompt id {prompt.id!r}")
        prompts[prompt.id] = prompt
    judge = _judge(raw.get("judge"), problems, environ)
    if judge is None and any(c.type == "llm_judge" for p in prompts.values() for c in p.checks):
        problems.append("an llm_judge check needs a [judge] table (base_url, model)")
    poll = _positive(
        server.get("poll_interval_seconds", 2.0), "server.poll_interval_seconds", problems
    )
    long_poll = _positive(
        server.get("long_poll_max_seconds", 30.0), "server.long_poll_max_seconds", problems
    )
    fetch = egress.parse(raw.get("fetch", {}), problems)
    show_values = _table(raw, "pages", problems).get("show_template_values", False)
    if not isinstance(show_values, bool):
        problems.append(f"pages.show_template_values must be true or false (got {show_values!r})")
    max_body = _count(server, "max_body_bytes", 1_048_576, problems)
    workers = _count(server, "workers", 32, problems)
    per_repository = _count(server, "workers_per_repository", max(1, workers // 2), problems)
    if problems:
        raise errors.ConfigError(problems)
    return ServerConfig(
        prompts=prompts,
        judge=judge,
        poll_interval_seconds=poll,
        long_poll_max_seconds=long_poll,
        show_template_values=show_values,
        fetch=fetch,
        max_body_bytes=max_body,
        workers=workers,
        workers_per_repository=min(per_repository, workers),
    )


def placeholders(*, text: str) -> set[str]:
    """The `{{name}}` template variables a text uses."""
    return {m.group(1) for m in PLACEHOLDER.finditer(text)}


def _table(raw: Mapping[str, Any], key: str, problems: list[str]) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        problems.append(f"[{key}] must be a table")
        return {}
    return value


def _positive(value: Any, where: str, problems: list[str]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        problems.append(f"{where} must be a positive number (got {value!r})")
        return 1.0
    return float(value)


def _count(server: Mapping[str, Any], key: str, default: int, problems: list[str]) -> int:
    value = server.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        problems.append(f"server.{key} must be a whole number of at least 1 (got {value!r})")
        return default
    return value


def _string(item: Mapping[str, Any], key: str, where: str, problems: list[str]) -> str:
    value = item.get(key, "")
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}.{key} is required and must be a non-empty string")
        return ""
    return value


def _prompt(
    item: Any, where: str, problems: list[str], environ: Mapping[str, str]
) -> Prompt | None:
    if not isinstance(item, Mapping):
        problems.append(f"{where} must be a table")
        return None
    prompt_id = _string(item, "id", where, problems)
    title = item.get("title") or prompt_id
    messages = _messages(item, where, problems)
    declared = item.get("template_vars", [])
    if not isinstance(declared, list) or not all(isinstance(v, str) for v in declared):
        problems.append(f"{where}.template_vars must be a list of strings")
        declared = []
    rollout = _rollout(item.get("rollout"), f"{where}.rollout", problems, environ)
    parsed = [
        _check(c, f"{where}.checks[{i}]", problems) for i, c in enumerate(item.get("checks", []))
    ]
    checks = tuple(c for c in parsed if c is not None)
    used = set().union(*(placeholders(text=str(m.get("content", ""))) for m in messages))
    used |= set().union(*(_check_placeholders(c) for c in checks))
    undeclared = sorted(used - set(declared))
    if undeclared:
        problems.append(f"{where}: template vars used but not declared: {', '.join(undeclared)}")
    tools = item.get("tools")
    timeout = _positive(item.get("timeout_minutes", 20), f"{where}.timeout_minutes", problems)
    if rollout is None:
        return None
    return Prompt(
        id=prompt_id,
        title=str(title),
        messages=messages,
        template_vars=tuple(declared),
        rollout=rollout,
        checks=checks,
        tools=tuple(tools) if isinstance(tools, list) else None,
        timeout_minutes=timeout,
    )


def _messages(
    item: Mapping[str, Any], where: str, problems: list[str]
) -> tuple[Mapping[str, Any], ...]:
    text, messages = item.get("text"), item.get("messages")
    if (text is None) == (messages is None):
        problems.append(f"{where} needs exactly one of text or messages")
        return ()
    if text is not None:
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{where}.text must be a non-empty string")
            return ()
        return ({"role": "user", "content": text},)
    ok = isinstance(messages, list) and all(
        isinstance(m, Mapping) and isinstance(m.get("role"), str) for m in messages
    )
    if not ok or not messages:
        problems.append(f"{where}.messages must be a list of tables with a role and content")
        return ()
    return tuple(dict(m) for m in messages)


def _rollout(
    item: Any, where: str, problems: list[str], environ: Mapping[str, str]
) -> Rollout | None:
    if not isinstance(item, Mapping):
        problems.append(f'{where} is required: a table with target = "remote" or "github-workflow"')
        return None
    target = item.get("target")
    if target not in TARGETS:
        problems.append(f"{where}.target must be one of {', '.join(TARGETS)} (got {target!r})")
        return None
    if target == "remote":
        _string(item, "url", where, problems)
    else:
        _string(item, "workflow_repo", where, problems)
        _string(item, "workflow", where, problems)
    params = item.get("completion_params", {})
    if not isinstance(params, Mapping):
        problems.append(f"{where}.completion_params must be a table")
        params = {}
    known = {f.name for f in dataclasses.fields(Rollout) if f.repr}
    unknown = sorted(set(item) - known)
    if unknown:
        problems.append(f"{where}: unknown keys {', '.join(unknown)}")
    values = {k: v for k, v in item.items() if k in known and k != "completion_params"}
    return Rollout(
        **values,
        completion_params=dict(params),
        tracing_api_key=_secret(item.get("tracing_api_key_env"), environ),
        workflow_token=_secret(item.get("workflow_token_env", "GITHUB_TOKEN"), environ),
        model_api_key=_secret(item.get("model_api_key_env"), environ),
    )


def _check(item: Any, where: str, problems: list[str]) -> Check | None:
    if not isinstance(item, Mapping):
        problems.append(f"{where} must be a table")
        return None
    kind = item.get("type")
    if kind not in CHECK_TYPES:
        problems.append(f"{where}.type must be one of {', '.join(CHECK_TYPES)} (got {kind!r})")
        return None
    needs = {
        "contains": "value",
        "regex": "pattern",
        "json_equals": "path",
        "http": "url",
        "llm_judge": "criteria",
        "trace": "path",
    }[kind]
    if not item.get(needs):
        problems.append(f"{where}: a {kind} check needs {needs}")
    if kind == "trace" and item.get("path") not in traces.FACTS:
        problems.append(f"{where}.path must be one of {', '.join(traces.FACTS)} for a trace check")
    if kind == "regex":
        try:
            re.compile(str(item.get("pattern", "")))
        except re.error as exc:
            problems.append(f"{where}.pattern is not a valid regular expression: {exc}")
    known = {f.name for f in dataclasses.fields(Check)}
    unknown = sorted(set(item) - known)
    if unknown:
        problems.append(f"{where}: unknown keys {', '.join(unknown)}")
        return None
    values = dict(item)
    values.setdefault("name", _default_name(values))
    return Check(**values)


def _default_name(values: Mapping[str, Any]) -> str:
    kind = values["type"]
    if kind == "contains":
        return f"answer contains {values.get('value', '')!r}"
    if kind == "regex":
        return f"answer matches /{values.get('pattern', '')}/"
    if kind == "json_equals":
        return f"result {values.get('path', '')} == {values.get('expected')!r}"
    if kind == "http":
        return f"{values.get('method', 'GET')} {values.get('url', '')}"
    if kind == "trace":
        return f"trace {values.get('path', '')}"
    return "judge: " + str(values.get("criteria", ""))[:60]


def _check_placeholders(check: Check) -> set[str]:
    texts: Sequence[str] = (
        check.value,
        check.pattern,
        check.url,
        check.body_contains,
        check.criteria,
        repr(check.expected),
        repr(check.json_contains),
    )
    return set().union(*(placeholders(text=t) for t in texts))


def _secret(env: Any, environ: Mapping[str, str]) -> str | None:
    """The value of the environment variable a config names for a secret; None when unset."""
    if not isinstance(env, str) or not env:
        return None
    return environ.get(env) or None


def _judge(item: Any, problems: list[str], environ: Mapping[str, str]) -> Judge | None:
    if item is None:
        return None
    if not isinstance(item, Mapping):
        problems.append("[judge] must be a table")
        return None
    base_url = _string(item, "base_url", "judge", problems)
    model = _string(item, "model", "judge", problems)
    timeout = _positive(item.get("timeout_seconds", 60), "judge.timeout_seconds", problems)
    env = item.get("api_key_env")
    return Judge(
        base_url=base_url.rstrip("/"),
        model=model,
        api_key_env=env if isinstance(env, str) else None,
        timeout_seconds=timeout,
        api_key=_secret(env, environ),
    )
