"""The verdict method, adaptive sampling, gates and the words the user reads (issue 11)."""

from __future__ import annotations

import pytest

from benchmarks import verdicts as bench
from evals_action import stats, verdicts


def sample(passes: int, completed: int, scores: tuple[float, ...] = ()) -> stats.Sample:
    return stats.Sample(
        runs=completed, completed=completed, passes=passes, scores=scores, cost_usd=None
    )


def decide(current: stats.Sample, baseline: stats.Sample | None, *, repeats: int = 3,
           max_repeats: int = 10) -> verdicts.Decision:  # fmt: skip
    return verdicts.decide(
        current=current, baseline=baseline, repeats=repeats, max_repeats=max_repeats
    )


@pytest.mark.parametrize(("repeats", "max_repeats"), [(1, 1), (3, 3), (1, 10), (3, 10), (20, 50)])
def test_look_alphas_add_up_to_the_family_alpha(repeats: int, max_repeats: int) -> None:
    """Union bound: the levels of every look adaptive sampling can make sum to exactly 0.05."""
    looks = range(repeats, max_repeats + 1)
    total = sum(
        verdicts.look_alpha(completed=n, repeats=repeats, max_repeats=max_repeats) for n in looks
    )
    assert total == pytest.approx(verdicts.ALPHA)


def test_look_alpha_keeps_most_for_the_last_look_and_none_below_repeats() -> None:
    """repeats 3, max 10: 0.04 at 10 runs, 0.01/7 at 3..9 runs, 0 with fewer than 3 completed."""
    assert verdicts.look_alpha(completed=10, repeats=3, max_repeats=10) == pytest.approx(0.04)
    assert verdicts.look_alpha(completed=5, repeats=3, max_repeats=10) == pytest.approx(0.01 / 7)
    assert verdicts.look_alpha(completed=2, repeats=3, max_repeats=10) == 0.0
    assert verdicts.look_alpha(completed=3, repeats=3, max_repeats=3) == 0.05


def test_the_contract_drop_regresses_at_the_last_look() -> None:
    """3/10 against 9/10 with max-repeats 10: p = 0.004 ≤ 0.04 → regressed."""
    got = decide(sample(3, 10), sample(9, 10))
    assert got.verdict == verdicts.REGRESSED
    assert got.p_lower == pytest.approx(0.0039778, abs=1e-7)
    assert got.alpha == pytest.approx(0.04)


def test_the_same_drop_at_an_early_look_asks_for_more_runs() -> None:
    """3/10 against 9/10 when 20 runs are allowed: 0.004 > 0.01/17, so inconclusive, not yet."""
    got = decide(sample(3, 10), sample(9, 10), max_repeats=20)
    assert got.verdict == verdicts.INCONCLUSIVE


def test_a_significant_rise_is_improved() -> None:
    """9/10 against a 3/10 baseline → improved (the same test, the other way)."""
    assert decide(sample(9, 10), sample(3, 10)).verdict == verdicts.IMPROVED


@pytest.mark.parametrize(
    ("current", "baseline", "expected"),
    [
        ((9, 10), (9, 10), verdicts.UNCHANGED),
        ((8, 10), (9, 10), verdicts.UNCHANGED),  # within MARGIN
        ((6, 10), (9, 10), verdicts.INCONCLUSIVE),  # 0.3 apart, p = 0.076
        ((1, 2), (3, 3), verdicts.INCONCLUSIVE),  # fewer completed than repeats: no verdict yet
    ],
)
def test_no_significant_difference_is_unchanged_only_when_close(
    current: tuple[int, int], baseline: tuple[int, int], expected: str
) -> None:
    """Not significant: `unchanged` when the pass rates are within 0.1, else `inconclusive`."""
    assert decide(sample(*current), sample(*baseline)).verdict == expected


def test_not_run_and_no_baseline() -> None:
    """No completed run → not-run (before anything else); no baseline runs → no-baseline."""
    assert decide(sample(0, 0), sample(9, 10)).verdict == verdicts.NOT_RUN
    assert decide(sample(2, 3), None).verdict == verdicts.NO_BASELINE
    assert decide(sample(2, 3), sample(0, 0)).verdict == verdicts.NO_BASELINE


