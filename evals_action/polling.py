"""Waiting for a run: retry timing as pure functions, and the loop that uses them.

Timing rules (contract §4):
- between polls sleep `interval × U(0.9, 1.1)`, never past the deadline; a success resets backoff;
- after 5xx, 429, network errors and timeouts the backoff doubles, capped at 60 s (but never
  below the interval itself, for intervals over 60 s);
- `Retry-After` replaces the computed delay, capped at 60 s and at the deadline, and jitter never
  makes the wait shorter than it;
- 401/403/404 end the wait at once; other 4xx (and unreadable bodies) after three in a row;
- `completed` with neither report nor failure reason gets up to three grace polls 5 s apart,
  inside the deadline; when the deadline cuts them short the run is done (did not finish);
- the start POST is retried up to 3 times, waiting 1, 2, 4 s (or Retry-After).

The exponential sequence comes from `backoff.expo`; the rest is arithmetic here, so tests assert
exact delays by passing a fixed `rand`.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from evals_action import errors, models, text

if TYPE_CHECKING:  # the Poller drives a backend; backends use this module's retry policies
    from evals_action.backends import base

MAX_DELAY = 60.0
JITTER = (0.9, 1.1)
GRACE_POLLS = 3
GRACE_DELAY = 5.0
CLIENT_ERRORS_FATAL_AFTER = 3

Rand = Callable[[float, float], float]


def expo_delays(*, base_delay: float, count: int) -> list[float]:
    """`count` delays doubling from `base_delay`, capped at `MAX_DELAY` (backoff's generator)."""
    import backoff

    gen = backoff.expo(base=2, factor=base_delay, max_value=MAX_DELAY)
    next(gen)  # backoff's generators are primed with a first `send(None)`
    return list(itertools.islice(gen, count))


def poll_delay(
    *, interval: float, failures: int, retry_after: float | None, remaining: float, rand: Rand
) -> float:
    """Seconds to sleep before the next poll."""
    if retry_after is not None:
        floor = min(retry_after, MAX_DELAY)
        delay = min(floor * rand(1.0, JITTER[1]), max(MAX_DELAY, floor))
        delay = max(delay, floor)
    elif failures == 0:
        delay = interval * rand(*JITTER)
    else:
        # The doubled wait is capped at 60 s, jitter included, but never below the interval.
        jitter = rand(*JITTER)
        doubled = expo_delays(base_delay=interval, count=failures + 1)[-1]
        delay = max(min(doubled * jitter, MAX_DELAY), interval * jitter)
    return max(0.0, min(delay, remaining))


def start_delay(*, attempt: int, retry_after: float | None) -> float:
    """Seconds to wait before retrying the start POST after failed attempt `attempt` (1-3)."""
    return retry_delay(policy=START, attempt=attempt, retry_after=retry_after)


# --- "try N times": retry policies as data, one pure delay function, one loop ----------------


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Try up to `attempts` times; after failed try `i` wait `delays[i - 1]` seconds, or the
    server's `Retry-After` (capped at `MAX_DELAY`) when it gave one."""

    attempts: int
    delays: tuple[float, ...]
    # False: Retry-After replaces the scheduled delay; True: it only lengthens it.
    retry_after_is_floor: bool = False

    def __post_init__(self) -> None:
        if self.attempts < 1 or len(self.delays) < self.attempts - 1:
            raise ValueError(f"{self.attempts} attempts need {self.attempts - 1} delays")


# The evals API's start POST: 1 + 3 retries, 1, 2, 4 s (contract §4).
START = RetryPolicy(attempts=4, delays=(1.0, 2.0, 4.0))
# A rollout service's POST /init: 3 tries, as Eval Protocol's client does.
INIT = RetryPolicy(attempts=3, delays=(1.0, 2.0))
# The GET right after the start: two quick retries, then polling takes over.
FIRST_READ = RetryPolicy(attempts=3, delays=(1.0, 2.0))
# Finding the dispatched workflow run `rollout:<id>`: GitHub lists it a few seconds late.
FIND_RUN = RetryPolicy(attempts=6, delays=(1.0, 2.0, 4.0, 8.0, 16.0), retry_after_is_floor=True)

T = TypeVar("T")


def retry_delay(*, policy: RetryPolicy, attempt: int, retry_after: float | None) -> float:
    """Seconds to wait after failed try `attempt` (1-based)."""
    scheduled = min(policy.delays[attempt - 1], MAX_DELAY)
    if retry_after is None:
        return scheduled
    told = max(0.0, min(retry_after, MAX_DELAY))
    return max(told, scheduled) if policy.retry_after_is_floor else told


def retry_call(
    call: Callable[[], T],
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    on_retry: Callable[[errors.TransientAPIError, int, float], None] = lambda exc, n, d: None,
) -> T:
    """`call()`, tried again after each `errors.TransientAPIError` until `policy.attempts` tries
    have failed; then the last error is raised. Other errors are raised at once. `on_retry`
    hears (error, failed try, delay) before each wait; `sleep` may raise to stop early."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return call()
        except errors.TransientAPIError as exc:
            if attempt == policy.attempts:
                raise
            delay = retry_delay(policy=policy, attempt=attempt, retry_after=exc.retry_after)
            on_retry(exc, attempt, delay)
            sleep(delay)
    raise AssertionError("unreachable: RetryPolicy has at least one attempt")


def needs_grace(run: models.Run) -> bool:
    """A completed run whose report is not written yet."""
    return run.status == models.COMPLETED and run.report is None and not run.failure_reason


@dataclasses.dataclass(frozen=True)
class Result:
    """How the wait ended: a terminal run, the deadline, or a fatal error."""

    run: models.Run
    timed_out: bool = False
    error: errors.APIError | None = None


@dataclasses.dataclass
class Poller:
    """Drives `backend.fetch` until the run ends, the deadline passes or an error is fatal."""

    backend: base.Backend
    interval: float
    deadline: float  # on `clock`'s scale
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    rand: Rand
    progress: Callable[[str], None]
    started_at: float

    def wait(self, *, first: models.Run) -> Result:
        run = first
        failures = 0
        client_errors = 0
        retry_after: float | None = None
        grace_left = GRACE_POLLS
        quick_return = False
        while True:
            if run.terminal and not (needs_grace(run) and grace_left > 0):
                return Result(run=run)
            remaining = self.deadline - self.clock()
            if remaining <= 0:
                # A completed run still waiting for its report is over, not running.
                return Result(run=run, timed_out=not run.terminal)
            long_poll = (
                self.backend.supports_long_poll
                and failures == 0
                and not run.terminal
                and not quick_return
                and min(self.interval, remaining) >= 1
            )
            if run.terminal:  # completed without a report yet: a grace poll
                grace_left -= 1
                delay = min(GRACE_DELAY, remaining)
            elif long_poll:
                delay = 0.0
            else:
                delay = poll_delay(
                    interval=self.interval,
                    failures=failures,
                    retry_after=retry_after,
                    remaining=remaining,
                    rand=self.rand,
                )
            self._report(run=run, delay=delay, long_poll=long_poll)
            self.sleep(delay)
            wait = min(self.interval, max(0.0, self.deadline - self.clock())) if long_poll else 0.0
            asked_at, before = self.clock(), run.status
            try:
                run = self.backend.fetch(run_id=run.run_id, wait_seconds=wait)
            except errors.TransientAPIError as exc:
                failures += 1
                retry_after = exc.retry_after
                self.progress(f"   poll failed, will retry: {exc.message}")
                continue
            except errors.ClientAPIError as exc:
                client_errors += 1
                failures += 1
                retry_after = None
                if client_errors >= CLIENT_ERRORS_FATAL_AFTER:
                    return Result(run=run, error=exc)
                self.progress(f"   poll failed ({client_errors}/3): {exc.message}")
                continue
            except errors.FatalAPIError as exc:
                return Result(run=run, error=exc)
            failures = 0
            client_errors = 0
            retry_after = None
            # A server that answers a long poll at once with nothing new gets a normal wait
            # next, so a misbehaving one cannot turn the loop into a stream of requests.
            quick_return = long_poll and run.status == before and self.clock() - asked_at < 1

    def _report(self, *, run: models.Run, delay: float, long_poll: bool) -> None:
        elapsed = text.duration(self.clock() - self.started_at)
        nxt = "long poll" if long_poll else f"next check in {delay:.1f}s"
        self.progress(f"[{elapsed}] status={run.status}, {nxt}")
