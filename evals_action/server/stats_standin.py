"""A stand-in for `evals_action/stats.py` (issue 11), which is being written on another branch.

Only the two functions the pages need, with the same names and signatures as there, so the
merge deletes this file and changes one import (`suite_pages`: `from evals_action import
stats`). The score interval here is Student's t with a table of quantiles.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable

CONFIDENCE = 0.95
# Student's t, two-sided 95% (the 0.975 quantile), for 1..30 degrees of freedom.
_T_975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


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
    if confidence != CONFIDENCE:
        raise ValueError("the stand-in knows only the 95% quantiles")
    data = list(values)
    if len(data) < 2:
        return None
    df = len(data) - 1
    quantile = _T_975[df - 1] if df <= len(_T_975) else statistics.NormalDist().inv_cdf(0.975)
    mean = statistics.fmean(data)
    half = quantile * statistics.stdev(data) / math.sqrt(len(data))
    return mean - half, mean + half
