"""The prompt: its file, preview targeting and the text a human reads.

- `load_prompt` / `parse_prompt` read and check a prompt file, overrides merged in;
- `target_messages` fills `{{name}}` template vars and points production hosts at the preview
  (`fill_template`, `replace_hosts`);
- `prompt_text` / `message_text`: the user messages' text, for the comment's prompt block.
"""

from __future__ import annotations

import dataclasses
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from evals_action import errors, text


@dataclasses.dataclass(frozen=True)
class Prompt:
    """The prompt file, with `completion-params` already merged in."""

    title: str | None
    messages: tuple[dict[str, Any], ...]
    tools: list[Any] | None
    completion_params: dict[str, Any]


def load_prompt(*, path: str, overrides: Mapping[str, Any] | None) -> Prompt:
    """Read the prompt file at `path` and merge `overrides` over its `completion_params`.

    Raises `errors.ConfigError` listing every problem, before any network call.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError as exc:
        raise errors.ConfigError(
            [f"prompt-file '{path}' was not found (paths are relative to the repository root)"]
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.ConfigError([f"prompt-file '{path}' cannot be read: {exc}"]) from exc
    except json.JSONDecodeError as exc:
        raise errors.ConfigError(
            [f"prompt-file '{path}' must be valid JSON: {exc.msg} at line {exc.lineno}"]
        ) from exc
    return parse_prompt(data, name=path, overrides=overrides)


def parse_prompt(data: Any, *, name: str, overrides: Mapping[str, Any] | None = None) -> Prompt:
    """Check a prompt file's JSON; `ConfigError` with every problem found."""
    if not isinstance(data, dict):
        raise errors.ConfigError([f"prompt-file '{name}' must be a JSON object"])
    problems: list[str] = []
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        problems.append(f"prompt-file '{name}' needs a non-empty 'messages' list")
        messages = []
    elif not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        problems.append(f"prompt-file '{name}': every message needs a 'role'")
    tools = data.get("tools")
    if tools is not None and not isinstance(tools, list):
        problems.append(f"prompt-file '{name}': 'tools' must be a list")
        tools = None
    params = data.get("completion_params") or {}
    if not isinstance(params, dict):
        problems.append(f"prompt-file '{name}': 'completion_params' must be an object")
        params = {}
    merged = {**params, **(overrides or {})}
    if not isinstance(merged.get("model"), str) or not merged["model"].strip():
        problems.append(
            "completion-params must name a 'model' (in the input or the prompt file's "
            "completion_params)"
        )
    if problems:
        raise errors.ConfigError(problems)
    title = data.get("title")
    return Prompt(
        title=title if isinstance(title, str) and title.strip() else None,
        messages=tuple(dict(m) for m in messages),
        tools=tools,
        completion_params=merged,
    )


def target_messages(
    *,
    messages: Iterable[Mapping[str, Any]],
    template_args: Mapping[str, Any] | None,
    url_map: Mapping[str, str],
) -> list[dict[str, Any]]:
    """Every message with `{{name}}` replaced and each production host pointed at its preview."""

    def apply(text: str) -> str:
        return replace_hosts(fill_template(text, template_args or {}), url_map)

    return [_map_content(dict(message), apply) for message in messages]


def fill_template(template: str, args: Mapping[str, Any]) -> str:
    """`{{name}}` (spaces allowed inside the braces) → the var's value; unknown names stay."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in args:
            return match.group(0)
        found = args[name]
        return found if isinstance(found, str) else json.dumps(found)

    return text.TEMPLATE_VAR.sub(value, template)


def replace_hosts(text: str, url_map: Mapping[str, str]) -> str:
    """Each production hostname (whole host only, not a sub- or super-domain) → the preview host."""
    for host, preview in url_map.items():
        target = urllib.parse.urlsplit(preview).netloc
        if not host or not target:
            continue
        pattern = re.compile(r"(?<![\w.-])" + re.escape(host) + r"(?![\w-]|\.\w)")
        text = pattern.sub(target.replace("\\", "\\\\"), text)
    return text


def _map_content(message: dict[str, Any], apply: Callable[[str], str]) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, str):
        message["content"] = apply(content)
    elif isinstance(content, list):
        message["content"] = [
            {**part, "text": apply(part["text"])}
            if isinstance(part, dict) and isinstance(part.get("text"), str)
            else part
            for part in content
        ]
    return message


def prompt_text(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """The user messages' text, for the comment's prompt block."""
    texts = [message_text(m) for m in messages if m.get("role") == "user"]
    joined = "\n\n".join(t for t in texts if t)
    return joined or None


def message_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""
