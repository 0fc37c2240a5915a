"""From how the wait ended to what the user sees: status, description, heading, exit code (§5).

Pure functions over `models`; `render` and `action` consume the `Outcome`.
"""

from __future__ import annotations

import dataclasses

from evals_action import models, text

DESCRIPTION_LIMIT = 140
CONTEXT_PREFIX = "2027/eval"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """Everything that depends on how the eval ended."""

    kind: str  # running | succeeded | dnf | failed | superseded | timeout | unavailable | cancelled
    state: str  # commit status state
    text: str  # the status description before it is cut to one status line
    target_url: str
    exit_code: int | None  # None while running
    final_status: str  # the `final-status` output
    heading: str  # the comment heading's state
    reason: str | None  # the one-line reason shown in the diff block

    @property
    def completed(self) -> bool:
        return self.kind in ("succeeded", "dnf")

    @property
    def description(self) -> str:
        """The commit status description (`status_description` of `text`). A sink that holds
        secrets cuts `text` itself, redacting before and after (`redaction.Secrets.fit`)."""
        return status_description(self.text)


def status_context(*, title: str | None, prompt_id: str, override: str | None) -> str:
    if override:
        return override
    slug = text.slug(title or prompt_id)
    return f"{CONTEXT_PREFIX}/{slug}" if slug else CONTEXT_PREFIX


def status_description(wording: str) -> str:
    """One line, at most 140 characters, `...` when cut."""
    return text.one_line(wording, limit=DESCRIPTION_LIMIT)


def running(run: models.Run) -> Outcome:
    return Outcome(
        kind="running",
        state="pending",
        text="Running eval...",
        target_url=run.run_url,
        exit_code=None,
        final_status="running",
        heading="Running…",
        reason=None,
    )


def succeeded(report: models.Report | None) -> bool:
    if report is None:
        return False
    if report.outcome is not None:
        return report.outcome == "succeeded"
    return report.score is not None


def dnf_reason(run: models.Run) -> str:
    report = run.report
    verdict_first = None
    if report is not None and report.verdict:
        verdict_first = next((line for line in report.verdict.splitlines() if line.strip()), None)
    candidates: list[str | None] = [
        report.key_finding if report else None,
        report.what_didnt if report else None,
        report.null_notice if report else None,
        verdict_first,
        run.failure_reason,
        report.outcome if report else None,
    ]
    return next((" ".join(c.split()) for c in candidates if c and c.strip()), "unknown reason")


def final(run: models.Run) -> Outcome:
    """The outcome of a run that reached a terminal status."""
    report_url = run.report.url if run.report and run.report.url else None
    if run.status == models.COMPLETED:
        if succeeded(run.report):
            text = "Completed — see report" if report_url else "Completed — see status page"
            return _end(
                run,
                kind="succeeded",
                state="success",
                text=text,
                url=report_url,
                final_status="completed",
                heading="**Succeeded**",
                reason=None,
                exit_code=0,
            )
        reason = dnf_reason(run)
        return _end(
            run,
            kind="dnf",
            state="failure",
            text=f"Did not finish — {reason}",
            url=report_url,
            final_status="completed",
            heading="Did not finish",
            reason=reason,
            exit_code=0,
        )
    if run.status == models.SUPERSEDED:
        return _end(
            run,
            kind="superseded",
            state="success",
            text="Superseded by newer commit",
            url=None,
            final_status="superseded",
            heading="Superseded",
            reason=None,
            exit_code=0,
        )
    failure = (run.failure_reason or "").strip() or None
    return _end(
        run,
        kind="failed",
        state="error",
        text=failure or "Eval failed — see status page",
        url=None,
        final_status="failed",
        heading="Eval failed",
        reason=failure,
        exit_code=1,
    )


def timeout(run: models.Run, *, fails: bool) -> Outcome:
    text = (
        "Eval timed out — failing per timeout-fails=true"
        if fails
        else "Still running — see status page"
    )
    return _end(
        run,
        kind="timeout",
        state="failure" if fails else "success",
        text=text,
        url=None,
        final_status="running",
        heading="Still running",
        reason=None,
        exit_code=0,
    )


def unavailable(run: models.Run, *, reason: str) -> Outcome:
    return _end(
        run,
        kind="unavailable",
        state="error",
        text=f"Eval status unavailable — {reason}",
        url=None,
        final_status="failed",
        heading="Eval failed",
        reason=f"Eval status unavailable — {reason}",
        exit_code=1,
    )


def cancelled(run: models.Run) -> Outcome:
    return _end(
        run,
        kind="cancelled",
        state="error",
        text="Eval cancelled",
        url=None,
        final_status="failed",
        heading="Eval failed",
        reason="Eval cancelled",
        exit_code=1,
    )


def _end(
    run: models.Run,
    *,
    kind: str,
    state: str,
    text: str,
    url: str | None,
    final_status: str,
    heading: str,
    reason: str | None,
    exit_code: int,
) -> Outcome:
    return Outcome(
        kind=kind,
        state=state,
        text=text,
        target_url=url or run.run_url,
        exit_code=exit_code,
        final_status=final_status,
        heading=heading,
        reason=reason,
    )
