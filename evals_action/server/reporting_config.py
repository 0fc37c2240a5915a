"""The server's GitHub, OIDC and webhook settings: the `[github]`, `[oidc]` and `[webhooks]` tables.

    [github]                                   # credentials for the server's own GitHub calls
    api_url = "https://api.github.com"         # GHES: https://HOST/api/v3
    app_id = "123456"                          # a GitHub App (with private_key_file) ...
    private_key_file = "/etc/evals/app.pem"
    token_env = "EVALS_GITHUB_TOKEN"           # ... or a plain token, for the simplest setups
    webhook_secret_env = "EVALS_WEBHOOK_SECRET"

    [oidc]                                     # GitHub Actions OIDC tokens instead of API keys
    issuer = "https://token.actions.githubusercontent.com"
    audience = "https://evals.example.com"     # the server's public URL
    [[oidc.allow]]
    repository = "octo-org/octo-repo"
    refs = ["refs/heads/main"]                 # optional, like workflows and event_names

    [webhooks]
    replay_window_hours = 72                   # delivery ids are remembered this long
    [[webhooks.repositories]]
    repository = "octo-org/octo-repo"
    prompts = ["create-project"]
    deployment_status = true                   # optional: environments = ["Preview"]
    status_contexts = ["netlify/*/deploy-preview"]
    label = "run-evals"
    command = "/eval"
    template_vars = {plan = "pro"}             # the prompts' template variables for these runs
    template_vars_env = {password = "EVALS_DEMO_PASSWORD"}  # secret ones, read from the environment

Every table is optional and parsed apart from `config` (the prompts), which ignores them; the
small value checks (`_table`, `_positive`) are `config`'s own, reused.
Secrets never live in the file: `*_env` keys name variables, the key is read from its file.
Every problem is reported together as one `ConfigError` (exit 2) that never contains a secret.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evals_action import errors
from evals_action.server import oidc, toml_values, webhooks

_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_KEYS = {
    "github": {"api_url", "app_id", "private_key_file", "token_env", "webhook_secret_env"},
    "oidc": {"issuer", "audience", "leeway_seconds", "allow"},
    "oidc.allow": {"repository", "refs", "workflows", "event_names"},
    "webhooks": {"replay_window_hours", "repositories"},
    "webhooks.repositories": {f.name for f in dataclasses.fields(webhooks.Triggers)}
    - {"secret_vars"}
    | {"template_vars_env"},
}


@dataclasses.dataclass(frozen=True)
class GitHubSettings:
    api_url: str = "https://api.github.com"
    app_id: str = ""
    private_key: str = dataclasses.field(default="", repr=False)
    token: str = dataclasses.field(default="", repr=False)
    webhook_secret: str = dataclasses.field(default="", repr=False)


@dataclasses.dataclass(frozen=True)
class OidcSettings:
    issuer: str
    audience: str
    rules: tuple[oidc.Rule, ...]
    leeway_seconds: float = 60.0


@dataclasses.dataclass(frozen=True)
class ReportingConfig:
    """What the three tables say; `None` for a table that is absent."""

    github: GitHubSettings | None = None
    oidc: OidcSettings | None = None
    triggers: Mapping[str, webhooks.Triggers] = dataclasses.field(default_factory=dict)
    replay_window_seconds: float = 72 * 3600.0

    @property
    def secrets(self) -> tuple[str, ...]:
        """The App key, the token, the webhook secret and the template variables read from
        the environment (`template_vars_env`), for redaction."""
        gh = self.github
        found = [*((gh.private_key, gh.token, gh.webhook_secret) if gh else ())]
        for t in self.triggers.values():
            found += [t.template_vars[name] for name in t.secret_vars]
        return tuple(s for s in found if s)


def parse(
    *,
    raw: Mapping[str, Any],
    environ: Mapping[str, str],
    prompt_ids: Sequence[str],
    read_file: Callable[[Path], str] = lambda p: p.read_text(encoding="utf-8"),
) -> ReportingConfig:
    """The three tables of the decoded TOML; `ConfigError` listing every problem."""
    problems: list[str] = []
    github = _github(
        toml_values.table(raw, key="github", problems=problems), environ, read_file, problems
    )
    oidc_settings = _oidc(toml_values.table(raw, key="oidc", problems=problems), problems)
    hooks = toml_values.table(raw, key="webhooks", problems=problems)
    triggers = _triggers(hooks, set(prompt_ids), environ, problems)
    window = toml_values.positive(
        hooks.get("replay_window_hours", 72),
        where="webhooks.replay_window_hours",
        problems=problems,
    )
    if triggers and (github is None or not github.webhook_secret):
        problems.append("[webhooks] needs [github] webhook_secret_env naming a set variable")
    if triggers and github is not None and not (github.app_id or github.token):
        problems.append("[webhooks] needs [github] app_id + private_key_file, or token_env")
    if problems:
        raise errors.ConfigError(problems)
    return ReportingConfig(
        github=github, oidc=oidc_settings, triggers=triggers, replay_window_seconds=window * 3600
    )


def _github(
    table: Mapping[str, Any],
    environ: Mapping[str, str],
    read_file: Callable[[Path], str],
    problems: list[str],
) -> GitHubSettings | None:
    if not table:
        return None
    _unknown(table, "github", problems)
    app_id, key_file = str(table.get("app_id", "")), table.get("private_key_file", "")
    if bool(app_id) != bool(key_file):
        problems.append("github.app_id and github.private_key_file go together")
    if app_id and not app_id.isdigit():
        problems.append("github.app_id must be the App's numeric id")
    key = ""
    if key_file:
        try:
            key = read_file(Path(str(key_file)))
        except OSError as exc:
            problems.append(f"github.private_key_file: cannot read {key_file} ({exc.strerror})")
    api_url = str(table.get("api_url", "https://api.github.com")).rstrip("/")
    if not api_url.startswith(("https://", "http://")):
        problems.append("github.api_url must be an http(s) URL")
    return GitHubSettings(
        api_url=api_url,
        app_id=app_id,
        private_key=key,
        token=_required_secret(table, "token_env", environ, problems),
        webhook_secret=_required_secret(table, "webhook_secret_env", environ, problems),
    )


def _oidc(table: Mapping[str, Any], problems: list[str]) -> OidcSettings | None:
    if not table:
        return None
    _unknown(table, "oidc", problems)
    issuer = str(table.get("issuer", oidc.GITHUB_ISSUER)).rstrip("/")
    audience = table.get("audience")
    if not isinstance(audience, str) or not audience.strip():
        problems.append("oidc.audience is required: the server's public URL")
        audience = ""
    rules = []
    allow = table.get("allow", [])
    if not isinstance(allow, list) or not allow:
        problems.append("oidc needs at least one [[oidc.allow]] table naming a repository")
        allow = []
    for index, item in enumerate(allow):
        where = f"oidc.allow[{index}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where} must be a table")
            continue
        _unknown(item, "oidc.allow", problems, where=where)
        rules.append(
            oidc.Rule(
                repository=_repository(item, where, problems),
                refs=_strings(item, "refs", where, problems),
                workflows=_strings(item, "workflows", where, problems),
                event_names=_strings(item, "event_names", where, problems),
            )
        )
    leeway = toml_values.positive(
        table.get("leeway_seconds", 60), where="oidc.leeway_seconds", problems=problems
    )
    return OidcSettings(issuer=issuer, audience=audience, rules=tuple(rules), leeway_seconds=leeway)


def _triggers(
    table: Mapping[str, Any],
    prompt_ids: set[str],
    environ: Mapping[str, str],
    problems: list[str],
) -> dict[str, webhooks.Triggers]:
    _unknown(table, "webhooks", problems)
    found: dict[str, webhooks.Triggers] = {}
    items = table.get("repositories", [])
    for index, item in enumerate(items if isinstance(items, list) else [None]):
        where = f"webhooks.repositories[{index}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where} must be a table")
            continue
        _unknown(item, "webhooks.repositories", problems, where=where)
        triggers = _one_repository(item, where, prompt_ids, problems)
        plain, secret = _template_vars(item, where, environ, problems)
        triggers = dataclasses.replace(
            triggers, template_vars={**plain, **secret}, secret_vars=frozenset(secret)
        )
        if triggers.repository.lower() in found:
            problems.append(f"{where}: repository listed twice")
        found[triggers.repository.lower()] = triggers
    return found


def _one_repository(
    item: Mapping[str, Any], where: str, prompt_ids: set[str], problems: list[str]
) -> webhooks.Triggers:
    prompts = _strings(item, "prompts", where, problems)
    unknown = sorted(set(prompts) - prompt_ids)
    if not prompts or unknown:
        problems.append(f"{where}.prompts must list prompt ids of [[prompts]] (unknown: {unknown})")
    command, label = item.get("command", ""), item.get("label", "")
    if not isinstance(command, str) or (command and not re.fullmatch(r"/[\w-]+", command)):
        problems.append(f"{where}.command must look like /eval")
        command = ""
    if not isinstance(label, str):
        problems.append(f"{where}.label must be a string")
        label = ""
    on_deploy = item.get("deployment_status", False)
    if not isinstance(on_deploy, bool):
        problems.append(f"{where}.deployment_status must be true or false")
        on_deploy = False
    triggers = webhooks.Triggers(
        repository=_repository(item, where, problems),
        prompts=prompts,
        deployment_status=on_deploy,
        environments=_strings(item, "environments", where, problems),
        status_contexts=_strings(item, "status_contexts", where, problems),
        label=label,
        command=command,
    )
    if not (on_deploy or triggers.status_contexts or label or command):
        problems.append(f"{where} enables no trigger (deployment_status, status_contexts, ...)")
    return triggers


def _template_vars(
    item: Mapping[str, Any], where: str, environ: Mapping[str, str], problems: list[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """`template_vars` (values) and `template_vars_env` (variable names, read now); a problem
    names the key, never a value."""
    tables = []
    for key in ("template_vars", "template_vars_env"):
        value = item.get(key, {})
        if not isinstance(value, Mapping):
            problems.append(f"{where}.{key} must be a table of name = string")
            value = {}
        for name, text in value.items():
            if not isinstance(text, str) or (key == "template_vars_env" and not text):
                what = "an environment variable's name" if key.endswith("_env") else "a string"
                problems.append(f"{where}.{key}.{name} must be {what}")
        tables.append({k: v for k, v in value.items() if isinstance(v, str)})
    plain, names = tables
    for name in sorted(set(plain) & set(names)):
        problems.append(f"{where}: template variable {name} is in template_vars and _env")
    secret = {}
    for name, variable in names.items():
        secret[name] = environ.get(variable, "") if variable else ""
        if variable and not secret[name]:
            problems.append(f"{where}.template_vars_env.{name}: the variable {variable} is not set")
    return plain, secret


def _unknown(table: Mapping[str, Any], kind: str, problems: list[str], where: str = "") -> None:
    extra = sorted(set(table) - _KEYS[kind])
    if extra:
        problems.append(f"{where or kind}: unknown keys {', '.join(extra)}")


def _repository(item: Mapping[str, Any], where: str, problems: list[str]) -> str:
    value = item.get("repository")
    if not isinstance(value, str) or not _REPOSITORY.match(value):
        problems.append(f"{where}.repository must be owner/name")
        return ""
    return value


def _strings(item: Mapping[str, Any], key: str, where: str, problems: list[str]) -> tuple[str, ...]:
    value = item.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append(f"{where}.{key} must be a list of non-empty strings")
        return ()
    return tuple(value)


def _required_secret(
    table: Mapping[str, Any], key: str, environ: Mapping[str, str], problems: list[str]
) -> str:
    name = table.get(key)
    if name is None:
        return ""
    if not isinstance(name, str) or not name:
        problems.append(f"github.{key} must name an environment variable")
        return ""
    value = environ.get(name, "")
    if not value:
        problems.append(f"github.{key}: the variable {name} is not set")
    return value
