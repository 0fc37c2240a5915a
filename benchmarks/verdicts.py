"""How often the verdict method is wrong and how often it is right, by seeded simulation (issue 11).

    .venv/bin/python benchmarks/verdicts.py [--simulations N] [--seed S]

Prints, with adaptive sampling on (a prompt gets one more run while `inconclusive`, up to
`max-repeats`), the same way the suite engine drives `verdicts.decide`:
(a) A/A: the share of `regressed` (and `improved`) verdicts when the current runs and the baseline
    come from the same distribution, for n = 1, 2, 3, 5, 10, 20 runs per side (`repeats` = baseline
    runs = n, `max-repeats` = max(10, 2n)) and base pass rates 0.3, 0.5, 0.7, 0.9;
(b) the detection rate for the contract's drop: pass rate 0.9 → 0.3, `repeats: 3`,
    `max-repeats: 10`, a 10-run baseline;
(c) the whole curve for drops of 0.1 to 0.6 from 0.9 with the same settings (0.0: A/A there).
Each run also gets a score (a passing run around 85, a failing one around 40), so the samples look
like real ones; the verdict itself tests pass rates only (docs/verdicts.md).

Targets (suites contract §3): (a) at most 5% `regressed`, (b) at least 80%. Exits 1 when one is
missed. Results go in docs/verdicts.md. Deterministic: the same seed prints the same numbers.
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import random
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals_action import stats, verdicts  # noqa: E402

SIZES = (1, 2, 3, 5, 10, 20)
RATES = (0.3, 0.5, 0.7, 0.9)
DROPS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
MAX_FALSE_ALARMS = 0.05
MIN_DETECTION = 0.80


def observation(*, rate: float, rng: random.Random) -> stats.Observation:
    """One completed run that succeeds with probability `rate`, with a plausible score."""
    succeeded = rng.random() < rate
    score = rng.gauss(85, 8) if succeeded else rng.gauss(40, 15)
    return stats.Observation(
        status=stats.COMPLETED, succeeded=succeeded, score=min(100.0, max(0.0, score))
    )


def one_prompt(
    *,
    rate: float,
    base_rate: float,
    repeats: int,
    max_repeats: int,
    baseline_runs: int,
    rng: random.Random,
) -> tuple[str, int]:
    """One simulated step for one prompt: its final verdict and how many runs it used."""
    baseline = stats.sample(
        runs=[observation(rate=base_rate, rng=rng) for _ in range(baseline_runs)]
    )
    runs = [observation(rate=rate, rng=rng) for _ in range(repeats)]
    while True:
        current = stats.sample(runs=runs)
        verdict = verdicts.decide(
            current=current, baseline=baseline, repeats=repeats, max_repeats=max_repeats
        ).verdict
        more = verdicts.should_sample_more(
            verdict=verdict, completed=current.completed, max_repeats=max_repeats
        )
        if not more:
            return verdict, len(runs)
        runs.append(observation(rate=rate, rng=rng))


def rates(
    *,
    simulations: int,
    seed: int,
    rate: float,
    base_rate: float,
    repeats: int,
    max_repeats: int,
    baseline_runs: int,
) -> tuple[collections.Counter[str], float]:
    """Verdict counts over `simulations` seeded steps, and the mean number of runs used."""
    rng = random.Random(f"{seed}/{rate}/{base_rate}/{repeats}/{max_repeats}/{baseline_runs}")
    counts: collections.Counter[str] = collections.Counter()
    used = 0
    for _ in range(simulations):
        verdict, runs = one_prompt(
            rate=rate,
            base_rate=base_rate,
            repeats=repeats,
            max_repeats=max_repeats,
            baseline_runs=baseline_runs,
            rng=rng,
        )
        counts[verdict] += 1
        used += runs
    return counts, used / simulations


def aa_settings(n: int) -> dict[str, int]:
    """`repeats` = baseline runs = n, adaptive sampling up to max(10, 2n) runs."""
    return {"repeats": n, "max_repeats": max(10, 2 * n), "baseline_runs": n}


SPEC_DROP = {"repeats": 3, "max_repeats": 10, "baseline_runs": 10}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    sims, seed, missed = args.simulations, args.seed, []
    print(f"(a) A/A, adaptive sampling on, {sims} simulations each: share regressed / improved")
    print("    n  max-repeats " + "".join(f"   p={r:.1f}      " for r in RATES))
    for n in SIZES:
        cells = []
        for rate in RATES:
            counts, _ = rates(
                simulations=sims, seed=seed, rate=rate, base_rate=rate, **aa_settings(n)
            )
            share = counts[verdicts.REGRESSED] / sims
            cells.append(f"{share:6.2%} / {counts[verdicts.IMPROVED] / sims:6.2%}")
            if share > MAX_FALSE_ALARMS:
                missed.append(f"A/A n={n} p={rate}: {share:.2%} regressed")
        print(f"  {n:3d}  {aa_settings(n)['max_repeats']:11d}  " + "  ".join(cells))
    print(f"\n(b, c) drops from 0.9, repeats 3, max-repeats 10, 10-run baseline, {sims} each:")
    print("  drop  pass rate  regressed  inconclusive  unchanged  mean runs")
    for drop in DROPS:
        counts, used = rates(
            simulations=sims, seed=seed, rate=0.9 - drop, base_rate=0.9, **SPEC_DROP
        )
        share = counts[verdicts.REGRESSED] / sims
        print(
            f"  {drop:4.1f}  {0.9 - drop:9.1f}  {share:9.1%}  "
            f"{counts[verdicts.INCONCLUSIVE] / sims:12.1%}  "
            f"{counts[verdicts.UNCHANGED] / sims:9.1%}  {used:9.1f}"
        )
        if drop == 0.6 and share < MIN_DETECTION:
            missed.append(f"drop 0.9 -> 0.3: {share:.1%} regressed")
    print("\nTargets: A/A regressed <= 5%, drop 0.9 -> 0.3 regressed >= 80%:", end=" ")
    print("met" if not missed else "MISSED: " + "; ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
