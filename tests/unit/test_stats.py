"""The sample statistics, pinned against scipy (a test-only reference) and against hand values."""

from __future__ import annotations

import math
import random

import pytest
from scipy import stats as reference

from evals_action import stats

DFS = (1, 2, 3, 4, 5, 7, 9, 10, 15, 19, 29, 30, 31, 49, 99, 1000, 2.5, 7.3, 0.7)


def test_wilson_interval_matches_scipy_for_every_count_up_to_30() -> None:
    """The Wilson score interval (no continuity correction) equals scipy's for all k/n, n ≤ 30."""
    for n in range(1, 31):
        for k in range(n + 1):
            expected = reference.binomtest(k, n).proportion_ci(method="wilson")
            low, high = stats.wilson_interval(successes=k, n=n)
            assert low == pytest.approx(expected.low, abs=1e-12)
            assert high == pytest.approx(expected.high, abs=1e-12)


def test_wilson_interval_of_the_issue_example_is_0_38_to_0_96() -> None:
    """4 of 5 passed → (0.38–0.96), as issue 11's summary row shows (by hand: z = 1.95996)."""
    low, high = stats.wilson_interval(successes=4, n=5)
    assert (round(low, 2), round(high, 2)) == (0.38, 0.96)


@pytest.mark.parametrize(("successes", "n"), [(0, 0), (-1, 3), (4, 3)])
def test_wilson_interval_rejects_impossible_counts(successes: int, n: int) -> None:
    """A count outside 0..n (or no runs) is a programming error, said with the numbers."""
    with pytest.raises(ValueError, match=f"{successes}/{n}"):
        stats.wilson_interval(successes=successes, n=n)


@pytest.mark.parametrize("df", DFS)
def test_t_quantile_matches_scipy(df: float) -> None:
    """The inverse t (no scipy at runtime) agrees with scipy.stats.t.ppf to 1e-8."""
    for p in (0.001, 0.025, 0.05, 0.5, 0.8, 0.9, 0.95, 0.975, 0.99, 0.995, 0.9995):
        assert stats.t_quantile(p=p, df=df) == pytest.approx(
            reference.t.ppf(p, df), rel=1e-8, abs=1e-10
        )


@pytest.mark.parametrize("df", DFS)
def test_t_sf_matches_scipy(df: float) -> None:
    """P(T > t) agrees with scipy.stats.t.sf on both tails."""
    for t in (-40.0, -3.0, -1.0, 0.0, 0.25, 1.0, 2.0, 4.5, 40.0):
        assert stats.t_sf(t=t, df=df) == pytest.approx(reference.t.sf(t, df), rel=1e-9, abs=1e-14)


def test_t_quantile_by_hand() -> None:
    """Textbook values: t(0.975; 1) = 12.706, t(0.975; 9) = 2.262, t(0.975; 30) = 2.042."""
    assert round(stats.t_quantile(p=0.975, df=1), 3) == 12.706
    assert round(stats.t_quantile(p=0.975, df=9), 3) == 2.262
    assert round(stats.t_quantile(p=0.975, df=30), 3) == 2.042


def test_mean_interval_matches_scipy_t_interval() -> None:
    """The score interval is scipy's t interval around the mean (sample sd, df = n − 1)."""
    rng = random.Random(7)
    for size in (2, 3, 5, 10, 40):
        values = [rng.uniform(0, 100) for _ in range(size)]
        low, high = stats.mean_interval(values=values) or (math.nan, math.nan)
        expected = reference.t.interval(
            0.95, size - 1, loc=sum(values) / size, scale=reference.sem(values)
        )
        assert (low, high) == pytest.approx(expected, rel=1e-9)


def test_mean_interval_needs_two_values() -> None:
    """One score has no interval (contract §3: none with one run)."""
    assert stats.mean_interval(values=[80.0]) is None
    assert stats.mean_interval(values=[]) is None


def test_fisher_lower_matches_scipy_for_every_table_up_to_12_by_10() -> None:
    """The one-sided Fisher p-value equals scipy.stats.fisher_exact(alternative='less')."""
    for n in range(1, 13):
        for k in range(n + 1):
            for m in range(1, 11):
                for j in range(m + 1):
                    expected = reference.fisher_exact([[k, n - k], [j, m - j]], alternative="less")
                    got = stats.fisher_lower(passes=k, n=n, base_passes=j, base_n=m)
                    assert got == pytest.approx(expected.pvalue, rel=1e-12, abs=1e-15)


BOSCHLOO_CASES = [
    (3, 10, 9, 10),
    (0, 1, 1, 1),
    (0, 1, 7, 7),
    (0, 2, 5, 5),
    (2, 5, 5, 5),
    (10, 20, 18, 20),
    (5, 45, 15, 20),
    (30, 50, 90, 100),
    (7, 7, 0, 7),
    (4, 12, 4, 12),
] + [
    (rng.randint(0, n), n, rng.randint(0, m), m)
    for rng in [random.Random(11)]
    for n, m in [(rng.randint(1, 30), rng.randint(1, 30)) for _ in range(20)]
]


