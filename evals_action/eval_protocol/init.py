"""What goes to the agent: the five correlation ids, their metadata and the `InitRequest`.

- `Correlation` holds the ids (`rollout-contracts.md`, Correlation IDs); `correlation` derives
  them from `IdInputs`;
- `metadata` is the ids plus `url_map` and `template_args`;
- `init_request` builds Eval Protocol's `InitRequest` (a tracing proxy's `model_base_url`
  carries the ids, `tracing.model_url`);
- `shell_safe_json` is compact JSON a workflow can paste into a shell script.
"""

from __future__ import annotations

import dataclasses
import json
import string
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from evals_action.eval_protocol import prompts, tracing


@dataclasses.dataclass(frozen=True)
class Correlation:
    """The five correlation ids, all strings (`rollout-contracts.md`, Correlation IDs)."""

    invocation_id: str
    experiment_id: str
    rollout_id: str
    run_id: str
    row_id: str

    def as_metadata(self) -> dict[str, str]:
        return {
            "invocation_id": self.invocation_id,
            "experiment_id": self.experiment_id,
            "rollout_id": self.rollout_id,
            "run_id": self.run_id,
            "row_id": self.row_id,
        }

    def outputs(self) -> dict[str, str]:
        """Step outputs, named as in `action.yml`."""
        return {
            "invocation-id": self.invocation_id,
            "experiment-id": self.experiment_id,
            "rollout-id": self.rollout_id,
            "correlation-run-id": self.run_id,
            "row-id": self.row_id,
        }


def new_id() -> str:
    return uuid.uuid4().hex


@dataclasses.dataclass(frozen=True)
class IdInputs:
    """What the five ids are derived from; `""` (or None) means "not given"."""

    invocation_id: str = ""
    experiment_id: str = ""
    rollout_id: str = ""
    run_id: str = ""
    row_id: str = ""
    # The GitHub Actions run (for `gh-<run>-<attempt>`) and the pull request (`owner/repo#12`).
    github_run_id: str = ""
    github_run_attempt: str = ""
    repository: str | None = None
    pr_number: int | None = None
    prompt_id: str = ""


def correlation(*, given: IdInputs, make_id: Callable[[], str] = new_id) -> Correlation:
    """The five ids: inputs win, else derived from the run and the PR, else random."""
    invocation = given.invocation_id
    if not invocation:
        invocation = (
            f"gh-{given.github_run_id}-{given.github_run_attempt or '1'}"
            if given.github_run_id
            else f"local-{make_id()}"
        )
    experiment = given.experiment_id
    if not experiment:
        experiment = (
            f"{given.repository}#{given.pr_number}"
            if given.repository and given.pr_number
            else make_id()
        )
    return Correlation(
        invocation_id=invocation,
        experiment_id=experiment,
        rollout_id=given.rollout_id or make_id(),
        run_id=given.run_id or make_id(),
        row_id=given.row_id or given.prompt_id,
    )


def metadata(
    *,
    ids: Correlation,
    url_map: Mapping[str, str],
    template_args: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The five ids plus `url_map` and `template_args` (extra keys agents may ignore)."""
    return {
        **ids.as_metadata(),
        "url_map": dict(url_map),
        "template_args": dict(template_args or {}),
    }


# Characters a string keeps as they are in `shell_safe_json`; every other one becomes `\uXXXX`.
_SHELL_SAFE = frozenset(string.ascii_letters + string.digits + " -_.,:/@#%+=~")


def shell_safe_json(value: Any) -> str:
    """Compact JSON that a shell cannot misread when a workflow pastes it inside quotes.

    Inside strings, every character but letters, digits, space and `-_.,:/@#%+=~` is written as
    a `\\uXXXX` escape: `'` `"` `` ` `` `$` `\\` `!` `<` `>` `&` `;` `|` `(` `)`, non-ASCII and
    control characters. So `'${{ inputs.metadata }}'` in a `run:` script stays one argument
    whatever the values hold, and the text still parses to the same value
    (`json.loads`, `fromJSON`).
    """
    if isinstance(value, str):
        return '"' + "".join(_shell_safe_char(c) for c in value) + '"'
    if isinstance(value, Mapping):
        items = (
            shell_safe_json(k if isinstance(k, str) else json.dumps(k)) + ":" + shell_safe_json(v)
            for k, v in value.items()
        )
        return "{" + ",".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(shell_safe_json(v) for v in value) + "]"
    return json.dumps(value)


def _shell_safe_char(char: str) -> str:
    if char in _SHELL_SAFE:
        return char
    units = char.encode("utf-16-be")  # two code units (a surrogate pair) above U+FFFF
    return "".join(
        f"\\u{int.from_bytes(units[i : i + 2], 'big'):04x}" for i in range(0, len(units), 2)
    )


def init_request(
    *,
    prompt: prompts.Prompt,
    messages: Sequence[Mapping[str, Any]],
    meta: Mapping[str, Any],
    model_base_url: str,
    api_key: str,
) -> dict[str, Any]:
    """Eval Protocol's `InitRequest`; every key is present, `null` when unset.

    A tracing proxy's `model_base_url` carries the correlation ids (`tracing.model_url`).
    """
    model_url = tracing.model_url(
        base_url=model_base_url, metadata=meta, completion_params=prompt.completion_params
    )
    return {
        "completion_params": dict(prompt.completion_params),
        "messages": [dict(m) for m in messages],
        "tools": list(prompt.tools) if prompt.tools is not None else None,
        "model_base_url": model_url or None,
        "metadata": dict(meta),
        "api_key": api_key or None,
    }


@dataclasses.dataclass(frozen=True)
class Targeted:
    """A prompt aimed at one preview: its messages filled in, and the metadata that goes along."""

    messages: list[dict[str, Any]]
    meta: dict[str, Any]

    @property
    def text(self) -> str | None:
        """The user messages' text, for the comment's prompt block."""
        return prompts.prompt_text(self.messages)


def targeted(
    *,
    messages: Sequence[Mapping[str, Any]],
    ids: Correlation,
    url_map: Mapping[str, str],
    template_args: Mapping[str, Any] | None,
) -> Targeted:
    """`messages` with template vars filled and hosts pointed at the preview, plus `metadata`."""
    return Targeted(
        messages=prompts.target_messages(
            messages=messages, template_args=template_args, url_map=url_map
        ),
        meta=metadata(ids=ids, url_map=url_map, template_args=template_args),
    )
