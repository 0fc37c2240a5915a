"""The rollout result (`rollout-contracts.md`, Result), both ways.

- `check_result`: the result's JSON, checked against schema 1;
- `report_from_result`: a result → a `models.Report` (`summary` → `summary.whatDidnt`,
  `report_url` → `url`); `result_from_report` turns it back into a result;
- `run_from_state`: one `RolloutState` → a `models.Run`; a finished rollout with no verdict of
  its own succeeded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evals_action import models
from evals_action.eval_protocol import states

RESULT_SCHEMA = 1
RESULT_FILE = "rollout-result.json"
RESULT_ARTIFACT = "rollout-result"
# Result field → report field, for the fields that travel as they are.
_SAME = ("outcome", "score", "grade")


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
    for key in _SAME:
        if result.get(key) is not None:
            shaped[key] = result[key]
    if result.get("report_url"):
        shaped["url"] = result["report_url"]
    if result.get("summary"):
        shaped["summary"] = {"whatDidnt": result["summary"]}
    if isinstance(result.get("metrics"), dict):
        shaped["metrics"] = dict(result["metrics"])
    return models.Report.from_wire(shaped)


def result_from_report(report: models.Report) -> dict[str, Any]:
    """`report_from_result` backwards: the result a report was made from.

    Read from `raw`, the report as it was built, so metrics the model does not hold survive.
    """
    raw = report.raw
    result = {key: raw[key] for key in _SAME if key in raw}
    if "url" in raw:
        result["report_url"] = raw["url"]
    if report.what_didnt:
        result["summary"] = report.what_didnt
    if "metrics" in raw:
        result["metrics"] = raw["metrics"]
    return result


def run_from_state(
    *,
    state: states.RolloutState,
    run_id: str,
    run_url: str,
    status_url: str = "",
    title: str | None = None,
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
            report = models.Report.from_wire(raw)
    elif state.status in (models.FAILED, models.TIMED_OUT):
        failure = state.message
    return models.Run(
        run_id=run_id,
        status=state.status,
        run_url=run_url,
        status_url=status_url,
        failure_reason=failure,
        prompt_title=title,
        prompt_text=text,
        report=report,
    )
