"""polling: exact delay sequences for every timing rule of contract §4, with a fixed `rand`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from evals_action import errors, models, outcome, polling


def low(a: float, b: float) -> float:
    return a


def high(a: float, b: float) -> float:
    return b


def test_delay_is_jittered_around_the_interval() -> None:
    assert (
        polling.poll_delay(interval=20, failures=0, retry_after=None, remaining=999, rand=low) == 18
    )
    assert (
        polling.poll_delay(interval=20, failures=0, retry_after=None, remaining=999, rand=high)
        == 22
    )


def test_failures_double_the_backoff_up_to_sixty_seconds() -> None:
    delays = [
        polling.poll_delay(
            interval=10, failures=f, retry_after=None, remaining=999, rand=lambda a, b: 1
        )
        for f in range(5)
    ]
    assert delays == [10, 20, 40, 60, 60]


def test_retry_after_replaces_the_delay_and_jitter_never_shortens_it() -> None:
    assert polling.poll_delay(interval=20, failures=3, retry_after=7, remaining=999, rand=low) == 7
    assert polling.poll_delay(interval=20, failures=0, retry_after=7, remaining=999, rand=high) == (
        pytest.approx(7.7)
    )


def test_retry_after_is_capped_at_sixty_seconds_and_the_deadline() -> None:
    assert (
        polling.poll_delay(interval=20, failures=0, retry_after=3600, remaining=999, rand=high)
        == 60
    )
    assert (
        polling.poll_delay(interval=20, failures=0, retry_after=30, remaining=12, rand=high) == 12
    )


def test_never_sleeps_past_the_deadline() -> None:
    assert (
        polling.poll_delay(interval=20, failures=0, retry_after=None, remaining=3, rand=high) == 3
    )


def test_start_retries_wait_one_two_four_seconds_or_retry_after() -> None:
    assert [polling.start_delay(attempt=a, retry_after=None) for a in (1, 2, 3)] == [1, 2, 4]
    assert polling.start_delay(attempt=1, retry_after=9) == 9
    assert polling.start_delay(attempt=1, retry_after=900) == 60


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


@dataclasses.dataclass
class ScriptedBackend:
    """A backend that answers fetches from a script: Runs or errors to raise."""

    script: Iterator[models.Run | errors.APIError]
    supports_long_poll: bool = False
    fetches: int = 0
    holds: Clock | None = None  # a long-polling server holds the request for `wait_seconds`
    waits: list[float] = dataclasses.field(default_factory=list)

    def fetch(self, *, run_id: str, wait_seconds: float = 0) -> models.Run:
        self.fetches += 1
        self.waits.append(wait_seconds)
        if self.holds is not None:
            self.holds.now += wait_seconds
        item = next(self.script)
        if isinstance(item, errors.APIError):
            raise item
        return item


def run(status: str, **kw: object) -> models.Run:
    return models.Run(run_id="r1", status=status, run_url="https://x/r1", **kw)  # type: ignore[arg-type]


def poller(backend: ScriptedBackend, clock: Clock, *, minutes: float = 20) -> polling.Poller:
    return polling.Poller(
        backend=backend,  # type: ignore[arg-type]
        interval=20,
        deadline=clock.now + minutes * 60,
        clock=clock,
        sleep=clock.sleep,
        rand=lambda a, b: 1.0,
        progress=lambda line: None,
        started_at=clock.now,
    )


def test_errors_back_off_and_a_success_resets_it() -> None:
    """5xx, 5xx, ok, 429 (Retry-After 5), terminal: delays 20, 40, 80→60 capped... then reset."""
    clock = Clock()
    backend = ScriptedBackend(
        iter(
            [
                errors.TransientAPIError("503"),
                errors.TransientAPIError("503"),
                run("running"),
                errors.TransientAPIError("429", retry_after=5),
                run("completed", failure_reason="x"),
            ]
        )
    )
    result = poller(backend, clock).wait(first=run("pending"))
    assert result.run.status == "completed"
    assert clock.sleeps == [20, 40, 60, 20, 5]


def test_fatal_error_ends_at_once() -> None:
    clock = Clock()
    backend = ScriptedBackend(iter([errors.FatalAPIError("401", status=401)]))
    result = poller(backend, clock).wait(first=run("running"))
    assert isinstance(result.error, errors.FatalAPIError)
    assert backend.fetches == 1


def test_other_client_errors_are_fatal_after_three_in_a_row() -> None:
    clock = Clock()
    backend = ScriptedBackend(
        iter(
            [
                errors.ClientAPIError("400"),
                errors.ClientAPIError("400"),
                run("running"),
                errors.ClientAPIError("400"),
                errors.ClientAPIError("400"),
                errors.ClientAPIError("400"),
            ]
        )
    )
    result = poller(backend, clock).wait(first=run("running"))
    assert isinstance(result.error, errors.ClientAPIError)
    assert backend.fetches == 6


def test_deadline_gives_a_timeout_and_never_oversleeps() -> None:
    clock = Clock()
    backend = ScriptedBackend(iter([run("running")] * 100))
    result = poller(backend, clock, minutes=1).wait(first=run("running"))
    assert result.timed_out
    assert sum(clock.sleeps) == pytest.approx(60)
    assert clock.sleeps == [20, 20, 20]


def test_completed_without_report_gets_three_grace_polls_five_seconds_apart() -> None:
    clock = Clock()
    backend = ScriptedBackend(iter([run("completed")] * 10))
    result = poller(backend, clock).wait(first=run("completed"))
    assert result.run.status == "completed"
    assert clock.sleeps == [5, 5, 5]
    assert backend.fetches == 3


def test_grace_poll_stops_when_the_report_arrives() -> None:
    clock = Clock()
    report = models.Report(outcome="succeeded")
    backend = ScriptedBackend(iter([run("completed"), run("completed", report=report)]))
    result = poller(backend, clock).wait(first=run("completed"))
    assert result.run.report == report
    assert backend.fetches == 2


def test_long_poll_does_not_sleep_between_requests() -> None:
    clock = Clock()
    backend = ScriptedBackend(
        iter([run("running"), run("completed", failure_reason="x")]),
        supports_long_poll=True,
        holds=clock,
    )
    poller(backend, clock).wait(first=run("running"))
    assert clock.sleeps == [0, 0]
    assert backend.waits == [20, 20]


def test_long_poll_answered_at_once_with_nothing_new_falls_back_to_a_normal_wait() -> None:
    """A server that advertises long polling but does not hold cannot make the loop spin."""
    clock = Clock()
    backend = ScriptedBackend(
        iter([run("running"), run("running"), run("completed", failure_reason="x")]),
        supports_long_poll=True,
    )
    poller(backend, clock).wait(first=run("running"))
    assert clock.sleeps == [0, 20, 0]


def test_no_long_poll_shorter_than_a_second_near_the_deadline() -> None:
    clock = Clock()
    backend = ScriptedBackend(iter([run("running")] * 50), supports_long_poll=True, holds=clock)
    result = poller(backend, clock, minutes=0.5).wait(first=run("running"))
    assert result.timed_out
    assert all(w == 0 or w >= 1 for w in backend.waits)
    assert backend.fetches < 5


def test_intervals_over_sixty_seconds_are_kept_and_backoff_never_shortens_them() -> None:
    def one(a: float, b: float) -> float:
        return 1.0

    assert (
        polling.poll_delay(interval=120, failures=0, retry_after=None, remaining=999, rand=one)
        == 120
    )
    assert (
        polling.poll_delay(interval=120, failures=2, retry_after=None, remaining=999, rand=one)
        == 120
    )
    assert (
        polling.poll_delay(interval=50, failures=1, retry_after=None, remaining=999, rand=high)
        == 60
    )


def test_unknown_status_counts_as_still_running() -> None:
    clock = Clock()
    backend = ScriptedBackend(iter([run("queued-somewhere"), run("superseded")]))
    assert poller(backend, clock).wait(first=run("pending")).run.status == "superseded"


def test_grace_polls_cut_short_by_the_deadline_end_the_wait_as_done_not_timed_out() -> None:
    """Contract §5: a completed run is not running. When the deadline cuts its grace polls, the
    wait ends with the completed run (did not finish), never a timeout ("Still running")."""
    clock = Clock()
    backend = ScriptedBackend(iter([run("completed")] * 10))
    result = poller(backend, clock, minutes=8 / 60).wait(first=run("completed"))
    assert clock.sleeps == [5, 3]
    assert result.run.status == "completed"
    assert not result.timed_out
    assert outcome.final(result.run).heading == "Did not finish"
