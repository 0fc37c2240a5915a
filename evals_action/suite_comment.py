"""The suite's PR comment (suites-contract §4): one comment per `comment-key`, shared by every
step (or matrix leg) with that key, each owning the sections of its own prompts.

Layout: the marker `<!-- 2027-eval-suite:<key> -->` on the first line, a heading, the budget
lines, a summary table with one row per section present, then one delimited section per prompt:

    <!-- 2027-eval-section:<prompt id, percent-encoded> sha=<commit> suite=<suite id> -->
    <!-- 2027-eval-row | <the prompt's summary row> | -->
    <details>…the prompt's runs…</details>
    <!-- /2027-eval-section -->

A section (`suite_sections`) carries its own summary row, so a writer that replaces only its own
sections rebuilds a table that covers every section in the comment. Server text cannot forge a
marker: `render.md` escapes `<`, `render.code` breaks `<!--` up, and markers count only as whole
lines. `compose` keeps the body under GitHub's limit by
cutting runs out of sections (largest first, with a note), never rows out of the table.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence

from evals_action import render as markdown
from evals_action import suite_model, suite_sections, text, verdicts

SUITE_MARKER_PREFIX = "<!-- 2027-eval-suite:"
TITLE_LIMIT = 100
RUNS_HEADER = "| # | Status | Score | Grade | Reason | Link |"
RUNS_RULE = "| --- | --- | --- | --- | --- | --- |"
CUT_NOTE = "_{n} more {runs} not shown: this comment is at GitHub's size limit._"
_RUN_ROW = re.compile(r"\| \d+ \| ")
_NOTE = re.compile(r"_(?P<n>\d+) more runs? not shown: this comment is at GitHub's size limit\._")
_STATUS = {
    "running": "Running…",
    "succeeded": "Succeeded",
    "dnf": "Did not finish",
    "failed": "Eval failed",
    "superseded": "Superseded",
    "timeout": "Timed out",
    "unavailable": "Status unavailable",
    "cancelled": "Cancelled",
}


def marker(comment_key: str) -> str:
    return f"{SUITE_MARKER_PREFIX}{markdown.comment_safe(comment_key)} -->"


def is_ours(body: str, *, comment_key: str) -> bool:
    """The marker must be the comment's first line; a marker quoted later does not count."""
    return body.split("\n", 1)[0].strip() == marker(comment_key)


# --- from a suite to sections ----------------------------------------------------------------


Redact = Callable[[str], str]


def render(suite: suite_model.SuiteResult, *, redact: Redact = str) -> str:
    """The comment (and job summary) for this suite alone."""
    return compose(comment_key=suite.comment_key, sections=sections(suite, redact=redact))


def sections(
    suite: suite_model.SuiteResult, *, redact: Redact = str
) -> list[suite_sections.Section]:
    """One section per prompt of the suite, in the suite's order. `redact` (the run's
    `redaction.Secrets.redact`) is applied to the title before it is cut and to what is
    rendered, so no secret, whole or cut, reaches the comment."""
    budget = (suite.runs_started, suite.runs_planned) if suite.budget_exhausted else None
    found = []
    for prompt in suite.prompts:
        if prompt.title:
            prompt = dataclasses.replace(prompt, title=redact(prompt.title))
        row = markdown.template("suite_row.md.j2", row=_row(prompt))
        details = markdown.template("suite_section.md.j2", prompt=_details(prompt, sha=suite.sha))
        found.append(
            suite_sections.Section(
                prompt_id=prompt.prompt_id,
                sha=_sha(suite.sha),
                suite_id=suite.suite_id,
                budget=budget,
                row=redact(row.strip("\n")),
                details=redact(details.strip("\n")),
            )
        )
    return found


@dataclasses.dataclass(frozen=True)
class RowView:
    title: str
    pass_rate: str
    mean_score: str
    verdict: str
    runs: int
    cost: str
    summary: str  # the whole row in one line, for the section's <summary>


@dataclasses.dataclass(frozen=True)
class RunView:
    attempt: int
    status: str
    score: str
    grade: str
    reason: str
    link_label: str
    link: str


@dataclasses.dataclass(frozen=True)
class DetailsView:
    row: RowView
    verdict_text: str
    gates_failed: Sequence[str]
    runs: Sequence[RunView]
    sha7: str | None


