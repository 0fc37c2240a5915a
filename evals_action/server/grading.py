"""Turn a finished rollout into a report: run the prompt's checks, score, grade, metrics.

Checks (config.Check.type):
- `contains` / `regex`: on the agent's final answer (last assistant message of the rollout
  result, else its `summary`, else the rollout's status message).
- `json_equals`: a dotted path into the rollout result equals a value.
- `http`: a request against the preview (the check's production URL rewritten through the url
  map), expecting a status and optionally a body substring or JSON that contains given fields.
  It goes through `egress.fetch`: only to allowed hosts and addresses, redirects re-checked.
- `llm_judge`: an OpenAI-compatible chat endpoint answers `{"pass": bool, "reason": "..."}`.

Score is the weighted share of passed checks (0-100); `outcome` is `succeeded` when every
required check passes, else `goal_not_met`, and `keyFinding` names the first failed check.
A prompt without checks takes score and outcome from the rollout result.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

import requests

from evals_action.backends import rollout_common
from evals_action.server import config, egress, traces

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
JUDGE_SYSTEM = (
    "You grade an AI agent's work. Read the task, the agent's final answer and the criteria. "
    'Reply with only a JSON object: {"pass": true or false, "reason": "<one sentence>"}.'
)


@dataclasses.dataclass(frozen=True)
class Finished:
    """How the rollout ended, as the runner saw it."""

    result: Mapping[str, Any] | None
    message: str | None
    started_at: float
    finished_at: float


@dataclasses.dataclass(frozen=True)
class Context:
    """What checks need besides the rollout: the request and the outside world."""

    template_args: Mapping[str, Any]
    url_map: Mapping[str, str]
    prompt_text: str
    session: requests.Session
    judge: config.Judge | None
    guard: egress.Guard  # where `http` checks may go
    http_timeout: float = 10.0


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
    """The run's `report`, in the evals API's field names."""
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
        key_finding = _text((finished.result or {}).get("summary")) or finished.message
    trace = traces.for_report(finished.result)
    step = traces.failing_step(trace) if outcome != "succeeded" else None
    if key_finding and step is not None:
        key_finding = f"{key_finding} (trace: step {step}, {url}#step-{step})"
    return {
        "slug": slug,
        "url": url,
        "score": score,
        "grade": grade(score=score),
        "outcome": outcome,
        "nullNotice": None,
        "keyFinding": key_finding,
        "summary": {"whatDidnt": key_finding},
        "verdict": _verdict(results=results, outcome=outcome),
        "metrics": metrics(finished=finished),
        "dimensions": [dataclasses.asdict(r) for r in results],
        "answer": answer[:ANSWER_LIMIT],
        **({"trace": trace} if trace else {}),
    }


def final_answer(*, finished: Finished) -> str:
    result = finished.result or {}
    messages = result.get("messages")
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, Mapping) and message.get("role") == "assistant":
                content = _text(message.get("content"))
                if content:
                    return content
    return _text(result.get("summary")) or finished.message or ""


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
        "time": format_duration(seconds=seconds),
        "timeSeconds": round(seconds, 1),
        "cost": None if cost is None else f"${cost:.2f}",
        "costUsd": cost,
        "errors": int(_number(reported.get("errors")) or 0),
        "interruptions": int(_number(reported.get("interruptions")) or 0),
    }


def format_duration(*, seconds: float) -> str:
    whole = round(seconds)
    minutes, rest = divmod(whole, 60)
    return f"{minutes}m {rest}s" if minutes else f"{rest}s"


def run_check(
    *, check: config.Check, answer: str, finished: Finished, context: Context
) -> CheckResult:
    """Evaluate one check; an error inside a check fails that check, never the run."""
    check = _targeted(check=check, context=context)
    kind = check.type
    if kind == "contains":
        passed, detail = _contains(check=check, answer=answer)
    elif kind == "regex":
        passed, detail = _regex(check=check, answer=answer)
    elif kind == "json_equals":
        passed, detail = _json_equals(check=check, result=finished.result)
    elif kind == "http":
        passed, detail = _http(check=check, context=context)
    elif kind == "trace":
        passed, detail = traces.check(
            fact=check.path,
            value=check.value,
            expected=check.expected,
            case_sensitive=check.case_sensitive,
            trace=traces.for_report(finished.result),
        )
    else:
        passed, detail = _judge(check=check, answer=answer, context=context)
    return CheckResult(
        name=check.name, passed=passed, detail=detail, required=check.required, weight=check.weight
    )


def _targeted(*, check: config.Check, context: Context) -> config.Check:
    """The check with template vars filled and production hosts pointed at the preview."""

    def apply(value: Any) -> Any:
        if isinstance(value, str):
            filled = rollout_common.fill_template(value, context.template_args)
            return rollout_common.replace_hosts(filled, context.url_map)
        if isinstance(value, Mapping):
            return {k: apply(v) for k, v in value.items()}
        if isinstance(value, list):
            return [apply(v) for v in value]
        return value

    return dataclasses.replace(
        check,
        name=apply(check.name),
        value=apply(check.value),
        pattern=rollout_common.fill_template(check.pattern, context.template_args),
        url=apply(check.url),
        body_contains=apply(check.body_contains),
        expected=apply(check.expected),
        json_contains=apply(check.json_contains),
        criteria=apply(check.criteria),
    )


def _contains(*, check: config.Check, answer: str) -> tuple[bool, str]:
    haystack, needle = (
        (answer, check.value) if check.case_sensitive else (answer.lower(), check.value.lower())
    )
    if needle in haystack:
        return True, "found in the final answer"
    return False, f"the final answer does not mention {check.value!r}"


def _regex(*, check: config.Check, answer: str) -> tuple[bool, str]:
    flags = 0 if check.case_sensitive else re.IGNORECASE
    if re.search(check.pattern, answer, flags):
        return True, "matched the final answer"
    return False, f"the final answer does not match /{check.pattern}/"


def _json_equals(*, check: config.Check, result: Mapping[str, Any] | None) -> tuple[bool, str]:
    if result is None:
        return False, "the rollout sent no result"
    found, value = _lookup(result, check.path)
    if not found:
        return False, f"the rollout result has no {check.path}"
    if value == check.expected:
        return True, f"{check.path} is {json.dumps(value)}"
    return False, f"{check.path} is {json.dumps(value)}, expected {json.dumps(check.expected)}"


def _http(*, check: config.Check, context: Context) -> tuple[bool, str]:
    if not check.url.startswith(("http://", "https://")):
        return False, f"not an http(s) URL: {check.url}"
    try:
        response = egress.fetch(
            guard=context.guard, method=check.method, url=check.url, timeout=context.http_timeout
        )
    except egress.Refused as exc:
        return False, f"refused: {exc}"
    except requests.RequestException as exc:
        return False, f"request failed: {type(exc).__name__}"
    if response.status_code != check.expect_status:
        return False, f"answered {response.status_code}, expected {check.expect_status}"
    if check.body_contains and check.body_contains not in response.text:
        return False, f"the response does not contain {check.body_contains!r}"
    if check.json_contains is not None:
        try:
            body = response.json()
        except ValueError:
            return False, "the response is not JSON"
        if not _json_has(body, check.json_contains):
            return False, f"no item has {json.dumps(check.json_contains, sort_keys=True)}"
    return True, f"answered {response.status_code} as expected"


def _judge(*, check: config.Check, answer: str, context: Context) -> tuple[bool, str]:
    judge = context.judge
    if judge is None:
        return False, "no [judge] configured"
    headers = {"Authorization": f"Bearer {judge.api_key}"} if judge.api_key else {}
    body = {
        "model": judge.model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": JUDGE_SYSTEM},
            {
                "role": "user",
                "content": f"Task:\n{context.prompt_text}\n\nFinal answer:\n"
                f"{answer}\n\nCriteria:\n{check.criteria}",
            },
        ],
    }
    try:
        response = context.session.post(
            f"{judge.base_url}/chat/completions",
            json=body,
            headers=headers,
            timeout=judge.timeout_seconds,
        )
        response.raise_for_status()
        content = response.json()["choices"][0]["message"]["content"]
    except (requests.RequestException, ValueError, KeyError, IndexError, TypeError) as exc:
        return False, f"the judge could not be asked: {type(exc).__name__}"
    verdict = _judge_verdict(str(content))
    if verdict is None:
        return False, "the judge's reply was not the JSON verdict asked for"
    return verdict


def _judge_verdict(content: str) -> tuple[bool, str] | None:
    match = re.search(r"\{.*\}", content, re.DOTALL)
    if match is None:
        return None
    try:
        data = json.loads(match.group(0))
    except ValueError:
        return None
    if not isinstance(data, Mapping) or not isinstance(data.get("pass"), bool):
        return None
    return data["pass"], _text(data.get("reason")) or ("passed" if data["pass"] else "failed")


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


def _lookup(data: Any, path: str) -> tuple[bool, Any]:
    for part in path.split("."):
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return False, None
    return True, data


def _json_has(body: Any, wanted: Mapping[str, Any]) -> bool:
    """True when `body` (or, for a list or a wrapper object, any item in it) has `wanted`."""
    if isinstance(body, Mapping):
        if all(body.get(k) == v for k, v in wanted.items()):
            return True
        return any(_json_has(v, wanted) for v in body.values() if isinstance(v, list))
    if isinstance(body, list):
        return any(_json_has(item, wanted) for item in body)
    return False


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):  # OpenAI content parts
        return " ".join(str(p.get("text", "")) for p in value if isinstance(p, Mapping)).strip()
    return ""
