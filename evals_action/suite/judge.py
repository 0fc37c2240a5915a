"""Each prompt's baseline, verdict and gates, and whether it gets another run (suites-contract
§3, §4): the wiring between the scheduler and `verdicts`, which owns the method.

The baseline is read once per prompt, when its planned runs have ended (`baseline_of`, the
evals API backend's listing; None for a backend without one: `no-baseline`), and kept for the
runs adaptive sampling adds. Called from the scheduler's thread and the final assembly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from evals_action import settings, stats, suite_model, verdicts

# (prompt id, this step's run ids of it) → the baseline's observations, None without one
BaselineOf = Callable[[str, frozenset[str]], Sequence[stats.Observation] | None]


class Judge:
    def __init__(self, *, config: settings.Settings, baseline_of: BaselineOf) -> None:
        self._config = config
        self._baseline_of = baseline_of
        self._baselines: dict[str, stats.Sample | None] = {}
        self._lock = threading.Lock()

    def more(self, prompt_id: str, attempts: Sequence[suite_model.Attempt]) -> bool:
        """Adaptive sampling: one more run while the prompt's verdict is `inconclusive`."""
        current, decision = self._decide(prompt_id, attempts)
        return verdicts.should_sample_more(
            verdict=decision.verdict,
            completed=current.completed,
            max_repeats=self._config.max_repeats,
        )

    def result(
        self, *, prompt_id: str, title: str | None, attempts: tuple[suite_model.Attempt, ...]
    ) -> suite_model.PromptResult:
        """The prompt with its verdict, the sentence explaining it, its baseline and gates."""
        current, decision = self._decide(prompt_id, attempts)
        base = self._baselines.get(prompt_id)
        config = self._config
        gates = verdicts.gates(
            current=current,
            verdict=decision.verdict,
            min_score=config.min_score,
            min_pass_rate=config.min_pass_rate,
            fail_on_regression=config.fail_on_regression,
        )
        return suite_model.PromptResult(
            prompt_id=prompt_id,
            title=title,
            attempts=attempts,
            verdict=decision.verdict,
            verdict_text=verdicts.explain(decision=decision, current=current, baseline=base),
            gates_failed=gates.reasons,
            gates_tripped=gates.tripped,
            baseline=suite_model.Baseline.of(base) if base is not None else None,
        )

    def _decide(
        self, prompt_id: str, attempts: Sequence[suite_model.Attempt]
    ) -> tuple[stats.Sample, verdicts.Decision]:
        prompt = suite_model.PromptResult(prompt_id=prompt_id, title=None, attempts=tuple(attempts))
        current = prompt.sample
        base = self._baseline(prompt_id, attempts) if current.completed else None
        decision = verdicts.decide(
            current=current,
            baseline=base,
            repeats=self._config.repeats,
            max_repeats=self._config.max_repeats,
        )
        return current, decision

    def _baseline(
        self, prompt_id: str, attempts: Sequence[suite_model.Attempt]
    ) -> stats.Sample | None:
        with self._lock:
            if prompt_id not in self._baselines:
                ours = frozenset(a.run.run_id for a in attempts if a.run and a.run.run_id)
                found = self._baseline_of(prompt_id, ours)
                sample = stats.sample(runs=found) if found else None
                self._baselines[prompt_id] = sample
            return self._baselines[prompt_id]


def error_line(prompt: suite_model.PromptResult) -> str | None:
    """The prompt's one `::error::` when a gate tripped (`verdicts.Gates.error_line`)."""
    gates = verdicts.Gates(tripped=prompt.gates_tripped, reasons=prompt.gates_failed)
    return gates.error_line(title=prompt.title or prompt.prompt_id)
