"""Suites on the pages: a step's runs (same `context.suite`) grouped by prompt, with each
prompt's pass rate and mean score and their 95% intervals (suites-contract §3, §6).

The sample is what the action counts: completed runs only (a `failed` run is infrastructure, a
superseded or unfinished one has no result); a completed run passes when its report's outcome
is `succeeded` (`outcome.succeeded`). Pass rates get the Wilson interval, mean scores the t
interval (none with one score). Only titles, statuses, scores and attempts are shown, never a
run's template values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from evals_action import models, outcome, stats
from evals_action.server import pages, schema, store

RECENT_SUITES = 5


@dataclasses.dataclass(frozen=True)
class RunLink:
    """One run in a group: a link to its page with its attempt, status and score."""

    id: str
    attempt: int | None
    status: str
    score: float | None
    passed: bool
    current: bool  # the run whose page this is

    @property
    def kind(self) -> str:
        """For the badge's colour: `succeeded`, `goal_not_met` (a DNF) or the run's status."""
        if self.status != models.COMPLETED:
            return self.status
        return "succeeded" if self.passed else "goal_not_met"


@dataclasses.dataclass(frozen=True)
class PromptGroup:
    """One prompt's runs in a suite and their numbers, as text for the page."""

    prompt_id: str
    title: str
    runs: tuple[RunLink, ...]
    pass_rate: str  # `67% (2/3)`, `–` when nothing completed
    pass_interval: str  # `95% CI 21–94%`, empty when nothing completed
    mean_score: str  # `83.3`, `–` without a score
    score_interval: str  # `95% CI 70.1–96.5`, or why there is none


@dataclasses.dataclass(frozen=True)
class SuiteGroup:
    """One step: where it ran and its prompts, in the order they were first started."""

    suite: str
    started: str
    context: str | None
    in_flight: bool
    prompts: tuple[PromptGroup, ...]


def for_run(*, db: store.Store, run: schema.RunRow) -> SuiteGroup | None:
    """The suite `run` belongs to, or None when it has none."""
    if run.suite is None:
        return None
    return group(suite=run.suite, runs=db.suite_runs(suites=[run.suite]), current=run.run_id)


def recent(*, db: store.Store, limit: int = RECENT_SUITES) -> list[SuiteGroup]:
    """The suites with the newest runs, newest first (the dashboard)."""
    suites = db.recent_suites(limit=limit)
    runs = db.suite_runs(suites=suites)
    return [group(suite=s, runs=[r for r in runs if r.suite == s], current=None) for s in suites]


def group(*, suite: str, runs: Sequence[schema.RunRow], current: str | None) -> SuiteGroup:
    """`runs` (oldest first, all of `suite`) grouped by prompt."""
    by_prompt: dict[str, list[schema.RunRow]] = {}
    for run in runs:
        by_prompt.setdefault(run.prompt_id, []).append(run)
    first = runs[0]
    return SuiteGroup(
        suite=suite,
        started=pages.human_time(first.created_at),
        context=pages.run_context(first),
        in_flight=any(r.in_flight for r in runs),
        prompts=tuple(_prompt(rows, current=current) for rows in by_prompt.values()),
    )


def _prompt(rows: Sequence[schema.RunRow], *, current: str | None) -> PromptGroup:
    links = tuple(_link(r, current=current) for r in rows)
    done = [link for link in links if link.status == models.COMPLETED]
    passes = sum(1 for link in done if link.passed)
    scores = [link.score for link in done if link.score is not None]
    return PromptGroup(
        prompt_id=rows[0].prompt_id,
        title=rows[-1].prompt_title,
        runs=links,
        pass_rate=f"{passes / len(done):.0%} ({passes}/{len(done)})" if done else "–",
        pass_interval=_pass_interval(passes=passes, completed=len(done)),
        mean_score=f"{sum(scores) / len(scores):.1f}" if scores else "–",
        score_interval=_score_interval(scores),
    )


def _link(run: schema.RunRow, *, current: str | None) -> RunLink:
    report = run.report or {}
    reported = report.get("outcome")
    passed = run.status == models.COMPLETED and outcome.succeeded(
        models.Report(outcome=reported if isinstance(reported, str) else None, score=run.score)
    )
    return RunLink(
        id=run.run_id,
        attempt=run.attempt,
        status=run.status,
        score=run.score,
        passed=passed,
        current=run.run_id == current,
    )


def _pass_interval(*, passes: int, completed: int) -> str:
    if not completed:
        return ""
    low, high = stats.wilson_interval(successes=passes, n=completed)
    return f"95% CI {low:.0%}–{high:.0%}"


def _score_interval(scores: Iterable[float]) -> str:
    values = list(scores)
    interval = stats.mean_interval(values=values)
    if interval is None:
        return "one score: no interval" if values else ""
    low, high = (min(max(bound, 0.0), 100.0) for bound in interval)
    return f"95% CI {low:.1f}–{high:.1f}"
