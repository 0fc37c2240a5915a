"""The results document (suites-contract §5, schema `evals_action/schemas/results.schema.json`)
and the JUnit XML of `junit-file`: pure functions of a `SuiteResult`."""

from __future__ import annotations

import json
import pathlib
import xml.etree.ElementTree as ET
from typing import Any

from evals_action import suite_model
from evals_action.suite import sample

SCHEMA = "evals-action/results@1"
SCHEMA_PATH = pathlib.Path(__file__).resolve().parent.parent / "schemas" / "results.schema.json"


def document(result: suite_model.SuiteResult) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "prompts": [_prompt(p) for p in result.prompts],
        "budgetExhausted": result.budget_exhausted,
        "totalCostUsd": _money(result.total_cost_usd),
    }


def compact(result: suite_model.SuiteResult) -> str:
    return json.dumps(document(result), separators=(",", ":"), ensure_ascii=False)


def _prompt(prompt: suite_model.PromptResult) -> dict[str, Any]:
    s = sample.of(prompt)
    return {
        "promptId": prompt.prompt_id,
        "title": prompt.title,
        "verdict": prompt.verdict,
        "gates": list(prompt.gates_failed),
        "sample": {
            "runs": s.runs,
            "completed": s.completed,
            "passes": s.passes,
            "passRate": s.pass_rate,
            "passRateLow": s.pass_rate_low,
            "passRateHigh": s.pass_rate_high,
            "meanScore": s.mean_score,
            "scoreLow": s.score_low,
            "scoreHigh": s.score_high,
            "costUsd": _money(s.cost_usd),
        },
        "baseline": _baseline(prompt.baseline),
        "runs": [_run(a) for a in prompt.attempts],
    }


def _baseline(baseline: suite_model.Baseline | None) -> dict[str, Any] | None:
    if baseline is None:
        return None
    return {"runs": baseline.runs, "passRate": baseline.pass_rate, "meanScore": baseline.mean_score}


def _run(attempt: suite_model.Attempt) -> dict[str, Any]:
    run = attempt.run
    report = run.report if run else None
    return {
        "runId": run.run_id if run else None,
        "attempt": attempt.attempt,
        "status": status_of(attempt),
        "outcome": report.outcome if report else None,
        "score": report.score if report else None,
        "grade": report.grade if report else None,
        "reportUrl": (report.url if report else None) or (run.run_url if run else None) or None,
        "costUsd": attempt.cost_usd,
    }


def status_of(attempt: suite_model.Attempt) -> str:
    """How one run ended, in one word: succeeded, dnf, failed, superseded, timeout, unavailable,
    cancelled, or not-run."""
    return attempt.result.kind if attempt.result else suite_model.NOT_RUN


def _money(value: float) -> float:
    return round(value, 6)


def junit(result: suite_model.SuiteResult) -> str:
    """One testsuite, one testcase per prompt (failure when it did not pass), one property per
    run: the shape JUnit report actions (dorny/test-reporter, mikepenz/action-junit-report) read."""
    suites = ET.Element("testsuites", name="evals-action")
    suite = ET.SubElement(suites, "testsuite", name=f"evals {result.comment_key}".strip())
    failures = 0
    for prompt in result.prompts:
        s = sample.of(prompt)
        case = ET.SubElement(
            suite, "testcase", classname="evals", name=prompt.title or prompt.prompt_id
        )
        props = ET.SubElement(case, "properties")
        ET.SubElement(props, "property", name="promptId", value=prompt.prompt_id)
        ET.SubElement(props, "property", name="verdict", value=prompt.verdict)
        for a in prompt.attempts:
            ET.SubElement(props, "property", name=f"run {a.attempt}", value=_run_line(a))
        problem = _problem(prompt, s)
        if problem:
            failures += 1
            ET.SubElement(case, "failure", message=problem, type="eval").text = problem
    suite.set("tests", str(len(result.prompts)))
    suite.set("failures", str(failures))
    suites.set("tests", str(len(result.prompts)))
    suites.set("failures", str(failures))
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _run_line(attempt: suite_model.Attempt) -> str:
    parts = [status_of(attempt)]
    if attempt.score is not None:
        parts.append(f"score {attempt.score:g}")
    if attempt.run and attempt.run.run_id:
        parts.append(attempt.run.run_id)
    return " · ".join(parts)


def _problem(prompt: suite_model.PromptResult, s: sample.Sample) -> str:
    if prompt.gates_failed:
        return "; ".join(prompt.gates_failed)
    if s.completed == 0:
        return "no run completed"
    if s.passes == 0:
        return f"0/{s.completed} runs passed"
    return ""
