"""The server's config, read once from a TOML file: the `[server]`, `[fetch]`, `[pages]` and
`[judge]` tables here, each `[[prompts]]` table by `prompts`, each check by its class in `checks`.

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

    [[prompts]]                   # at least one: see `prompts`
    id = "create-project"

Secrets never live in the file: every secret is named by the environment variable that holds it
(`*_env`). Every problem in the file is reported together, as a `ConfigError`.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evals_action import errors
from evals_action.server import egress, prompts, reporting_config, toml_values

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

# The prompt's types, by the names the rollout worker (server/runner.py) still uses.
Prompt = prompts.Prompt
Rollout = prompts.Rollout


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

    prompts: Mapping[str, prompts.Prompt]
    judge: Judge | None = None
    poll_interval_seconds: float = 2.0
    long_poll_max_seconds: float = 30.0
    max_body_bytes: int = 1_048_576
    workers: int = 32
    workers_per_repository: int = 16
    show_template_values: bool = False  # [pages]: show templateArgs values on the public pages
    fetch: egress.Policy = egress.Policy()  # [fetch]: where checks and url maps may point
    # [github], [oidc], [webhooks]: the server's own GitHub reports, OIDC bearers, webhooks
    reporting: reporting_config.ReportingConfig = reporting_config.ReportingConfig()

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret the config read (model, tracing, GitHub, judge keys), for redaction."""
        found = [self.judge.api_key if self.judge else None]
        for prompt in self.prompts.values():
            rollout = prompt.rollout
            found += [rollout.model_api_key, rollout.tracing_api_key, rollout.workflow_token]
        found += self.reporting.secrets
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


# What the file may hold; anything else is a typo, reported rather than ignored.
TABLES = frozenset({"server", "prompts", "judge", "fetch", "pages", "github", "oidc", "webhooks"})
SERVER_KEYS = frozenset(
    {
        "poll_interval_seconds",
        "long_poll_max_seconds",
        "max_body_bytes",
        "workers",
        "workers_per_repository",
    }
)
JUDGE_KEYS = frozenset({"base_url", "model", "api_key_env", "timeout_seconds"})


def parse(*, raw: Mapping[str, Any], environ: Mapping[str, str]) -> ServerConfig:
    """Turn the decoded TOML into a `ServerConfig`; raise `ConfigError` listing every problem."""
    problems: list[str] = []
    toml_values.unknown(raw, where="config", known=TABLES, problems=problems)
    server = toml_values.table(raw, key="server", problems=problems)
    toml_values.unknown(server, where="[server]", known=SERVER_KEYS, problems=problems)
    found: dict[str, prompts.Prompt] = {}
    raw_prompts = raw.get("prompts", [])
    if not isinstance(raw_prompts, list) or not raw_prompts:
        problems.append("config needs at least one [[prompts]] table")
        raw_prompts = []
    for index, item in enumerate(raw_prompts):
        prompt = prompts.parse(item, where=f"prompts[{index}]", problems=problems, environ=environ)
        if prompt is None:
            continue
        if prompt.id in found:
            problems.append(f"prompts[{index}]: duplicate prompt id {prompt.id!r}")
        found[prompt.id] = prompt
    judge = _judge(raw.get("judge"), problems=problems, environ=environ)
    if judge is None and any(c.type == "llm_judge" for p in found.values() for c in p.checks):
        problems.append("an llm_judge check needs a [judge] table (base_url, model)")
    poll = toml_values.positive(
        server.get("poll_interval_seconds", 2.0),
        where="server.poll_interval_seconds",
        problems=problems,
    )
    long_poll = toml_values.positive(
        server.get("long_poll_max_seconds", 30.0),
        where="server.long_poll_max_seconds",
        problems=problems,
    )
    fetch = egress.parse(raw.get("fetch", {}), problems)
    pages = toml_values.table(raw, key="pages", problems=problems)
    toml_values.unknown(pages, where="[pages]", known={"show_template_values"}, problems=problems)
    show_values = pages.get("show_template_values", False)
    if not isinstance(show_values, bool):
        problems.append(f"pages.show_template_values must be true or false (got {show_values!r})")
    max_body = toml_values.count(server, key="max_body_bytes", default=1_048_576, problems=problems)
    workers = toml_values.count(server, key="workers", default=32, problems=problems)
    per_repository = toml_values.count(
        server, key="workers_per_repository", default=max(1, workers // 2), problems=problems
    )
    reporting = reporting_config.ReportingConfig()
    try:
        reporting = reporting_config.parse(raw=raw, environ=environ, prompt_ids=list(found))
    except errors.ConfigError as exc:
        problems.extend(exc.problems)
    if problems:
        raise errors.ConfigError(problems)
    return ServerConfig(
        reporting=reporting,
        prompts=found,
        judge=judge,
        poll_interval_seconds=poll,
        long_poll_max_seconds=long_poll,
        show_template_values=show_values,
        fetch=fetch,
        max_body_bytes=max_body,
        workers=workers,
        workers_per_repository=min(per_repository, workers),
    )


def _judge(item: Any, *, problems: list[str], environ: Mapping[str, str]) -> Judge | None:
    if item is None:
        return None
    if not isinstance(item, Mapping):
        problems.append("[judge] must be a table")
        return None
    toml_values.unknown(item, where="[judge]", known=JUDGE_KEYS, problems=problems)
    base_url = toml_values.string(item, key="base_url", where="judge", problems=problems)
    model = toml_values.string(item, key="model", where="judge", problems=problems)
    timeout = toml_values.positive(
        item.get("timeout_seconds", 60), where="judge.timeout_seconds", problems=problems
    )
    env = item.get("api_key_env")
    return Judge(
        base_url=base_url.rstrip("/"),
        model=model,
        api_key_env=env if isinstance(env, str) else None,
        timeout_seconds=timeout,
        api_key=toml_values.secret(env, environ=environ),
    )
