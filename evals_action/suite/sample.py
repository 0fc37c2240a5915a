"""The numbers of one prompt's sample (suites-contract §3, §5): pure functions.

Issue 11 brings `stats.py` (intervals, baselines, verdicts); these are the few the results
document needs meanwhile: a Wilson 95% interval for the pass rate and a t 95% interval for the
mean score (none with fewer than two scores).
"""

from __future__ import annotations

import dataclasses
import math
import statistics

from evals_action import suite_model

Z95 = 1.959964
# Two-sided 95% t quantiles for 1..30 degrees of freedom; the normal value beyond.
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


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


def wilson(*, passes: int, n: int) -> tuple[float, float] | None:
    """The Wilson score interval (95%) for `passes` out of `n`; None when `n` is 0."""
    if n <= 0:
        return None
    p = passes / n
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def t_interval(scores: list[float]) -> tuple[float, float] | None:
    """The t interval (95%) of the mean; None with fewer than two values."""
    if len(scores) < 2:
        return None
    df = len(scores) - 1
    t = _T95[df - 1] if df <= len(_T95) else Z95
    half = t * statistics.stdev(scores) / math.sqrt(len(scores))
    mean = statistics.fmean(scores)
    return mean - half, mean + half


def of(prompt: suite_model.PromptResult) -> Sample:
    completed = prompt.completed
    passes = prompt.passes
    scores = [a.score for a in completed if a.score is not None]
    rate = wilson(passes=passes, n=len(completed))
    spread = t_interval(scores)
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
