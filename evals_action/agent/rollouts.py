"""From an Eval Protocol `InitRequest` to a finished rollout: set up, run the loop, clean up.

`Settings` is what the agent was started with (one place builds it: `cli.py`). `execute` builds
one rollout's collaborators (HTTP session, model client, browser, scratch directory, budget),
runs `loop.run` and always releases them. It answers an Eval Protocol `Status` and the rollout
result; the request's `api_key` is scrubbed from the result, whatever the model echoed.

Which tools a rollout gets: the request's `tools`, when it names some of ours (`http_request`,
`browser_*`, `shell`), else the agent's `--tools` (default: browser and http).
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import requests

from evals_action import rollout
from evals_action.agent import limits as budgets
from evals_action.agent import loop, model, tools
from evals_action.agent.tools import browser, shell
from evals_action.agent.tools import http as http_tool

GROUPS = ("browser", "http", "shell")


@dataclasses.dataclass(frozen=True)
class Settings:
    chromium: str | None  # resolved executable; None when the browser is not offered
    limits: budgets.Limits = budgets.Limits()
    prices: Mapping[str, budgets.Price] = dataclasses.field(default_factory=dict)
    groups: tuple[str, ...] = ("browser", "http")
    shell_timeout: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


@dataclasses.dataclass(frozen=True)
class Finished:
    status: rollout.Status
    result: dict[str, Any]


def rollout_id(request: Mapping[str, Any]) -> str | None:
    metadata = request.get("metadata")
    value = metadata.get("rollout_id") if isinstance(metadata, Mapping) else None
    return value if isinstance(value, str) and value else None


def execute(*, request: Mapping[str, Any], settings: Settings) -> Finished:
    """Run one rollout to its end; never raises for the rollout's own failures."""
    ident = rollout_id(request) or "unknown"
    api_key = str(request.get("api_key") or "")
    scope = _scope(request)
    groups = _groups(request, settings)
    session = requests.Session()
    agent_browser = (
        browser.Browser(executable=settings.chromium, scope=scope)
        if "browser" in groups and settings.chromium
        else None
    )
    try:
        with tempfile.TemporaryDirectory(prefix="evals-agent-") as scratch:
            toolbox = tools.Toolbox(
                _tools(
                    groups,
                    settings,
                    scope=scope,
                    session=session,
                    agent_browser=agent_browser,
                    scratch=Path(scratch),
                )
            )
            params = dict(request.get("completion_params") or {})
            client = model.Client(
                session=session,
                base_url=str(request.get("model_base_url") or ""),
                api_key=api_key,
                params=params,
                sleep=settings.sleep,
            )
            budget = budgets.Budget(
                limits=settings.limits,
                price=settings.prices.get(str(params.get("model", ""))),
                clock=settings.clock,
            )
            work = loop.Rollout(
                rollout_id=ident,
                messages=list(request.get("messages") or []),
                client=client,
                toolbox=toolbox,
                budget=budget,
                scope=scope,
            )
            try:
                result = loop.run(rollout=work, clock=settings.clock)
                status = rollout.Status.rollout_finished()
            except loop.Failed as exc:
                result = exc.result
                status = rollout.Status.rollout_error(f"agent error: {exc}")
    finally:
        if agent_browser is not None:
            agent_browser.close()
        session.close()
    return Finished(status=_scrub_status(status, api_key), result=scrub(result, api_key))


def problem(request: Any) -> str | None:
    """Why a request cannot start a rollout (the service answers 422), else None."""
    if not isinstance(request, Mapping):
        return "the body must be a JSON object (an Eval Protocol InitRequest)"
    if rollout_id(request) is None:
        return "metadata.rollout_id is required"
    if not isinstance(request.get("model_base_url"), str) or not request["model_base_url"]:
        return "model_base_url is required: an OpenAI-compatible endpoint the agent can call"
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list"
    return None


def _scope(request: Mapping[str, Any]) -> tools.Scope:
    metadata = loop.mapping(request.get("metadata"))
    url_map = loop.mapping(metadata.get("url_map"))
    prompt = "\n".join(
        loop.text(m.get("content"))
        for m in request.get("messages") or []
        if isinstance(m, Mapping) and m.get("role") in ("system", "user")
    )
    return tools.scope_for(url_map=url_map, prompt=prompt)


def _groups(request: Mapping[str, Any], settings: Settings) -> tuple[str, ...]:
    names = {
        str((t.get("function") or {}).get("name") or t.get("name") or "")
        for t in request.get("tools") or []
        if isinstance(t, Mapping)
    }
    asked = tuple(
        g
        for g in GROUPS
        if any(n == g or n.startswith(f"{g}_") or n == f"{g}_request" for n in names)
    )
    return asked or settings.groups


def _tools(
    groups: tuple[str, ...],
    settings: Settings,
    *,
    scope: tools.Scope,
    session: requests.Session,
    agent_browser: browser.Browser | None,
    scratch: Path,
) -> list[tools.Tool]:
    chosen: list[tools.Tool] = []
    if "browser" in groups and agent_browser is not None:
        chosen += browser.toolset(browser=agent_browser, scope=scope)
    if "http" in groups:
        chosen.append(http_tool.tool(session=session, scope=scope))
    if "shell" in groups:
        chosen.append(shell.tool(directory=scratch, timeout=settings.shell_timeout))
    return chosen


def scrub(result: dict[str, Any], secret: str) -> dict[str, Any]:
    """`result` with `secret` (and its JSON-escaped form) replaced by `***`."""
    if not secret:
        return result
    text = json.dumps(result)
    for form in {secret, json.dumps(secret)[1:-1]}:
        text = text.replace(form, "***")
    scrubbed: dict[str, Any] = json.loads(text)
    return scrubbed


def _scrub_status(status: rollout.Status, secret: str) -> rollout.Status:
    if secret and secret in status.message:
        return dataclasses.replace(status, message=status.message.replace(secret, "***"))
    return status
