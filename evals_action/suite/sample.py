"""The numbers of one prompt's sample (suites-contract §3, §5): pure functions.

The intervals come from `stats`: a Wilson 95% interval for the pass rate and a t 95% interval
for the mean score (none with fewer than two scores).
"""

from __future__ import annotations

import dataclasses
import statistics

from evals_action import stats, suite_model


@dataclasses.dataclass(frozen=True)
class Sample:
    """What §5's `sample` object holds."""

    runs: int  # attempts started
    completed: int
    passes: int
    pass_rate: float | None
    pass_rate_low: float | None
    pass_rate_high: float | None
    mean_score: float | None
    score_low: float | None
    score_high: float | None
    cost_usd: float


def of(prompt: suite_model.PromptResult) -> Sample:
    completed = prompt.completed
    passes = prompt.passes
    scores = [a.score for a in completed if a.score is not None]
    rate = stats.wilson_interval(successes=passes, n=len(completed)) if completed else None
    spread = stats.mean_interval(values=scores)
    return Sample(
        runs=sum(1 for a in prompt.attempts if a.started),
        completed=len(completed),
        passes=passes,
        pass_rate=passes / len(completed) if completed else None,
        pass_rate_low=rate[0] if rate else None,
        pass_rate_high=rate[1] if rate else None,
        mean_score=statistics.fmean(scores) if scores else None,
        score_low=spread[0] if spread else None,
        score_high=spread[1] if spread else None,
        cost_usd=sum(a.cost_usd or 0.0 for a in prompt.attempts),
    )
