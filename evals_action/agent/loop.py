"""One rollout: the model/tool loop, from an `InitRequest` to a rollout result.

    messages = the request's messages (a short system message first when it has none)
    until the model answers without tool calls, or a limit stops it:
        ask the model (tools: the toolbox's schemas) → run each tool call → append the results

Every model call and tool call is a step of the `Trace`. A limit (steps, time, tokens, cost)
ends the rollout normally, with outcome `limit_reached` and the stop reason as its summary; a
model that cannot be reached ends it with `Failed` (Eval Protocol status 13), still with the
trace so far. Collaborators (model client, toolbox, clock) are passed in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from evals_action.agent import limits, model, tools, trace

SYSTEM = (
    "You are an agent testing a web app or CLI for its developers. Use the tools to do the "
    "task for real; the tools only reach the app under test ({origins}). When you are done, "
    "answer in plain text, without tool calls, saying what you did and what you saw."
)
MESSAGE_TEXT_LIMIT = 1000  # characters of a tool result kept in the result's messages
LIMIT_REACHED = "limit_reached"


class Failed(Exception):
    """The rollout could not go on (the model failed); `result` is what there is so far."""

    def __init__(self, message: str, *, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


@dataclasses.dataclass(frozen=True)
class Rollout:
    """What the loop needs for one rollout."""

    rollout_id: str
    messages: Sequence[Mapping[str, Any]]
    client: model.Client
    toolbox: tools.Toolbox
    budget: limits.Budget
    scope: tools.Scope


def run(*, rollout: Rollout, clock: Callable[[], float]) -> dict[str, Any]:
    """Do the rollout; the rollout result (raises `Failed` when the model fails)."""
    steps = trace.Trace(clock=clock)
    messages = _opening(rollout.messages, scope=rollout.scope)
    errors_seen = 0
    answer = ""
    while True:
        reason = rollout.budget.stop_reason()
        if reason:
            steps.stop(reason=f"Stopped: {reason}")
            break
        step = steps.begin(kind="model", name="model", args={"messages": len(messages)})
        try:
            reply = rollout.client.complete(messages=messages, tools=rollout.toolbox.schemas)
        except model.ModelError as exc:
            steps.end(step, summary="", error=str(exc))
            steps.stop(reason=str(exc), step=step.index)
            raise Failed(
                str(exc), result=_result(rollout, steps, messages, "", errors_seen + 1)
            ) from None
        rollout.budget.steps += 1
        rollout.budget.charge(usage=reply.usage)
        message = {k: v for k, v in reply.message.items() if v is not None}
        messages.append(message)
        calls = [c for c in message.get("tool_calls") or [] if isinstance(c, Mapping)]
        answer = text(message.get("content"))
        steps.end(step, summary=answer or _call_names(calls), error=None)
        if not calls:
            break
        for call in calls:
            outcome = _call(call=call, toolbox=rollout.toolbox, steps=steps)
            errors_seen += 0 if outcome.ok else 1
            messages.append(
                {"role": "tool", "tool_call_id": str(call.get("id") or ""), "content": outcome.text}
            )
    return _result(rollout, steps, messages, answer, errors_seen)


def _call(*, call: Mapping[str, Any], toolbox: tools.Toolbox, steps: trace.Trace) -> tools.Outcome:
    function = mapping(call.get("function"))
    name = str(function.get("name") or "")
    raw = function.get("arguments")
    try:
        args = toolbox.parse(raw)
    except tools.BadArguments as exc:
        step = steps.begin(kind="tool", name=name, args={"raw": str(raw)[:300]})
        outcome = tools.Outcome(text=f"error: {name}: {exc}", ok=False)
        steps.end(step, summary=outcome.text, ok=False, error=str(exc))
        return outcome
    step = steps.begin(kind="tool", name=name, args=args)
    outcome = toolbox.call(name=name, args=args)
    steps.end(step, summary=outcome.text, ok=outcome.ok, error=None if outcome.ok else outcome.text)
    step.refused, step.page, step.exit_code = outcome.refused, outcome.page, outcome.exit_code
    if outcome.screenshot:
        steps.attach_screenshot(step, data=outcome.screenshot)
    return outcome


def _opening(messages: Sequence[Mapping[str, Any]], *, scope: tools.Scope) -> list[dict[str, Any]]:
    opening = [dict(m) for m in messages if isinstance(m, Mapping)]
    if not any(m.get("role") == "system" for m in opening):
        origins = ", ".join(sorted(scope.origins)) or "no origins"
        opening.insert(0, {"role": "system", "content": SYSTEM.format(origins=origins)})
    return opening


def _result(
    rollout: Rollout,
    steps: trace.Trace,
    messages: Sequence[Mapping[str, Any]],
    answer: str,
    errors_seen: int,
) -> dict[str, Any]:
    summary = steps.stop_reason or (answer.splitlines()[0] if answer else "no answer")
    result: dict[str, Any] = {
        "schema": 1,
        "rollout_id": rollout.rollout_id,
        "summary": trace.cut(summary, limit=300),
        "metrics": rollout.budget.metrics(errors_seen=errors_seen),
        "messages": [_small(m) for m in messages],
        **steps.to_result(),
    }
    if steps.stop_reason:
        result["outcome"] = LIMIT_REACHED
    return result


def _small(message: Mapping[str, Any]) -> dict[str, Any]:
    if message.get("role") == "tool":
        return {
            **message,
            "content": trace.cut(text(message.get("content")), limit=MESSAGE_TEXT_LIMIT),
        }
    return dict(message)


def mapping(value: Any) -> Mapping[str, Any]:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def text(value: Any) -> str:
    """A message's content as text (OpenAI content parts joined)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return " ".join(str(p.get("text", "")) for p in value if isinstance(p, Mapping)).strip()
    return ""


def _call_names(calls: Sequence[Mapping[str, Any]]) -> str:
    names = [str((c.get("function") or {}).get("name") or "?") for c in calls]
    return "calls " + ", ".join(names) if names else "no answer"
