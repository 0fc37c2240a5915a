"""What both rollout backends (and the self-hosted server) share (`rollout-contracts.md`, Shared).

- `load_prompt` reads the prompt file and merges `completion-params` over its own.
- `target_messages` applies preview targeting: `{{name}}` template vars and url-map hosts.
- `Correlation` holds the five ids; `metadata` and `init_request` build what goes to the agent.
- `state_from_status` maps an Eval Protocol `Status` code to a `RolloutState`.
- `run_from_state` / `report_from_result` turn a rollout (and its optional result) into `models`.
- `redact` removes secrets from any text that may echo a request body.
"""

from __future__ import annotations

import dataclasses
import json
import re
import string
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from evals_action import errors, models, settings, text
from evals_action.backends import evals_api, tracing

# Eval Protocol `Status` codes (AIP-193 / gRPC codes plus its own 100-103).
CODE_OK = 0
CODE_DEADLINE_EXCEEDED = 4
CODE_FINISHED = 100
CODE_RUNNING = 101
CODE_SCORE_INVALID = 102
CODE_RESPONSE_QUALITY_ERROR = 103
# Codes that finish the rollout without a usable answer: completed, did not finish.
DNF_OUTCOMES = {
    CODE_SCORE_INVALID: "score_invalid",
    CODE_RESPONSE_QUALITY_ERROR: "response_quality_error",
}

RESULT_SCHEMA = 1
RESULT_FILE = "rollout-result.json"
RESULT_ARTIFACT = "rollout-result"


@dataclasses.dataclass(frozen=True)
class RolloutState:
    """One observation of a rollout, whatever reported it.

    `status` is `models.RUNNING`, `COMPLETED`, `FAILED` or `TIMED_OUT`; `message` is the agent's
    status message; `result` the rollout result (`rollout-contracts.md`), when one was sent.
    """

    terminal: bool
    status: str
    message: str | None = None
    result: dict[str, Any] | None = None


RUNNING_STATE = RolloutState(terminal=False, status=models.RUNNING)


@dataclasses.dataclass(frozen=True)
class Prompt:
    """The prompt file, with `completion-params` already merged in."""

    title: str | None
    messages: tuple[dict[str, Any], ...]
    tools: list[Any] | None
    completion_params: dict[str, Any]


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


# --- the prompt file ---------------------------------------------------------------------------


def load_prompt(*, rollout: settings.RolloutSettings) -> Prompt:
    """Read `prompt-file` and merge `completion-params` over its `completion_params`.

    Raises `errors.ConfigError` listing every problem, before any network call.
    """
    path = rollout.prompt_file
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
    return parse_prompt(data, name=path, overrides=rollout.completion_params)


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


# --- preview targeting -------------------------------------------------------------------------


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


# --- correlation and the request ---------------------------------------------------------------


def new_id() -> str:
    return uuid.uuid4().hex


