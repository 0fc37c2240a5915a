"""What a suite is made of and what it produced: plain data shared by the suite's runner, its
comment, its statuses, its outputs and its results document (suites-contract.md).

A step evaluates one or more prompts, each one or more times (attempts). The runner fills a
`SuiteResult`; everything the user sees is rendered from it. One prompt with one attempt is the
action contract's single run and keeps its own comment and outputs (drop-in); everything here is
for the suite case.

Imports only `models`, `outcome`, `stats` and `verdicts` of ours (plain data and pure functions).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from evals_action import models, outcome, stats, verdicts

# Verdicts (suites-contract §3), exact strings: `verdicts` owns them and their order.
REGRESSED = verdicts.REGRESSED
INCONCLUSIVE = verdicts.INCONCLUSIVE
NO_BASELINE = verdicts.NO_BASELINE
UNCHANGED = verdicts.UNCHANGED
IMPROVED = verdicts.IMPROVED
NOT_RUN = verdicts.NOT_RUN


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One run of one prompt: started (with how it ended) or never started (`run` is None)."""

    prompt_id: str
    attempt: int  # 1-based per prompt, as sent in `context.attempt`
    run: models.Run | None
    result: outcome.Outcome | None  # None while running or when never started

    @property
    def started(self) -> bool:
        return self.run is not None

    @property
    def cost_usd(self) -> float | None:
        report = self.run.report if self.run else None
        metrics = report.metrics if report else None
        return metrics.cost_usd if metrics else None

    @property
    def score(self) -> float | None:
        report = self.run.report if self.run else None
        return report.score if report else None

    @property
    def observation(self) -> stats.Observation | None:
        """The run as the statistics count it (§2); None while running or never started."""
        if self.run is None or self.result is None:
            return None
        status = stats.COMPLETED if self.result.completed else self.result.kind
        succeeded = self.result.kind == "succeeded"
        return stats.Observation(status, succeeded, score=self.score, cost_usd=self.cost_usd)


@dataclasses.dataclass(frozen=True)
class Baseline:
    """The prompt's prior published runs the verdict compares with (results document §5)."""

    runs: int
    pass_rate: float | None = None
    mean_score: float | None = None

    @classmethod
    def of(cls, sample: stats.Sample) -> Baseline:
        return cls(runs=sample.completed, pass_rate=sample.pass_rate, mean_score=sample.mean_score)

    def as_sample(self) -> stats.Sample:
        """The numbers `verdicts.summary_row` shows for a baseline (its size, rate and mean)."""
        passes = round((self.pass_rate or 0.0) * self.runs)
        scores = () if self.mean_score is None else (self.mean_score,)
        return stats.Sample(self.runs, self.runs, passes, scores, cost_usd=None)


@dataclasses.dataclass(frozen=True)
class PromptResult:
    """Every attempt of one prompt, and what the step concluded about it."""

    prompt_id: str
    title: str | None
    attempts: tuple[Attempt, ...]
    verdict: str = NO_BASELINE
    verdict_text: str = ""  # the one sentence that explains the verdict, for the comment
    gates_failed: tuple[str, ...] = ()  # one line per tripped gate, with its numbers
    baseline: Baseline | None = None
    gates_tripped: tuple[str, ...] = ()  # the names of the tripped gates, as `gates_failed`

    @property
    def sample(self) -> stats.Sample:
        """The prompt's sample in numbers (`stats`): what the verdict and the gates judge."""
        return stats.sample(runs=[o for a in self.attempts if (o := a.observation) is not None])

    @property
    def completed(self) -> tuple[Attempt, ...]:
        """Attempts that ended as an agent result (succeeded or DNF): the sample (§2)."""
        return tuple(a for a in self.attempts if a.result is not None and a.result.completed)

    @property
    def passes(self) -> int:
        return sum(
            1 for a in self.completed if a.result is not None and a.result.kind == "succeeded"
        )

    @property
    def mean_score(self) -> float | None:
        """The mean over completed attempts with a numeric score; None when there is none."""
        scores = [a.score for a in self.completed if a.score is not None]
        return sum(scores) / len(scores) if scores else None

    @property
    def cost_usd(self) -> float | None:
        """The reported cost of every attempt; None when no attempt reported one."""
        costs = [a.cost_usd for a in self.attempts if a.cost_usd is not None]
        return sum(costs) if costs else None


@dataclasses.dataclass(frozen=True)
class SuiteResult:
    """The whole step: its prompts, its budget and where its comment goes."""

    suite_id: str  # `context.suite`: one id per step invocation
    comment_key: str
    sha: str | None
    prompts: tuple[PromptResult, ...]
    runs_planned: int
    budget_exhausted: bool = False

    @property
    def runs_started(self) -> int:
        return sum(1 for p in self.prompts for a in p.attempts if a.started)

    @property
    def total_cost_usd(self) -> float:
        return sum(a.cost_usd or 0.0 for p in self.prompts for a in p.attempts)


def worst_verdict(found: Sequence[str]) -> str:
    """The `verdict` output: the worst of the prompts' verdicts (§5); `not-run` when none ran."""
    return verdicts.worst(verdicts=found) or NOT_RUN
