"""The suite scheduler's rules (suites-contract §2) with a scripted `run_one`: which runs start,
in which order, how many; no network, no sleeping (an injected clock)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from evals_action import models, outcome, suite_model
from evals_action.suite import report, results, scheduler


def _attempt(
    prompt_id: str, number: int, *, status: str, cost: float | None = 0.1
) -> suite_model.Attempt:
    report_ = models.Report(score=80, outcome="succeeded", metrics=models.Metrics(cost_usd=cost))
    run = models.Run(
        run_id=f"{prompt_id}-{number}",
        status=status,
        run_url=f"https://evals.example/runs/{prompt_id}-{number}",
        failure_reason="sandbox crashed" if status == models.FAILED else None,
        report=report_ if status == models.COMPLETED else None,
    )
    return suite_model.Attempt(
        prompt_id=prompt_id, attempt=number, run=run, result=outcome.final(run)
    )


def _run(
    run_one: scheduler.RunOne,
    *,
    prompts: tuple[str, ...] = ("a", "b"),
    repeats: int = 2,
    budget: float | None = None,
    clock: Callable[[], float] = lambda: 0.0,
    concurrency: int = 4,
    max_repeats: int | None = None,
    more: Callable[[str, tuple[suite_model.Attempt, ...]], bool] = lambda p, a: False,
) -> scheduler.Ran:
    plan = scheduler.Plan(
        prompt_ids=prompts,
        repeats=repeats,
        max_repeats=max_repeats or repeats,
        concurrency=concurrency,
        budget_usd=budget,
        deadline=100.0,
    )
    return scheduler.Scheduler(
        plan=plan,
        run_one=run_one,
        clock=clock,
        overlap=lambda: False,
        stop=threading.Event(),
        more=more,
    ).run()


def test_every_prompt_runs_repeats_times_with_attempts_numbered_from_one() -> None:
    ran = _run(lambda p, n: _attempt(p, n, status=models.COMPLETED), repeats=3)
    assert {p: [a.attempt for a in atts] for p, atts in ran.attempts.items()} == {
        "a": [1, 2, 3],
        "b": [1, 2, 3],
    }
    assert ran.planned == 6
    assert not ran.budget_exhausted


def test_a_failed_run_is_retried_once_and_a_failed_retry_is_not() -> None:
    ran = _run(lambda p, n: _attempt(p, n, status=models.FAILED if p == "b" else models.COMPLETED))
    assert [a.result.kind for a in ran.attempts["b"] if a.result] == ["failed"] * 4
    assert len(ran.attempts["a"]) == 2


def test_a_dnf_is_an_agent_result_and_is_not_retried() -> None:
    def dnf(p: str, n: int) -> suite_model.Attempt:
        run = models.Run(
            run_id=f"{p}{n}",
            status=models.COMPLETED,
            run_url="https://e.example/r",
            report=models.Report(outcome="failed", key_finding="stuck"),
        )
        return suite_model.Attempt(prompt_id=p, attempt=n, run=run, result=outcome.final(run))

    ran = _run(dnf, prompts=("a",))
    assert [a.result.kind for a in ran.attempts["a"] if a.result] == ["dnf", "dnf"]


def test_the_budget_stops_new_runs_and_the_rest_are_not_run() -> None:
    ran = _run(
        lambda p, n: _attempt(p, n, status=models.COMPLETED, cost=0.25),
        prompts=("a",),
        repeats=5,
        budget=0.5,
        concurrency=1,
    )
    kinds = [results.status_of(a) for a in ran.attempts["a"]]
    assert kinds == ["succeeded", "succeeded", "not-run", "not-run", "not-run"]
    assert ran.budget_exhausted


def test_nothing_starts_after_the_deadline() -> None:
    now = [0.0]

    def run_one(p: str, n: int) -> suite_model.Attempt:
        now[0] = 100.0  # the first run ends at the deadline
        return _attempt(p, n, status=models.COMPLETED)

    ran = _run(run_one, prompts=("a",), repeats=3, clock=lambda: now[0], concurrency=1)
    assert [results.status_of(a) for a in ran.attempts["a"]] == ["succeeded", "not-run", "not-run"]
    assert not ran.budget_exhausted


def test_a_sample_of_several_runs_is_described_with_passes_mean_and_verdict() -> None:
    attempts = tuple(_attempt("a", n, status=models.COMPLETED) for n in (1, 2, 3))
    prompt = suite_model.PromptResult(prompt_id="a", title="A", attempts=attempts)
    status = report.prompt_status(prompt, timeout_fails=False)
    assert (status.state, status.description) == ("success", "3/3 passed · mean 80 · no-baseline")


def test_only_a_prompt_that_asks_for_more_gets_extra_runs_up_to_max_repeats() -> None:
    asked: list[tuple[str, int]] = []

    def more(prompt_id: str, attempts: tuple[suite_model.Attempt, ...]) -> bool:
        asked.append((prompt_id, len(attempts)))
        return prompt_id == "b"

    ran = _run(lambda p, n: _attempt(p, n, status=models.COMPLETED), max_repeats=5, more=more)
    assert [a.attempt for a in ran.attempts["a"]] == [1, 2]
    assert [a.attempt for a in ran.attempts["b"]] == [1, 2, 3, 4, 5]
    # asked once a prompt's runs had all ended, never at max-repeats
    assert sorted(asked) == [("a", 2), ("b", 2), ("b", 3), ("b", 4)]
    assert ran.planned == 7


def test_an_extra_run_that_failed_is_retried_without_using_up_max_repeats() -> None:
    def run_one(p: str, n: int) -> suite_model.Attempt:
        return _attempt(p, n, status=models.FAILED if n == 3 else models.COMPLETED)

    ran = _run(run_one, prompts=("a",), max_repeats=3, more=lambda p, a: True)
    assert [a.result.kind for a in ran.attempts["a"] if a.result] == [
        "succeeded", "succeeded", "failed", "succeeded",
    ]  # fmt: skip


def test_an_extra_run_past_the_budget_is_reported_not_run() -> None:
    ran = _run(
        lambda p, n: _attempt(p, n, status=models.COMPLETED, cost=0.25),
        prompts=("a",),
        budget=0.5,
        max_repeats=4,
        more=lambda p, a: True,
    )
    assert [a.started for a in ran.attempts["a"]] == [True, True, False]
    assert ran.budget_exhausted
    assert ran.planned == 3


def test_no_extra_run_is_asked_for_after_the_deadline() -> None:
    asked: list[str] = []
    ended: list[int] = []

    def run_one(p: str, n: int) -> suite_model.Attempt:
        ended.append(n)
        return _attempt(p, n, status=models.COMPLETED)

    ran = _run(
        run_one,
        prompts=("a",),
        clock=lambda: 1000.0 if len(ended) == 2 else 0.0,  # the deadline (100) passes at run 2
        max_repeats=4,
        more=lambda p, a: asked.append(p) is None,
    )
    assert asked == []
    assert len(ran.attempts["a"]) == 2
