"""Eval Protocol `Status` codes (AIP-193 / gRPC codes plus its own 100-103) → `RolloutState`."""

from __future__ import annotations

import dataclasses
from typing import Any

from evals_action import models

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
    """`status.message` of a Status object, when it is a non-empty string."""
    if isinstance(value, dict) and isinstance(value.get("message"), str) and value["message"]:
        return str(value["message"])
    return None
