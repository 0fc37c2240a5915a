"""`evals-action agent --once`: one rollout inside a dispatched workflow (`github-workflow`).

The workflow receives the contract's four inputs (`completion_params`, `metadata`,
`model_base_url`, `api_key`) and passes them through `env:`; the task itself comes from a prompt
file in the repository (the action's prompt-file format: `{"title", "messages", "tools",
"completion_params"}`), whose path may name the row: `prompts/{row_id}.json`. Messages get
`{{name}}` from `metadata.template_args` and production hosts pointed at `metadata.url_map`'s
previews by the action's own `eval_protocol.prompts.target_messages`. The result is written with
`evals_action.rollout.write_result` to `rollout-result.json` for the `rollout-result` artifact.
Bad inputs raise `errors.ConfigError` (exit 2), all problems together, naming each input.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evals_action import errors, rollout
from evals_action.agent import loop, rollouts
from evals_action.eval_protocol import prompts


@dataclasses.dataclass(frozen=True)
class Inputs:
    completion_params: str
    metadata: str
    model_base_url: str
    api_key: str = dataclasses.field(repr=False)
    prompt_file: str
    result_file: Path


def request(*, inputs: Inputs) -> dict[str, Any]:
    """The InitRequest these inputs stand for; `ConfigError` listing every problem."""
    problems: list[str] = []
    params = _json_object(inputs.completion_params, "completion_params", problems)
    metadata = _json_object(inputs.metadata, "metadata", problems)
    if metadata is not None and not isinstance(metadata.get("rollout_id"), str):
        problems.append("metadata: needs a rollout_id string (the contract's correlation ids)")
    if not inputs.model_base_url.startswith(("http://", "https://")):
        problems.append("model_base_url: must be the http(s) URL of an OpenAI-compatible API")
    prompt = _prompt(inputs.prompt_file, metadata or {}, problems)
    if problems or params is None or metadata is None or prompt is None:
        raise errors.ConfigError(problems)
    url_map = loop.mapping(metadata.get("url_map"))
    messages = prompts.target_messages(
        messages=prompt["messages"],
        template_args=loop.mapping(metadata.get("template_args")),
        url_map={str(host): str(preview) for host, preview in url_map.items()},
    )
    return {
        "completion_params": {**(prompt.get("completion_params") or {}), **params},
        "messages": messages,
        "tools": prompt.get("tools"),
        "model_base_url": inputs.model_base_url,
        "metadata": metadata,
        "api_key": inputs.api_key or None,
    }


def run(*, inputs: Inputs, settings: rollouts.Settings) -> rollouts.Finished:
    """Run the rollout and write its result file; the status says how it ended."""
    finished = rollouts.execute(request=request(inputs=inputs), settings=settings)
    fields = {k: v for k, v in finished.result.items() if k != "schema"}
    rollout.write_result(inputs.result_file, **fields)
    return finished


def _json_object(text: str, name: str, problems: list[str]) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        problems.append(f"{name}: not valid JSON; pass the workflow input unchanged")
        return None
    if not isinstance(value, dict):
        problems.append(f"{name}: must be a JSON object")
        return None
    return value


def _prompt(
    template: str, metadata: Mapping[str, Any], problems: list[str]
) -> dict[str, Any] | None:
    if not template:
        problems.append("--prompt-file: required with --once (the task's messages)")
        return None
    path = Path(template.replace("{row_id}", str(metadata.get("row_id") or "")))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        problems.append(f"--prompt-file: cannot read {path} ({exc.strerror})")
        return None
    except ValueError:
        problems.append(f"--prompt-file: {path} is not valid JSON")
        return None
    messages = data.get("messages") if isinstance(data, dict) else None
    if (
        not isinstance(messages, list)
        or not messages
        or not all(isinstance(m, dict) for m in messages)
    ):
        problems.append(f"--prompt-file: {path} needs a non-empty messages list")
        return None
    return dict(data)
