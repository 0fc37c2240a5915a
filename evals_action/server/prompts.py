"""The config's `[[prompts]]`: each prompt's messages, template vars, rollout target and checks.

    [[prompts]]
    id = "create-project"
    title = "Sign up and create a project"
    text = "On https://app.example.com, create a project named {{project_name}}."
    template_vars = ["project_name"]

    [prompts.rollout]
    target = "remote"             # or "github-workflow"
    url = "http://127.0.0.1:8700"

    [[prompts.checks]]            # read by the check's own class: see `checks`
    type = "contains"
    value = "{{project_name}}"

Each problem is added to `problems`, naming where it is (`prompts[0].rollout.url`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from evals_action import text
from evals_action.server import toml_values
from evals_action.server.checks import base as checks_base

TARGETS = ("remote", "github-workflow")


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
    checks: tuple[checks_base.Check, ...]
    tools: tuple[Mapping[str, Any], ...] | None = None
    timeout_minutes: float = 20.0

    @property
    def text(self) -> str:
        """The prompt as one text: the user messages' contents, joined."""
        return "\n\n".join(
            str(m.get("content", "")) for m in self.messages if m.get("role") == "user"
        )


def placeholders(*, template: str) -> set[str]:
    """The `{{name}}` template variables a text uses."""
    return {m.group(1) for m in text.TEMPLATE_VAR.finditer(template)}


def parse(
    item: Any, *, where: str, problems: list[str], environ: Mapping[str, str]
) -> Prompt | None:
    if not isinstance(item, Mapping):
        problems.append(f"{where} must be a table")
        return None
    prompt_id = toml_values.string(item, key="id", where=where, problems=problems)
    title = item.get("title") or prompt_id
    messages = _messages(item, where=where, problems=problems)
    declared = item.get("template_vars", [])
    if not isinstance(declared, list) or not all(isinstance(v, str) for v in declared):
        problems.append(f"{where}.template_vars must be a list of strings")
        declared = []
    rollout = _rollout(
        item.get("rollout"), where=f"{where}.rollout", problems=problems, environ=environ
    )
    parsed = [
        checks_base.parse(item=c, where=f"{where}.checks[{i}]", problems=problems)
        for i, c in enumerate(item.get("checks", []))
    ]
    checks = tuple(c for c in parsed if c is not None)
    used = set().union(*(placeholders(template=str(m.get("content", ""))) for m in messages))
    used |= {name for c in checks for t in c.template_texts() for name in placeholders(template=t)}
    undeclared = sorted(used - set(declared))
    if undeclared:
        problems.append(f"{where}: template vars used but not declared: {', '.join(undeclared)}")
    tools = item.get("tools")
    timeout = toml_values.positive(
        item.get("timeout_minutes", 20), where=f"{where}.timeout_minutes", problems=problems
    )
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
    item: Mapping[str, Any], *, where: str, problems: list[str]
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
    item: Any, *, where: str, problems: list[str], environ: Mapping[str, str]
) -> Rollout | None:
    if not isinstance(item, Mapping):
        problems.append(f'{where} is required: a table with target = "remote" or "github-workflow"')
        return None
    target = item.get("target")
    if target not in TARGETS:
        problems.append(f"{where}.target must be one of {', '.join(TARGETS)} (got {target!r})")
        return None
    if target == "remote":
        toml_values.string(item, key="url", where=where, problems=problems)
    else:
        toml_values.string(item, key="workflow_repo", where=where, problems=problems)
        toml_values.string(item, key="workflow", where=where, problems=problems)
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
        tracing_api_key=toml_values.secret(item.get("tracing_api_key_env"), environ=environ),
        workflow_token=toml_values.secret(
            item.get("workflow_token_env", "GITHUB_TOKEN"), environ=environ
        ),
        model_api_key=toml_values.secret(item.get("model_api_key_env"), environ=environ),
    )