def _row(prompt: suite_model.PromptResult) -> RowView:
    """The table's cells and the section's summary line, from `verdicts.summary_row`:
    `4/5 passed (0.38–0.96) · mean 81 ▼ −7 vs 88 (10 runs) · regressed`."""
    current = prompt.sample
    passed, mean, line = "—", "—", ""
    if current.completed:
        base = prompt.baseline.as_sample() if prompt.baseline else None
        line = verdicts.summary_row(current=current, baseline=base, verdict=prompt.verdict)
        passed, mean = line.split(" · ")[:2]
        mean = "—" if current.mean_score is None else mean.removeprefix("mean ")
    return RowView(
        title=text.one_line(prompt.title or prompt.prompt_id, limit=TITLE_LIMIT),
        pass_rate=passed,
        mean_score=mean,
        verdict=prompt.verdict,
        runs=sum(1 for a in prompt.attempts if a.started),
        cost=f"${prompt.cost_usd:.2f}" if prompt.cost_usd is not None else "—",
        summary=line or f"no completed runs · {prompt.verdict}",
    )


def _details(prompt: suite_model.PromptResult, *, sha: str | None) -> DetailsView:
    return DetailsView(
        row=_row(prompt),
        verdict_text=prompt.verdict_text,
        gates_failed=prompt.gates_failed,
        runs=[_run(a) for a in prompt.attempts],
        sha7=sha[:7] if sha else None,
    )


def _run(attempt: suite_model.Attempt) -> RunView:
    run, result = attempt.run, attempt.result
    report = run.report if run else None
    if run is None:
        status = "Not run"
    else:
        status = _STATUS.get(result.kind, result.kind) if result else _STATUS["running"]
    report_url = report.url if report and report.url and markdown.url(report.url) else ""
    run_url = run.run_url if run and markdown.url(run.run_url) else ""  # http(s) links only
    return RunView(
        attempt=attempt.attempt,
        status=status,
        score=markdown.score_text(attempt.score) if attempt.score is not None else "",
        grade=report.grade or "" if report else "",
        reason=text.one_line(result.reason, limit=markdown.REASON_LIMIT)
        if result and result.reason
        else "",
        link_label="report" if report_url else "status" if run_url else "",
        link=report_url or run_url,
    )


def _sha(sha: str | None) -> str:
    return sha if sha and sha.isalnum() else ""


# --- sections to a body -------------------------------------------------------------------


def compose(*, comment_key: str, sections: Sequence[suite_sections.Section]) -> str:
    """The whole body from its sections, cut to GitHub's limit (runs first, never rows)."""
    shown = list(sections)
    body = _body(comment_key, shown)
    while len(body) > markdown.BODY_LIMIT:
        i = max(range(len(shown)), key=lambda k: _run_count(shown[k].details), default=None)
        if i is None or _run_count(shown[i].details) == 0:
            break
        keep = _run_count(shown[i].details) // 2
        shown[i] = dataclasses.replace(shown[i], details=_cut_runs(shown[i].details, keep=keep))
        body = _body(comment_key, shown)
    if len(body) > markdown.BODY_LIMIT:
        note = markdown.CUT_NOTE.format(link="")
        body = body[: markdown.BODY_LIMIT - len(note)].rsplit("\n", 1)[0] + note
    return body


def _body(comment_key: str, sections: Sequence[suite_sections.Section]) -> str:
    budgets: dict[str, tuple[int, int]] = {}
    for section in sections:
        if section.budget:
            budgets.setdefault(section.suite_id, section.budget)
    body = markdown.template(
        "suite_comment.md.j2",
        marker=marker(comment_key),
        sections=sections,
        budgets=list(budgets.values()),
    )
    if not body.startswith(marker(comment_key)):
        raise AssertionError("rendered suite comment lost its marker")
    return body


def _run_count(details: str) -> int:
    return sum(1 for line in details.split("\n") if _RUN_ROW.match(line))


def _cut_runs(details: str, *, keep: int) -> str:
    """`details` with only its first `keep` runs, and one note saying how many are left out
    (counting those an earlier cut, perhaps by another writer, left out already)."""
    lines: list[str] = []
    earlier = 0
    for line in details.split("\n"):
        noted = _NOTE.fullmatch(line)
        if noted is None:
            lines.append(line)
            continue
        earlier += int(noted.group("n"))
        if lines and not lines[-1]:
            lines.pop()
    rows = [i for i, line in enumerate(lines) if _RUN_ROW.match(line)]
    if len(rows) <= keep:
        return details
    dropped = len(rows) - keep + earlier
    cut = set(rows[keep:])
    if keep == 0:
        cut |= {i for i, line in enumerate(lines) if line in (RUNS_HEADER, RUNS_RULE)}
    note = CUT_NOTE.format(n=dropped, runs="run" if dropped == 1 else "runs")
    out: list[str] = []
    for i, line in enumerate(lines):
        if i not in cut:
            out.append(line)
        if i == rows[-1]:
            out += ["", note] if keep else [note]
    return "\n".join(out)
