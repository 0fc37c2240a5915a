"""Sample statistics for a prompt's runs (suites contract §2, §3), standard library only.

- `Observation`: one run as the statistics see it (status, succeeded, score, cost);
- `Sample`: the numbers of a prompt's runs, built once by `sample(runs=...)`: pass rate with a
  Wilson interval, mean score with a t interval, pass^k, cost;
- `wilson_interval`, `mean_interval`, `pass_all`: the formulas, usable on their own;
- `t_quantile`, `t_sf`: Student's t, for the score interval (no scipy at runtime);
- `fisher_lower`, `boschloo_lower`: one-sided exact tests that one pass rate is below another
  (`verdicts` decides with Boschloo's test, which uses Fisher's p-value as its statistic).

Only `completed` runs are the sample: a `failed` run is an infrastructure failure and is left
out of the pass rate and the score mean; a DNF (`completed`, not succeeded) is an agent result
and counts as a failure. Nothing here imports anything of ours, so any layer can use it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import statistics
from collections.abc import Iterable
from typing import Any, TypeGuard

CONFIDENCE = 0.95
COMPLETED = "completed"
_EPS = 1e-15
_TINY = 1e-300
_GRID = 100  # nuisance pass rates tried before refining the best one (Boschloo's test)
_TIE = 1e-7  # Fisher p-values this close (relatively) are the same statistic value


@dataclasses.dataclass(frozen=True)
class Observation:
    """One run: its status (`completed`, `failed`, ...), whether it succeeded, score, cost."""

    status: str
    succeeded: bool
    score: float | None = None
    cost_usd: float | None = None


@dataclasses.dataclass(frozen=True)
class Sample:
    """A prompt's runs in numbers. Intervals are 95%; None where there is nothing to show."""

    runs: int  # every run, whatever its status
    completed: int  # runs that completed: the sample
    passes: int  # completed runs that succeeded
    scores: tuple[float, ...]  # numeric scores of completed runs
    cost_usd: float | None  # sum of the reported costs; None when no run reported one

    @property
    def pass_rate(self) -> float | None:
        return self.passes / self.completed if self.completed else None

    @property
    def pass_rate_low(self) -> float | None:
        return (
            wilson_interval(successes=self.passes, n=self.completed)[0] if self.completed else None
        )

    @property
    def pass_rate_high(self) -> float | None:
        return (
            wilson_interval(successes=self.passes, n=self.completed)[1] if self.completed else None
        )

    @property
    def mean_score(self) -> float | None:
        return statistics.fmean(self.scores) if self.scores else None

    @property
    def score_low(self) -> float | None:
        interval = mean_interval(values=self.scores)
        return interval[0] if interval else None

    @property
    def score_high(self) -> float | None:
        interval = mean_interval(values=self.scores)
        return interval[1] if interval else None

    @property
    def pass_all(self) -> bool:
        return pass_all(passes=self.passes, completed=self.completed)

    def to_json(self) -> dict[str, Any]:
        """The results document's `sample` object (contract §5)."""
        return {
            "runs": self.runs,
            "completed": self.completed,
            "passes": self.passes,
            "passRate": self.pass_rate,
            "passRateLow": self.pass_rate_low,
            "passRateHigh": self.pass_rate_high,
            "meanScore": self.mean_score,
            "scoreLow": self.score_low,
            "scoreHigh": self.score_high,
            "costUsd": self.cost_usd,
        }


def sample(*, runs: Iterable[Observation]) -> Sample:
    """The `Sample` of `runs`: only completed runs count for pass rate and score (§2). A score
    or cost that is not a finite number (a report's `NaN`, `Infinity`) counts as not reported."""
    every = list(runs)
    done = [run for run in every if run.status == COMPLETED]
    costs = [run.cost_usd for run in every if _finite(run.cost_usd)]
    return Sample(
        runs=len(every),
        completed=len(done),
        passes=sum(1 for run in done if run.succeeded),
        scores=tuple(run.score for run in done if _finite(run.score)),
        cost_usd=math.fsum(costs) if costs else None,
    )


def _finite(value: float | None) -> TypeGuard[float]:
    return value is not None and math.isfinite(value)


def pass_all(*, passes: int, completed: int) -> bool:
    """pass^k: every one of the `completed` runs succeeded (False when none completed)."""
    return completed > 0 and passes == completed


