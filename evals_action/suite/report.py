"""What a suite shows (suites-contract §4, §5): per-prompt commit statuses, the step outputs,
the exit code, and the summary/comment body. Pure functions of a `SuiteResult` and the inputs.

State of a prompt: a tripped gate (min-score, min-pass-rate, fail-on-regression) → failure;
with completed runs: failure when none passed, else success; with none: cancelled → error,
timed out → as a timed-out single run (success, or failure with timeout-fails), every started
run failed → error, nothing started → error (not run).
"""

from __future__ import annotations

import dataclasses

from evals_action import outcome, render, suite_comment, suite_model, verdicts
from evals_action.suite import results, sample

STATE_ORDER = ("error", "failure", "pending", "success")  # worst first
FINAL_ORDER = ("failed", "running", "superseded", "completed", "skipped")  # worst first
SINGLE_RUN_OUTPUTS = (
    "run-id", "status-url", "report-slug", "report-url", "failure-reason", "score", "grade",
    "baseline-score", "report-json", "baseline-json",
)  # fmt: skip
MARKER_PREFIX = "<!-- 2027-eval-suite:"


@dataclasses.dataclass(frozen=True)
class PromptStatus:
    state: str
    description: str  # before redaction and the 140-character cut
    target_url: str
    final_status: str
    failed_entirely: bool  # every run failed (exit 1)


def prompt_status(prompt: suite_model.PromptResult, *, timeout_fails: bool) -> PromptStatus:
    s = sample.of(prompt)
    ended = [a.result for a in prompt.attempts if a.result is not None]
    last = next((r for r in reversed(ended) if r.completed), ended[-1] if ended else None)
    url = last.target_url if last else ""
    kinds = {r.kind for r in ended}
    if s.completed:
        state = "failure" if prompt.gates_failed or s.passes == 0 else "success"
        return PromptStatus(state, _described(prompt, s, last), url, "completed", False)
    if "cancelled" in kinds:
        return PromptStatus("error", "Eval cancelled", url, "failed", True)
    if "timeout" in kinds:
        t = next(r for r in ended if r.kind == "timeout")
        return PromptStatus(t.state, t.text, url, "running", False)
    if ended:
        return PromptStatus("error", ended[-1].text, url, "failed", True)
    return PromptStatus("error", "Not run — the step stopped first", url, "failed", False)


def _described(
    prompt: suite_model.PromptResult, s: sample.Sample, last: outcome.Outcome | None
) -> str:
    if s.completed == 1 and last is not None:
        return last.text
    return verdicts.status_description(current=prompt.sample, verdict=prompt.verdict)


def worst(states: list[str], *, order: tuple[str, ...]) -> str:
    return min(states, key=order.index) if states else order[-1]


def context(prompt: suite_model.PromptResult, *, override: str | None) -> str:
    return outcome.status_context(title=prompt.title, prompt_id=prompt.prompt_id, override=override)


def exit_code(statuses: list[PromptStatus], result: suite_model.SuiteResult) -> int:
    """1 when a gate trips or every run of a prompt failed; 0 otherwise (§4)."""
    gates = any(p.gates_failed for p in result.prompts)
    return 1 if gates or any(s.failed_entirely for s in statuses) else 0


def gates_output(result: suite_model.SuiteResult, *, any_gate: bool) -> str:
    if not any_gate:
        return "none"
    return "failed" if any(p.gates_failed for p in result.prompts) else "passed"


def outputs(
    result: suite_model.SuiteResult, *, statuses: list[PromptStatus], any_gate: bool
) -> dict[str, str | None]:
    """§5: with several prompts the single-run outputs are empty; `final-status` the worst."""
    titles = [p.title or "" for p in result.prompts]
    return {
        **dict.fromkeys(SINGLE_RUN_OUTPUTS, ""),
        "final-status": worst([s.final_status for s in statuses], order=FINAL_ORDER),
        "prompt-title": titles[0] if len(titles) == 1 else "",
        "verdict": suite_model.worst_verdict([p.verdict for p in result.prompts]),
        "gates": gates_output(result, any_gate=any_gate),
        "budget-exhausted": "true" if result.budget_exhausted else "false",
        "total-cost-usd": f"{result.total_cost_usd:.4f}".rstrip("0").rstrip("."),
        "results-json": results.compact(result),
    }


def budget_line(result: suite_model.SuiteResult) -> str:
    if not result.budget_exhausted:
        return ""
    return f"budget reached after {result.runs_started} of {result.runs_planned} runs"


def marker(comment_key: str, *, prompt_ids: tuple[str, ...] = ()) -> str:
    """The suite comment's first line; one prompt without a key keeps the contract's marker."""
    if not comment_key and len(prompt_ids) == 1:
        return render.marker(prompt_ids[0])
    safe = comment_key.replace("--", "-\u200b-").replace(">", "&gt;")
    return f"{MARKER_PREFIX}{safe} -->"


def comment_body(result: suite_model.SuiteResult, *, redact: suite_comment.Redact = str) -> str:
    """The suite's comment (and job summary): `suite_comment`'s layout. With a `comment-key` its
    marker is the key's; one prompt without a key keeps the contract's per-prompt marker."""
    body = suite_comment.render(result, redact=redact)
    if result.comment_key:
        return body
    ids = tuple(p.prompt_id for p in result.prompts)
    return marker("", prompt_ids=ids) + "\n" + body.split("\n", 1)[1]