def correlation(
    *,
    settings_: settings.Settings,
    target: models.Target,
    make_id: Callable[[], str] = new_id,
) -> Correlation:
    """The five ids: inputs win, else derived from the run and the PR, else random."""
    rollout = settings_.rollout
    gh = settings_.github
    invocation = rollout.invocation_id
    if not invocation:
        invocation = (
            f"gh-{gh.run_id}-{gh.run_attempt or '1'}" if gh.run_id else f"local-{make_id()}"
        )
    experiment = rollout.experiment_id
    if not experiment:
        experiment = (
            f"{target.repository}#{target.pr_number}"
            if target.repository and target.pr_number
            else make_id()
        )
    return Correlation(
        invocation_id=invocation,
        experiment_id=experiment,
        rollout_id=rollout.rollout_id or make_id(),
        run_id=rollout.correlation_run_id or make_id(),
        row_id=rollout.row_id or settings_.prompt_id,
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
    prompt: Prompt,
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


# --- status codes and results ------------------------------------------------------------------


def state_from_status(
    *, code: int | None, message: str | None, result: dict[str, Any] | None = None
) -> RolloutState:
    """Map an Eval Protocol `Status` code (`None` = not reported yet) to a `RolloutState`.

    101 or none → running; 100 (and 0, OK) → completed; 4 → timed out; 102 and 103 → completed,
    did not finish (the result's outcome says so); every other code → failed with its message.
    """
    if code is None or code == CODE_RUNNING:
        return RolloutState(terminal=False, status=models.RUNNING, message=message, result=result)
    if code in (CODE_FINISHED, CODE_OK):
        return RolloutState(terminal=True, status=models.COMPLETED, message=message, result=result)
    if code == CODE_DEADLINE_EXCEEDED:
        return RolloutState(
            terminal=True,
            status=models.TIMED_OUT,
            message=message or "The rollout's deadline was exceeded (status code 4)",
            result=result,
        )
    if code in DNF_OUTCOMES:
        return RolloutState(
            terminal=True,
            status=models.COMPLETED,
            message=message,
            result=_dnf_result(code=code, message=message, result=result),
        )
    return RolloutState(
        terminal=True,
        status=models.FAILED,
        message=message or f"The rollout failed with status code {code}",
        result=result,
    )


def _dnf_result(*, code: int, message: str | None, result: dict[str, Any] | None) -> dict[str, Any]:
    shaped = dict(result or {})
    if shaped.get("outcome") in (None, "", "succeeded"):
        shaped["outcome"] = DNF_OUTCOMES[code]
    if not shaped.get("summary"):
        shaped["summary"] = message or f"The rollout ended with status code {code}"
    return shaped


def status_code(value: Any) -> int | None:
    """`status.code` of a Status object, or None when absent or not a number."""
    if not isinstance(value, dict):
        return None
    code = value.get("code")
    if isinstance(code, bool) or not isinstance(code, (int, float)):
        return None
    return int(code)


def status_message(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("message"), str) and value["message"]:
        return str(value["message"])
    return None


def check_result(value: Any) -> dict[str, Any]:
    """A rollout result's JSON, checked; `ValueError` saying what is wrong."""
    if not isinstance(value, dict):
        raise ValueError("the rollout result must be a JSON object")
    schema = value.get("schema", RESULT_SCHEMA)
    if schema != RESULT_SCHEMA:
        raise ValueError(f"unsupported rollout result schema {schema!r} (expected 1)")
    score = value.get("score")
    if score is not None and (
        isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 100
    ):
        raise ValueError("the rollout result's score must be a number from 0 to 100 or null")
    for key in ("outcome", "grade", "summary", "report_url"):
        if value.get(key) is not None and not isinstance(value[key], str):
            raise ValueError(f"the rollout result's {key} must be a string")
    if value.get("metrics") is not None and not isinstance(value["metrics"], dict):
        raise ValueError("the rollout result's metrics must be an object")
    return value


def report_from_result(result: Mapping[str, Any]) -> models.Report | None:
    """The rollout result as an evals-API `report` (`summary` → `summary.whatDidnt`)."""
    shaped: dict[str, Any] = {}
    for key in ("outcome", "score", "grade"):
        if result.get(key) is not None:
            shaped[key] = result[key]
    if result.get("report_url"):
        shaped["url"] = result["report_url"]
    if result.get("summary"):
        shaped["summary"] = {"whatDidnt": result["summary"]}
    if isinstance(result.get("metrics"), dict):
        shaped["metrics"] = dict(result["metrics"])
    return evals_api.parse_report(shaped)


def run_from_state(
    *,
    state: RolloutState,
    run_id: str,
    run_url: str,
    status_url: str = "",
    prompt: Prompt | None = None,
    text: str | None = None,
) -> models.Run:
    """A `models.Run` from one observation; a finished rollout without a result succeeded."""
    report: models.Report | None = None
    failure: str | None = None
    if state.status == models.COMPLETED:
        report = report_from_result(state.result or {})
        if report is None or (report.outcome is None and report.score is None):
            # Finished without a verdict of its own: the rollout succeeded.
            raw = {**(report.raw if report else {}), "outcome": "succeeded"}
            report = evals_api.parse_report(raw)
    elif state.status in (models.FAILED, models.TIMED_OUT):
        failure = state.message
    return models.Run(
        run_id=run_id,
        status=state.status,
        run_url=run_url,
        status_url=status_url,
        failure_reason=failure,
        prompt_title=prompt.title if prompt else None,
        prompt_text=text,
        report=report,
    )


# --- secrets -----------------------------------------------------------------------------------


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret replaced by `***` (`redaction.Secrets`: escaped forms too)."""
    from evals_action import redaction

    return redaction.Secrets(s for s in secrets if s).redact(text)