@pytest.mark.parametrize(("passes", "base_passes"), [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_one_run_per_side_never_decides(passes: int, base_passes: int) -> None:
    """§3: one run against one run is never regressed or improved (smallest p-value 0.25)."""
    got = decide(sample(passes, 1), sample(base_passes, 1), repeats=1, max_repeats=1)
    assert got.verdict in (verdicts.UNCHANGED, verdicts.INCONCLUSIVE)


def test_one_failure_needs_seven_straight_baseline_passes_to_regress() -> None:
    """What one run can support (docs/verdicts.md): a failure against a baseline that almost
    never fails (7 of 7, 19 of 20; not 6 of 6 or 9 of 10), without adaptive sampling; with
    adaptive sampling on, the first look asks for more runs. A success mirrors it."""
    assert decide(sample(0, 1), sample(6, 6), repeats=1, max_repeats=1).verdict != "regressed"
    assert decide(sample(0, 1), sample(7, 7), repeats=1, max_repeats=1).verdict == "regressed"
    assert decide(sample(0, 1), sample(9, 10), repeats=1, max_repeats=1).verdict != "regressed"
    assert decide(sample(0, 1), sample(19, 20), repeats=1, max_repeats=1).verdict == "regressed"
    assert decide(sample(1, 1), sample(0, 7), repeats=1, max_repeats=1).verdict == "improved"
    assert decide(sample(0, 1), sample(20, 20), repeats=1, max_repeats=10).verdict == (
        verdicts.INCONCLUSIVE
    )


def test_should_sample_more_only_while_inconclusive_and_below_max() -> None:
    """The adaptive rule: inconclusive and fewer than max-repeats completed; nothing else."""
    assert verdicts.should_sample_more(verdict="inconclusive", completed=3, max_repeats=10)
    assert not verdicts.should_sample_more(verdict="inconclusive", completed=10, max_repeats=10)
    for other in ("regressed", "improved", "unchanged", "no-baseline", "not-run"):
        assert not verdicts.should_sample_more(verdict=other, completed=3, max_repeats=10)


def test_worst_follows_the_contract_order() -> None:
    """regressed > not-run > inconclusive > no-baseline > unchanged > improved; none → None."""
    assert verdicts.worst(verdicts=["improved", "unchanged", "no-baseline"]) == "no-baseline"
    assert verdicts.worst(verdicts=["inconclusive", "regressed"]) == "regressed"
    assert verdicts.worst(verdicts=["improved", "not-run", "inconclusive"]) == "not-run"
    assert verdicts.worst(verdicts=[]) is None


def test_pass_rate_gate_line_has_the_numbers() -> None:
    """The issue's example line for a pass rate below min-pass-rate."""
    got = verdicts.gates(current=sample(2, 5), verdict="inconclusive", min_score=None,
                         min_pass_rate=0.8, fail_on_regression=True)  # fmt: skip
    assert got.tripped == ("min-pass-rate",)
    assert got.error_line(title="Sign up") == (
        'Gate failed for "Sign up": pass rate 0.40 < min-pass-rate 0.80 (2/5 passed)'
    )


def test_every_tripped_gate_goes_in_one_line() -> None:
    """Three gates trip: one line, in the order pass rate, score, regression."""
    got = verdicts.gates(current=sample(1, 4, (70.0, 50.0, 40.0)), verdict="regressed",
                         min_score=62.5, min_pass_rate=0.5, fail_on_regression=True)  # fmt: skip
    assert got.tripped == ("min-pass-rate", "min-score", "fail-on-regression")
    assert got.error_line(title="Sign up") == (
        'Gate failed for "Sign up": pass rate 0.25 < min-pass-rate 0.50 (1/4 passed); '
        "mean score 53.3 < min-score 62.5 (3 scored runs); verdict regressed (1/4 passed)"
    )


def test_gates_that_hold_trip_nothing() -> None:
    """At the thresholds exactly, or regressed without fail-on-regression: no gate, no line."""
    got = verdicts.gates(current=sample(4, 5, (80.0,)), verdict="regressed", min_score=80,
                         min_pass_rate=0.8, fail_on_regression=False)  # fmt: skip
    assert got.tripped == ()
    assert got.error_line(title="Sign up") is None


def test_min_score_trips_when_no_run_reported_a_score() -> None:
    """A gate on score with completed runs but no score fails rather than passing silently."""
    got = verdicts.gates(current=sample(3, 3), verdict="unchanged", min_score=70,
                         min_pass_rate=None, fail_on_regression=False)  # fmt: skip
    assert got.reasons == ("no score < min-score 70 (0 scored runs)",)


def test_no_completed_run_trips_no_gate() -> None:
    """Every run failed: that is already an error (contract §4), not a gate failure."""
    got = verdicts.gates(current=sample(0, 0), verdict="not-run", min_score=70,
                         min_pass_rate=0.5, fail_on_regression=True)  # fmt: skip
    assert got.tripped == ()


def test_summary_row_is_the_issue_example() -> None:
    """`4/5 passed (0.38–0.96) · mean 81 ▼ −7 vs 88 (10 runs) · regressed` (U+2212 minus)."""
    current = sample(4, 5, (81.0, 80.0, 82.0, 81.0, 81.0))
    baseline = sample(9, 10, (88.0,) * 10)
    got = verdicts.summary_row(current=current, baseline=baseline, verdict="regressed")
    assert got == "4/5 passed (0.38–0.96) · mean 81 ▼ \u22127 vs 88 (10 runs) · regressed"


@pytest.mark.parametrize(
    ("baseline", "expected"),
    [
        (sample(1, 1, (70.0,)), "3/3 passed (0.44–1.00) · mean 90 ▲ +20 vs 70 (1 run) · improved"),
        (sample(2, 2, (90.4, 89.6)), "3/3 passed (0.44–1.00) · mean 90 vs 90 (2 runs) · improved"),
        (sample(2, 2), "3/3 passed (0.44–1.00) · mean 90 · improved"),
        (None, "3/3 passed (0.44–1.00) · mean 90 · improved"),
    ],
)
def test_summary_row_variants(baseline: stats.Sample | None, expected: str) -> None:
    """A rise, no change, a baseline without scores, no baseline at all."""
    current = sample(3, 3, (90.0, 90.0, 90.0))
    assert verdicts.summary_row(current=current, baseline=baseline, verdict="improved") == expected


def test_summary_row_without_runs_or_scores() -> None:
    """Nothing completed: `0/0 passed · no score · not-run`."""
    got = verdicts.summary_row(current=sample(0, 0), baseline=None, verdict="not-run")
    assert got == "0/0 passed · no score · not-run"


def test_status_description_is_the_contract_form() -> None:
    """`<passes>/<completed> passed · mean <score> · <verdict>`, well under 140 characters."""
    got = verdicts.status_description(current=sample(4, 5, (80.6, 80.0)), verdict="inconclusive")
    assert got == "4/5 passed · mean 80 · inconclusive"
    assert verdicts.status_description(current=sample(0, 0), verdict="not-run") == (
        "0/0 passed · mean n/a · not-run"
    )


@pytest.mark.parametrize(
    ("current", "baseline", "max_repeats", "expected"),
    [
        ((3, 10), (9, 10), 10, "3/10 passed against 9/10 in the baseline is a significant drop "
         "(one-sided p = 0.004 ≤ 0.040)."),
        ((9, 10), (3, 10), 10, "9/10 passed against 3/10 in the baseline is a significant rise "
         "(one-sided p = 0.004 ≤ 0.040)."),
        ((9, 10), (9, 10), 10, "9/10 passed against 9/10 in the baseline: the pass rates are "
         "within 0.1 of each other and the difference is not significant (one-sided p = 0.601 "
         "> 0.040)."),
        ((6, 10), (9, 10), 10, "6/10 passed against 9/10 in the baseline: the difference is not "
         "significant (one-sided p = 0.076 > 0.040) but too large to call unchanged; more runs "
         "would tell."),
        ((1, 2), (9, 10), 10, "1/2 passed against 9/10 in the baseline: fewer runs completed "
         "than planned, so no verdict yet."),
    ],
)  # fmt: skip
def test_explanations(
    current: tuple[int, int], baseline: tuple[int, int], max_repeats: int, expected: str
) -> None:
    """One sentence per verdict, with the counts, the p-value and the level of this look."""
    now, base = sample(*current), sample(*baseline)
    got = decide(now, base, max_repeats=max_repeats)
    assert verdicts.explain(decision=got, current=now, baseline=base) == expected


def test_explanations_without_data() -> None:
    """not-run and no-baseline say what is missing."""
    none = verdicts.Decision(verdict=verdicts.NOT_RUN)
    assert verdicts.explain(decision=none, current=sample(0, 0), baseline=None) == (
        "No run of this prompt completed, so there is nothing to judge."
    )
    new = verdicts.Decision(verdict=verdicts.NO_BASELINE)
    assert verdicts.explain(decision=new, current=sample(1, 1), baseline=None) == (
        "There are no published runs of this prompt to compare with yet."
    )


SIMULATIONS = 500


@pytest.mark.parametrize(
    ("rate", "settings"),
    [
        (0.5, bench.aa_settings(1)),
        (0.5, bench.aa_settings(3)),
        (0.7, bench.aa_settings(5)),
        (0.5, bench.aa_settings(10)),
        (0.6, bench.SPEC_DROP),
    ],
)
def test_simulated_a_a_false_regressions_stay_under_five_percent(
    rate: float, settings: dict[str, int]
) -> None:
    """The benchmark's property, smaller and seeded: same distribution on both sides, adaptive
    sampling on, `regressed` in at most 5% of the simulated steps."""
    counts, _ = bench.rates(simulations=SIMULATIONS, seed=3, rate=rate, base_rate=rate, **settings)
    assert counts[verdicts.REGRESSED] / SIMULATIONS <= bench.MAX_FALSE_ALARMS


def test_simulated_contract_drop_is_detected_at_least_80_percent() -> None:
    """0.9 → 0.3 with repeats 3, max-repeats 10, a 10-run baseline: `regressed` ≥ 80%.

    As many simulations as the benchmark: Fisher's test in place of Boschloo's lands at 79-80%
    here, so fewer would let that weaker method through by luck of the seed."""
    sims = 2000
    counts, runs = bench.rates(simulations=sims, seed=3, rate=0.3, base_rate=0.9, **bench.SPEC_DROP)
    assert counts[verdicts.REGRESSED] / sims >= bench.MIN_DETECTION
    assert 3 < runs <= 10  # adaptive sampling added runs, never past max-repeats