def wilson_interval(
    *, successes: int, n: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """The Wilson score interval for `successes` out of `n` (n ≥ 1), clipped to [0, 1]."""
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n >= 1, got {successes}/{n}")
    z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(
    *, values: Iterable[float], confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """The t interval for the mean of `values`; None with fewer than two values."""
    data = list(values)
    if len(data) < 2:
        return None
    mean = statistics.fmean(data)
    half = t_quantile(p=0.5 + confidence / 2, df=len(data) - 1) * statistics.stdev(data)
    half /= math.sqrt(len(data))
    return mean - half, mean + half


def t_sf(*, t: float, df: float) -> float:
    """P(T > t) for Student's t with `df` > 0 degrees of freedom (any real df)."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    tail = 0.5 * _betainc(a=df / 2, b=0.5, x=df / (df + t * t))
    return tail if t >= 0 else 1 - tail


def t_quantile(*, p: float, df: float) -> float:
    """The t such that P(T ≤ t) = p, by bisection on `t_sf` (to about 1e-12)."""
    if not 0 < p < 1:
        raise ValueError(f"p must be strictly between 0 and 1, got {p}")
    if p < 0.5:
        return -t_quantile(p=1 - p, df=df)
    low, high = 0.0, 1.0
    while t_sf(t=high, df=df) > 1 - p:
        low, high = high, high * 2
    for _ in range(200):
        mid = (low + high) / 2
        if t_sf(t=mid, df=df) > 1 - p:
            low = mid
        else:
            high = mid
        if high - low <= 1e-12 * max(1.0, high):
            break
    return (low + high) / 2


def fisher_lower(*, passes: int, n: int, base_passes: int, base_n: int) -> float:
    """One-sided Fisher exact p-value that the first pass rate is lower than the second's:
    P(X ≤ passes) for X hypergeometric with both samples' passes held fixed."""
    total = passes + base_passes
    lowest = max(0, total - base_n)
    return _hypergeom_sum(range(lowest, passes + 1), n=n, base_n=base_n, total=total)


def boschloo_lower(*, passes: int, n: int, base_passes: int, base_n: int) -> float:
    """Boschloo's exact unconditional test that the first pass rate is lower than the second's.

    The p-value is the largest probability, over every common true pass rate, of a pair of
    samples whose Fisher p-value is at most the observed one. It never exceeds Fisher's and
    keeps the level exactly (the nuisance rate is searched on a grid, then refined)."""
    if not (0 <= passes <= n and 0 <= base_passes <= base_n and n >= 1 and base_n >= 1):
        raise ValueError(
            f"need 0 <= passes <= n, n >= 1 on both sides, got {passes}/{n}, {base_passes}/{base_n}"
        )
    return _boschloo(passes, n, base_passes, base_n)


@functools.lru_cache(maxsize=8192)
def _boschloo(passes: int, n: int, base_passes: int, base_n: int) -> float:
    observed = fisher_lower(passes=passes, n=n, base_passes=base_passes, base_n=base_n)
    weights = [0.0] * (n + base_n + 1)
    for p_value, x, y in _fisher_tables(n=n, base_n=base_n):
        if p_value > observed * (1 + _TIE):
            break
        weights[x + y] += math.comb(n, x) * math.comb(base_n, y)
    grid = [(i + 0.5) / _GRID for i in range(_GRID)]
    best = max(grid, key=lambda rate: _region_probability(weights=weights, rate=rate))
    low, high = max(0.0, best - 1 / _GRID), min(1.0, best + 1 / _GRID)
    for _ in range(40):
        left, right = low + (high - low) / 3, high - (high - low) / 3
        if _region_probability(weights=weights, rate=left) < _region_probability(
            weights=weights, rate=right
        ):
            low = left
        else:
            high = right
    found = max(best, (low + high) / 2, key=lambda r: _region_probability(weights=weights, rate=r))
    # Fisher's test keeps its level unconditionally, so the supremum is at most its p-value;
    # the bound also absorbs rounding near 1.
    return min(observed, _region_probability(weights=weights, rate=found))


@functools.lru_cache(maxsize=512)
def _fisher_tables(*, n: int, base_n: int) -> tuple[tuple[float, int, int], ...]:
    """Every (Fisher lower p-value, passes, base passes) for these sizes, smallest p first."""
    tables = []
    for total in range(n + base_n + 1):
        xs = range(max(0, total - base_n), min(n, total) + 1)
        denominator = math.comb(n + base_n, total)
        ways = 0
        for x in xs:
            ways += math.comb(n, x) * math.comb(base_n, total - x)
            tables.append((ways / denominator, x, total - x))
    return tuple(sorted(tables))


def _region_probability(*, weights: list[float], rate: float) -> float:
    """Sum of weights[t] · rate^t · (1 - rate)^(N - t), by Horner's rule in the smaller ratio."""
    last = len(weights) - 1
    total = 0.0
    if rate <= 0.5:
        ratio = rate / (1 - rate)
        for weight in reversed(weights):
            total = total * ratio + weight
        return total * (1 - rate) ** last
    ratio = (1 - rate) / rate
    for weight in weights:
        total = total * ratio + weight
    return total * rate**last


def _hypergeom_sum(xs: range, *, n: int, base_n: int, total: int) -> float:
    ways = sum(math.comb(n, x) * math.comb(base_n, total - x) for x in xs)
    return min(1.0, ways / math.comb(n + base_n, total))


def _betainc(*, a: float, b: float, x: float) -> float:
    """The regularized incomplete beta I_x(a, b) by Lentz's continued fraction."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x > (a + 1) / (a + b + 2):
        return 1.0 - math.exp(log_front) * _beta_fraction(a=b, b=a, x=1 - x) / b
    return math.exp(log_front) * _beta_fraction(a=a, b=b, x=x) / a


def _beta_fraction(*, a: float, b: float, x: float) -> float:
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, 1000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            result *= d * c
        if abs(d * c - 1.0) < _EPS:
            break
    return result
