"""Which run starts when (suites-contract §2).

Plans prompts × repeats, attempt 1 of every prompt first. Starts runs in worker threads up to
`concurrency`; a prompt with a run in flight gets no second one unless `overlap()` says the
server advertised that runs of one step never supersede each other. A run that ended `failed`
(infrastructure: failed, unavailable) is retried once as a new attempt, if the budget and the
deadline allow. Once the reported cost reaches the budget, or the deadline has passed, nothing
new starts; runs in flight finish (the deadline ends them as timed out) and the planned runs
never started are reported as not run (`Attempt.run` None, `result` None).

Adaptive sampling: when a prompt's runs have all ended, `more(prompt, attempts)` says whether it
gets one more (its verdict is `inconclusive`); it is asked only while the prompt has had fewer
than `max_repeats` planned runs, before the deadline; a run it adds once the budget is spent
is reported as not run, like the planned runs the budget stopped.

The waiting happens in the calling (main) thread, so SIGTERM/SIGINT reach it: `errors.Cancelled`
sets `stop`, every in-flight run's sleep then raises, and each ends `cancelled`.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import threading
from collections.abc import Callable, Sequence

from evals_action import errors, suite_model

INFRASTRUCTURE = frozenset({"failed", "unavailable"})
# How often the main thread wakes to check the deadline while runs are in flight.
_TICK = 0.5

RunOne = Callable[[str, int], suite_model.Attempt]  # (prompt id, attempt number) → its attempt


@dataclasses.dataclass
class _Prompt:
    prompt_id: str
    # runs still to start, in order: False a planned run, True the retry of a failed one
    queue: collections.deque[bool]
    planned: int = 0  # planned runs so far: `repeats`, plus one per run adaptive sampling added
    started: int = 0
    in_flight: int = 0
    retries: set[int] = dataclasses.field(default_factory=set)  # attempt numbers that retry
    attempts: list[suite_model.Attempt] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Plan:
    prompt_ids: Sequence[str]
    repeats: int
    max_repeats: int
    concurrency: int
    budget_usd: float | None
    deadline: float


@dataclasses.dataclass(frozen=True)
class Ran:
    """What the scheduler did: every prompt's attempts, in attempt order."""

    attempts: dict[str, tuple[suite_model.Attempt, ...]]
    planned: int
    budget_exhausted: bool
    cancelled: bool


class Scheduler:
    def __init__(
        self,
        *,
        plan: Plan,
        run_one: RunOne,
        clock: Callable[[], float],
        overlap: Callable[[], bool],
        stop: threading.Event,
        on_done: Callable[[str, tuple[suite_model.Attempt, ...]], None] = lambda p, a: None,
        more: Callable[[str, tuple[suite_model.Attempt, ...]], bool] = lambda p, a: False,
    ) -> None:
        self._plan = plan
        self._run_one = run_one
        self._clock = clock
        self._overlap = overlap
        self._stop = stop
        self._on_done = on_done  # a prompt's last run ended (none queued, none in flight)
        self._more = more
        self._prompts = [
            _Prompt(p, collections.deque([False] * plan.repeats), planned=plan.repeats)
            for p in plan.prompt_ids
        ]
        self._cost = 0.0
        self._budget_hit = False

    def run(self) -> Ran:
        cancelled = False
        with concurrent.futures.ThreadPoolExecutor(max_workers=self._plan.concurrency) as pool:
            flying: dict[concurrent.futures.Future[suite_model.Attempt], _Prompt] = {}
            while True:
                try:
                    self._start_what_can(pool=pool, flying=flying)
                    if not flying:
                        break
                    done, _ = concurrent.futures.wait(
                        flying, timeout=_TICK, return_when=concurrent.futures.FIRST_COMPLETED
                    )
                except errors.Cancelled:
                    cancelled = True
                    self._stop.set()
                    done, _ = concurrent.futures.wait(flying)
                for future in done:
                    self._finished(flying.pop(future), future.result())
                if cancelled and not flying:
                    break
        return self._ran(cancelled=cancelled)

    def _start_what_can(
        self,
        *,
        pool: concurrent.futures.ThreadPoolExecutor,
        flying: dict[concurrent.futures.Future[suite_model.Attempt], _Prompt],
    ) -> None:
        """Round-robin over the prompts, attempt by attempt, up to `concurrency` in flight."""
        while len(flying) < self._plan.concurrency and self._may_start():
            nxt = self._next_prompt()
            if nxt is None:
                return
            nxt.started += 1
            if nxt.queue.popleft():
                nxt.retries.add(nxt.started)
            nxt.in_flight += 1
            flying[pool.submit(self._run_one, nxt.prompt_id, nxt.started)] = nxt

    def _may_start(self, *, budget: bool = True) -> bool:
        spent = budget and self._budget_hit
        return not (self._stop.is_set() or spent or self._clock() >= self._plan.deadline)

    def _next_prompt(self) -> _Prompt | None:
        ready = [p for p in self._prompts if p.queue and (p.in_flight == 0 or self._overlap())]
        return min(ready, key=lambda p: p.started, default=None)

    def _finished(self, prompt: _Prompt, attempt: suite_model.Attempt) -> None:
        prompt.in_flight -= 1
        prompt.attempts.append(attempt)
        self._cost += attempt.cost_usd or 0.0
        budget = self._plan.budget_usd
        if budget is not None and self._cost >= budget:
            self._budget_hit = True
        kind = attempt.result.kind if attempt.result else None
        if kind in INFRASTRUCTURE and attempt.attempt not in prompt.retries and self._may_start():
            prompt.queue.appendleft(True)  # retried once, before the prompt's next planned run
        if prompt.queue or prompt.in_flight:
            return
        ended = tuple(sorted(prompt.attempts, key=_number))
        # Past the budget the run is still planned, and reported not run: the budget stopped it.
        room = prompt.planned < self._plan.max_repeats and self._may_start(budget=False)
        if room and self._more(prompt.prompt_id, ended):
            prompt.planned += 1
            prompt.queue.append(False)
            return
        self._on_done(prompt.prompt_id, ended)

    def _ran(self, *, cancelled: bool) -> Ran:
        attempts: dict[str, tuple[suite_model.Attempt, ...]] = {}
        stopped = False
        for p in self._prompts:
            never = [
                suite_model.Attempt(
                    prompt_id=p.prompt_id, attempt=p.started + i, run=None, result=None
                )
                for i in range(1, len(p.queue) + 1)
            ]
            stopped = stopped or bool(never)
            done = sorted(p.attempts, key=_number)
            attempts[p.prompt_id] = tuple(done + never)
        planned = sum(p.planned for p in self._prompts)
        return Ran(
            attempts=attempts,
            planned=planned,
            budget_exhausted=self._budget_hit and stopped,
            cancelled=cancelled,
        )


def _number(attempt: suite_model.Attempt) -> int:
    return attempt.attempt