@pytest.mark.parametrize(("k", "n", "j", "m"), BOSCHLOO_CASES)
def test_boschloo_lower_matches_scipy(k: int, n: int, j: int, m: int) -> None:
    """Boschloo's one-sided p-value equals scipy.stats.boschloo_exact(alternative='less').

    Near p = 1 scipy's optimizer stops a few 1e-6 short of the supremum; ours is never lower."""
    expected = reference.boschloo_exact([[k, j], [n - k, m - j]], alternative="less").pvalue
    got = stats.boschloo_lower(passes=k, n=n, base_passes=j, base_n=m)
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-9)
    assert got >= expected - 1e-9
    assert got <= stats.fisher_lower(passes=k, n=n, base_passes=j, base_n=m) + 1e-12


def test_boschloo_of_the_contract_drop_is_below_fisher() -> None:
    """3/10 against 9/10: Boschloo p = 0.00398, Fisher p = 0.00988 (why Boschloo: power)."""
    assert stats.boschloo_lower(passes=3, n=10, base_passes=9, base_n=10) == pytest.approx(
        0.0039778, abs=1e-7
    )
    assert stats.fisher_lower(passes=3, n=10, base_passes=9, base_n=10) == pytest.approx(
        0.0098833, abs=1e-7
    )


def test_boschloo_rejects_impossible_counts() -> None:
    """Counts outside 0..n are refused with the numbers."""
    with pytest.raises(ValueError, match="4/3"):
        stats.boschloo_lower(passes=4, n=3, base_passes=1, base_n=2)


def test_sample_leaves_failed_runs_out_and_counts_dnfs() -> None:
    """§2: a failed run is not in the pass rate or the score mean; a DNF counts as a failure."""
    runs = [
        stats.Observation(status="completed", succeeded=True, score=90.0, cost_usd=0.25),
        stats.Observation(status="completed", succeeded=False, score=30.0, cost_usd=0.5),  # DNF
        stats.Observation(status="failed", succeeded=False, score=0.0, cost_usd=0.125),
        stats.Observation(status="completed", succeeded=True, score=None),
        stats.Observation(status="superseded", succeeded=False),
    ]
    got = stats.sample(runs=runs)
    assert (got.runs, got.completed, got.passes) == (5, 3, 2)
    assert got.scores == (90.0, 30.0)
    assert got.pass_rate == pytest.approx(2 / 3)
    assert got.mean_score == 60.0
    assert got.cost_usd == 0.875  # every run that reported a cost was paid for, failed or not
    assert not got.pass_all
    low, high = stats.wilson_interval(successes=2, n=3)
    assert (got.pass_rate_low, got.pass_rate_high) == (low, high)
    interval = stats.mean_interval(values=[90.0, 30.0])
    assert interval is not None
    assert (got.score_low, got.score_high) == interval


def test_sample_treats_non_finite_scores_and_costs_as_unreported() -> None:
    """A report's `NaN` or `Infinity` must not poison the mean score or the cost."""
    runs = [
        stats.Observation(status="completed", succeeded=True, score=80.0, cost_usd=1.0),
        stats.Observation(status="completed", succeeded=True, score=math.nan, cost_usd=math.inf),
        stats.Observation(status="completed", succeeded=False, score=-math.inf, cost_usd=math.nan),
    ]
    got = stats.sample(runs=runs)
    assert (got.scores, got.mean_score, got.cost_usd) == ((80.0,), 80.0, 1.0)
    assert got.completed == 3


def test_sample_of_no_completed_run_has_no_rates() -> None:
    """All runs failed: nothing to rate, no interval, no pass^k; an unreported cost is None."""
    got = stats.sample(runs=[stats.Observation(status="failed", succeeded=False)])
    assert got.to_json() == {
        "runs": 1,
        "completed": 0,
        "passes": 0,
        "passRate": None,
        "passRateLow": None,
        "passRateHigh": None,
        "meanScore": None,
        "scoreLow": None,
        "scoreHigh": None,
        "costUsd": None,
    }
    assert not got.pass_all


def test_sample_json_has_the_contract_keys_and_numbers() -> None:
    """The results document's `sample` object (contract §5) for 4/5 passed, scores 70..90."""
    runs = [
        stats.Observation(status="completed", succeeded=i < 4, score=70.0 + 5 * i, cost_usd=0.5)
        for i in range(5)
    ]
    got = stats.sample(runs=runs).to_json()
    assert got["passRate"] == 0.8
    assert (round(got["passRateLow"], 2), round(got["passRateHigh"], 2)) == (0.38, 0.96)
    assert got["meanScore"] == 80.0
    # by hand: sd = 7.906, t(0.975; 4) = 2.776 → half width 9.817
    assert (round(got["scoreLow"], 2), round(got["scoreHigh"], 2)) == (70.18, 89.82)
    assert got["costUsd"] == 2.5


def test_pass_all_is_every_completed_run_succeeding() -> None:
    """pass^k: 3/3 yes, 2/3 no, 0/0 no (nothing completed proves nothing)."""
    assert stats.pass_all(passes=3, completed=3)
    assert not stats.pass_all(passes=2, completed=3)
    assert not stats.pass_all(passes=0, completed=0)
