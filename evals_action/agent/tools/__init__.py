"""The agent's tools: what the model may call, each limited to the rollout's origins.

A tool is a function schema (OpenAI `tools` format) plus a callable that takes the parsed
arguments and returns an `Outcome`. `Toolbox.call` is the one place a model's call is checked:
unknown tool, arguments that are not a JSON object, a URL outside the `Scope` (refused, never
sent) and any tool failure all come back to the model as a short error text, and are recorded.
"""

from __future__ import annotations

import dataclasses
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

RESULT_LIMIT = 3000  # characters of a tool result the model gets back
URL = re.compile(r"https?://[^\s\"'<>)\]]+")
WIDEN = re.compile(r"^\s*allowed origins:\s*(.+)$", re.IGNORECASE | re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one tool call gave: the text the model reads, and facts for the trace."""

    text: str
    ok: bool = True
    refused: bool = False
    page: Mapping[str, str] | None = None
    exit_code: int | None = None
    screenshot: bytes | None = None


class Refused(Exception):
    """The call would leave the rollout's origins."""


class BadArguments(Exception):
    """The model's arguments do not fit the tool."""


@dataclasses.dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: Mapping[str, Any]
    run: Callable[[Mapping[str, Any]], Outcome]

    @property
    def schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }


def origin(url: str) -> str:
    """`scheme://host[:port]`, lower-cased, default ports dropped; "" when not http(s)."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


@dataclasses.dataclass(frozen=True)
class Scope:
    """The origins tools may reach: the url map's previews, plus any the prompt widens to."""

    origins: frozenset[str]

    def allows(self, url: str) -> bool:
        return origin(url) in self.origins

    def check(self, url: str) -> None:
        if not self.allows(url):
            allowed = ", ".join(sorted(self.origins)) or "none"
            raise Refused(f"{url} is outside this rollout's origins ({allowed}); not sent")


def scope_for(*, url_map: Mapping[str, Any], prompt: str) -> Scope:
    """The url map's values; a prompt line `Allowed origins: <url> <url>` adds more. Without a
    url map, the origins of the URLs the prompt mentions."""
    origins = {origin(v) for v in url_map.values() if isinstance(v, str)}
    if not origins:
        origins = {origin(u) for u in URL.findall(prompt)}
    for line in WIDEN.findall(prompt):
        origins.update(origin(u) for u in URL.findall(line))
    return Scope(origins=frozenset(o for o in origins if o))


class Toolbox:
    """The tools offered to the model in one rollout."""

    def __init__(self, tools: Iterable[Tool]) -> None:
        self._tools = {t.name: t for t in tools}

    @property
    def schemas(self) -> list[dict[str, Any]]:
        return [t.schema for t in self._tools.values()]

    def parse(self, raw: Any) -> Mapping[str, Any]:
        """The call's arguments as an object; `BadArguments` when they are not one."""
        if isinstance(raw, Mapping):
            return raw
        try:
            value = json.loads(raw or "{}")
        except (TypeError, ValueError):
            raise BadArguments("the arguments are not valid JSON; send one JSON object") from None
        if not isinstance(value, Mapping):
            raise BadArguments("the arguments must be a JSON object")
        return value

    def call(self, *, name: str, args: Mapping[str, Any]) -> Outcome:
        tool = self._tools.get(name)
        if tool is None:
            known = ", ".join(self._tools)
            return Outcome(text=f"error: no tool named {name!r} (tools: {known})", ok=False)
        try:
            outcome = tool.run(args)
        except Refused as exc:
            return Outcome(text=f"refused: {exc}", ok=False, refused=True)
        except BadArguments as exc:
            return Outcome(text=f"error: {name}: {exc}", ok=False)
        return dataclasses.replace(outcome, text=_cut(outcome.text))


def text_arg(args: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = args.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise BadArguments(f"{name} must be a non-empty string")
    return value


def _cut(text: str) -> str:
    if len(text) <= RESULT_LIMIT:
        return text
    return text[: RESULT_LIMIT - 40] + f"… [{len(text) - RESULT_LIMIT + 40} characters cut]"
