"""A prompt's verdict against its baseline, adaptive sampling and gates (suites contract §3, §4).

The method (written out, with the benchmark's numbers, in docs/verdicts.md):
- the test is Boschloo's exact one-sided test on pass rates (`stats.boschloo_lower`): `regressed`
  when the current pass rate is significantly below the baseline's, `improved` when above;
- every look at a sample size n (from `repeats` to `max-repeats`) gets its own share of the
  family-wise alpha (`look_alpha`): the union bound keeps the chance of any false `regressed`
  over all the looks adaptive sampling makes at or below `ALPHA`;
- otherwise `unchanged` when the pass rates are within `MARGIN`, else `inconclusive` (more runs
  could tell); `no-baseline` without a baseline, `not-run` when no run completed.
Scores are shown with their intervals and gated by `min-score`; they do not drive the verdict.

`gates`, `summary_row`, `status_description` and `explain` turn the numbers into words.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from evals_action import stats

REGRESSED = "regressed"
IMPROVED = "improved"
UNCHANGED = "unchanged"
INCONCLUSIVE = "inconclusive"
NO_BASELINE = "no-baseline"
NOT_RUN = "not-run"
# Worst first (contract §5); `not-run` is not in the contract's order: nothing was measured, which
# is worse than a measurement that could not decide, and better than a measured regression.
ORDER = (REGRESSED, NOT_RUN, INCONCLUSIVE, NO_BASELINE, UNCHANGED, IMPROVED)

ALPHA = 0.05  # family-wise chance of a false `regressed` (and, separately, of a false `improved`)
FINAL_SHARE = 0.8  # of ALPHA, kept for the last look (n ≥ max-repeats); the rest spread evenly
MARGIN = 0.1  # pass rates this close count as `unchanged` when the test finds no difference
MINUS = "\N{MINUS SIGN}"


@dataclasses.dataclass(frozen=True)
class Decision:
    """A verdict with the numbers behind it (p-values None when the test was not run)."""

    verdict: str
    p_lower: float | None = None  # one-sided p-value that the current pass rate is lower
    p_higher: float | None = None  # ... that it is higher
    alpha: float = 0.0  # the level this look tested at


@dataclasses.dataclass(frozen=True)
class Gates:
    """Which gates tripped (`min-pass-rate`, `min-score`, `fail-on-regression`) and why."""

    tripped: tuple[str, ...]
    reasons: tuple[str, ...]

    def error_line(self, *, title: str) -> str | None:
        """The one `::error::` message for the prompt, or None when no gate tripped."""
        if not self.tripped:
            return None
        return f'Gate failed for "{title}": ' + "; ".join(self.reasons)


def look_alpha(*, completed: int, repeats: int, max_repeats: int, alpha: float = ALPHA) -> float:
    """The level of the test at a look with `completed` runs: the whole `alpha` without adaptive
    sampling; else `FINAL_SHARE` of it at `max_repeats` and the rest split over the earlier sizes.
    Below `repeats` (runs failed) nothing is decided: 0."""
    if completed < repeats:
        return 0.0
    if max_repeats <= repeats:
        return alpha
    if completed >= max_repeats:
        return alpha * FINAL_SHARE
    return alpha * (1 - FINAL_SHARE) / (max_repeats - repeats)


def decide(
    *,
    current: stats.Sample,
    baseline: stats.Sample | None,
    repeats: int,
    max_repeats: int,
    alpha: float = ALPHA,
) -> Decision:
    """The verdict for `current` against `baseline` at this look (see the module docstring)."""
    if current.completed == 0:
        return Decision(verdict=NOT_RUN)
    if baseline is None or baseline.completed == 0:
        return Decision(verdict=NO_BASELINE)
    level = look_alpha(
        completed=current.completed, repeats=repeats, max_repeats=max_repeats, alpha=alpha
    )
    p_lower = stats.boschloo_lower(
        passes=current.passes, n=current.completed,
        base_passes=baseline.passes, base_n=baseline.completed,
    )  # fmt: skip
    p_higher = stats.boschloo_lower(
        passes=baseline.passes, n=baseline.completed,
        base_passes=current.passes, base_n=current.completed,
    )  # fmt: skip
    found = {"p_lower": p_lower, "p_higher": p_higher, "alpha": level}
    if p_lower <= level:
        return Decision(verdict=REGRESSED, **found)
    if p_higher <= level:
        return Decision(verdict=IMPROVED, **found)
    gap = abs(current.passes / current.completed - baseline.passes / baseline.completed)
    close = gap <= MARGIN + 1e-9  # 0.9 - 0.8 is 0.1000000000000001 in floating point
    enough = current.completed >= repeats
    return Decision(verdict=UNCHANGED if close and enough else INCONCLUSIVE, **found)


def should_sample_more(*, verdict: str, completed: int, max_repeats: int) -> bool:
    """Adaptive sampling: one more run only while `inconclusive` and below `max_repeats`."""
    return verdict == INCONCLUSIVE and completed < max_repeats


def worst(*, verdicts: Iterable[str]) -> str | None:
    """The worst of `verdicts` in `ORDER` (the `verdict` output), None for none."""
    ranked = sorted(verdicts, key=ORDER.index)
    return ranked[0] if ranked else None


def gates(
    *,
    current: stats.Sample,
    verdict: str,
    min_score: float | None,
    min_pass_rate: float | None,
    fail_on_regression: bool,
) -> Gates:
    """The gates that tripped. A prompt with no completed run trips none: every run failing is
    already an error (contract §4); a prompt with completed runs but no score trips `min-score`."""
    found: list[tuple[str, str]] = []
    rate = current.pass_rate
    if min_pass_rate is not None and rate is not None and rate < min_pass_rate:
        found.append(
            (
                "min-pass-rate",
                f"pass rate {rate:.2f} < min-pass-rate {min_pass_rate:.2f} "
                f"({current.passes}/{current.completed} passed)",
            )
        )
    mean = current.mean_score
    if min_score is not None and current.completed and (mean is None or mean < min_score):
        shown = "no score" if mean is None else f"mean score {_number(mean)}"
        found.append(
            (
                "min-score",
                f"{shown} < min-score {_number(min_score)} ({len(current.scores)} scored runs)",
            )
        )
    if fail_on_regression and verdict == REGRESSED:
        found.append(("fail-on-regression", f"verdict regressed ({_passed(current)})"))
    return Gates(tripped=tuple(g for g, _ in found), reasons=tuple(r for _, r in found))


def summary_row(*, current: stats.Sample, baseline: stats.Sample | None, verdict: str) -> str:
    """`4/5 passed (0.38–0.96) · mean 81 ▼ −7 vs 88 (10 runs) · regressed`."""
    parts = [_passed(current)]
    if current.completed:
        low, high = stats.wilson_interval(successes=current.passes, n=current.completed)
        parts[0] += f" ({low:.2f}\N{EN DASH}{high:.2f})"
    parts.append(_mean_vs(current=current, baseline=baseline))
    return " · ".join([*parts, verdict])


def status_description(*, current: stats.Sample, verdict: str) -> str:
    """`<passes>/<completed> passed · mean <score> · <verdict>` (contract §4, ≤ 140 chars)."""
    mean = current.mean_score
    score = "n/a" if mean is None else _number(round(mean))
    return f"{_passed(current)} · mean {score} · {verdict}"


def explain(*, decision: Decision, current: stats.Sample, baseline: stats.Sample | None) -> str:
    """One sentence for the prompt's section of the comment: why this verdict."""
    if decision.verdict == NOT_RUN:
        return "No run of this prompt completed, so there is nothing to judge."
    if decision.verdict == NO_BASELINE or baseline is None:
        return "There are no published runs of this prompt to compare with yet."
    now = f"{current.passes}/{current.completed} passed"
    then = f"{baseline.passes}/{baseline.completed} in the baseline"
    if decision.verdict == REGRESSED:
        return f"{now} against {then} is a significant drop ({_p(decision, lower=True)})."
    if decision.verdict == IMPROVED:
        return f"{now} against {then} is a significant rise ({_p(decision, lower=False)})."
    if decision.verdict == UNCHANGED:
        return (
            f"{now} against {then}: the pass rates are within {MARGIN:.1f} of each other "
            f"and the difference is not significant ({_p(decision, lower=True)})."
        )
    if decision.alpha == 0.0:
        return f"{now} against {then}: fewer runs completed than planned, so no verdict yet."
    return (
        f"{now} against {then}: the difference is not significant "
        f"({_p(decision, lower=True)}) but too large to call unchanged; more runs would tell."
    )


def _mean_vs(*, current: stats.Sample, baseline: stats.Sample | None) -> str:
    mean = current.mean_score
    if mean is None:
        return "no score"
    shown = f"mean {_number(round(mean))}"
    base = baseline.mean_score if baseline is not None else None
    if baseline is None or base is None:
        return shown
    diff = round(mean) - round(base)
    change = "" if diff == 0 else f" ▲ +{diff}" if diff > 0 else f" ▼ {MINUS}{-diff}"
    return f"{shown}{change} vs {_number(round(base))} ({_runs(baseline.completed)})"


def _passed(sample: stats.Sample) -> str:
    return f"{sample.passes}/{sample.completed} passed"


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _p(decision: Decision, *, lower: bool) -> str:
    value = decision.p_lower if lower else decision.p_higher
    sign = "≤" if value is not None and value <= decision.alpha else ">"
    return f"one-sided p = {value:.3f} {sign} {decision.alpha:.3f}"
