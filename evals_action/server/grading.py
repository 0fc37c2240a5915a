"""Turn a finished rollout into a report: run the prompt's checks, score, grade, metrics.

The checks themselves are the `checks` package, one class per type (contains, regex,
json_equals, http, llm_judge, trace). The agent's final answer they read is the last assistant
message of the rollout result, else its `summary`, else the rollout's status message.

Score is the weighted share of passed checks (0-100); `outcome` is `succeeded` when every
required check passes, else `goal_not_met`, and `keyFinding` names the first failed check.
A prompt without checks takes score and outcome from the rollout result. When the agent sent a
trace (`traces`), it travels in the report's `trace` and a run that did not succeed has its
`keyFinding` name the step where it went wrong, linked on the report page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from evals_action import models, text
from evals_action.server import config, traces
from evals_action.server.checks import base as checks_base

ANSWER_LIMIT = 4000
GRADES = (
    (97, "A+"),
    (93, "A"),
    (90, "A-"),
    (87, "B+"),
    (83, "B"),
    (80, "B-"),
    (77, "C+"),
    (73, "C"),
    (70, "C-"),
    (60, "D"),
    (0, "F"),
)


@dataclasses.dataclass(frozen=True)
class Finished:
    """How the rollout ended, as the runner saw it."""

    result: Mapping[str, Any] | None
    message: str | None
    started_at: float
    finished_at: float


Context = checks_base.Context  # what checks need; the worker builds it as `grading.Context`


@dataclasses.dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str
    required: bool
    weight: float


def report(
    *, prompt: config.Prompt, finished: Finished, context: Context, slug: str, url: str
) -> dict[str, Any]:
    """The run's `report`, in the evals API's wire format (`build_report`, then `to_wire`)."""
    return build_report(
        prompt=prompt, finished=finished, context=context, slug=slug, url=url
    ).to_wire()


def build_report(
    *, prompt: config.Prompt, finished: Finished, context: Context, slug: str, url: str
) -> models.Report:
    """The run's `report`: every check run on the final answer, scored and summed up."""
    answer = final_answer(finished=finished)
    results = [
        run_check(check=c, answer=answer, finished=finished, context=context) for c in prompt.checks
    ]
    score, outcome = _score(results=results, result=finished.result)
    failed = next(
        (r for r in results if not r.passed and r.required),
        next((r for r in results if not r.passed), None),
    )
    key_finding = f"{failed.name}: {failed.detail}" if failed else None
    if key_finding is None and outcome != "succeeded":
        key_finding = (
            checks_base.content_text((finished.result or {}).get("summary")) or finished.message
        )
    trace = traces.for_report(finished.result)
    step = traces.failing_step(trace) if outcome != "succeeded" else None
    if key_finding and step is not None:
        key_finding = f"{key_finding} (trace: step {step}, {url}#step-{step})"
    return models.Report(
        slug=slug,
        url=url,
        score=score,
        grade=grade(score=score),
        outcome=outcome,
        key_finding=key_finding,
        what_didnt=key_finding,
        verdict=_verdict(results=results, outcome=outcome),
        metrics=models.Metrics.from_wire(metrics(finished=finished)),
        extra={
            "dimensions": [dataclasses.asdict(r) for r in results],
            "answer": answer[:ANSWER_LIMIT],
            # Screenshots inline; `store.Store.finish` takes the trace out (`traces.split`).
            **({"trace": trace} if trace else {}),
        },
    )


def final_answer(*, finished: Finished) -> str:
    result = finished.result or {}
    messages = result.get("messages")
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, Mapping) and message.get("role") == "assistant":
                content = checks_base.content_text(message.get("content"))
                if content:
                    return content
    return checks_base.content_text(result.get("summary")) or finished.message or ""


def grade(*, score: int | None) -> str | None:
    if score is None:
        return None
    return next(letter for floor, letter in GRADES if score >= floor)


def metrics(*, finished: Finished) -> dict[str, Any]:
    reported = (finished.result or {}).get("metrics")
    reported = reported if isinstance(reported, Mapping) else {}
    seconds = _number(reported.get("timeSeconds"))
    if seconds is None:
        seconds = max(0.0, finished.finished_at - finished.started_at)
    cost = _number(reported.get("costUsd"))
    return {
        "time": text.duration(seconds),
        "timeSeconds": round(seconds, 1),
        "cost": None if cost is None else f"${cost:.2f}",
        "costUsd": cost,
        "errors": int(_number(reported.get("errors")) or 0),
        "interruptions": int(_number(reported.get("interruptions")) or 0),
    }


def run_check(
    *, check: checks_base.Check, answer: str, finished: Finished, context: Context
) -> CheckResult:
    """Evaluate one check; an error inside a check fails that check, never the run."""
    check = check.targeted(context=context)
    passed, detail = check.run(answer=answer, result=finished.result, context=context)
    return CheckResult(
        name=check.name, passed=passed, detail=detail, required=check.required, weight=check.weight
    )


def _score(
    *, results: list[CheckResult], result: Mapping[str, Any] | None
) -> tuple[int | None, str]:
    if results:
        total = sum(r.weight for r in results) or 1.0
        passed = sum(r.weight for r in results if r.passed)
        outcome = "succeeded" if all(r.passed for r in results if r.required) else "goal_not_met"
        return round(100 * passed / total), outcome
    result = result or {}
    score = _number(result.get("score"))
    reported = result.get("outcome")
    return (
        None if score is None else round(score),
        reported if isinstance(reported, str) and reported else "succeeded",
    )


def _verdict(*, results: list[CheckResult], outcome: str) -> str:
    if not results:
        return "Succeeded" if outcome == "succeeded" else f"Did not finish ({outcome})"
    passed = sum(r.passed for r in results)
    if passed == len(results):
        return f"All {len(results)} checks passed"
    return f"{passed} of {len(results)} checks passed"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
