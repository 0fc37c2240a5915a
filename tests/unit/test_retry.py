"""The one retry engine: policies as data, a pure delay function and `retry_call`."""

from __future__ import annotations

import pytest

from evals_action import errors, polling


def transient(retry_after: float | None = None) -> errors.TransientAPIError:
    return errors.TransientAPIError("HTTP 503", status=503, retry_after=retry_after)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (polling.START, [1.0, 2.0, 4.0]),
        (polling.INIT, [1.0, 2.0]),
        (polling.FIRST_READ, [1.0, 2.0]),
        (polling.FIND_RUN, [1.0, 2.0, 4.0, 8.0, 16.0]),
    ],
)
def test_each_policy_waits_its_schedule_then_gives_up(
    policy: polling.RetryPolicy, expected: list[float]
) -> None:
    """Every try fails: the waits are the schedule, and the last error comes out."""
    sleeps: list[float] = []
    calls: list[int] = []

    def fail() -> None:
        calls.append(1)
        raise transient()

    with pytest.raises(errors.TransientAPIError):
        polling.retry_call(fail, policy=policy, sleep=sleeps.append)
    assert sleeps == expected
    assert len(calls) == policy.attempts


def test_retry_after_replaces_the_delay_capped_at_sixty_seconds() -> None:
    delay = polling.retry_delay
    assert delay(policy=polling.START, attempt=1, retry_after=9) == 9
    assert delay(policy=polling.START, attempt=3, retry_after=0.5) == 0.5
    assert delay(policy=polling.START, attempt=1, retry_after=900) == polling.MAX_DELAY
    assert delay(policy=polling.START, attempt=1, retry_after=-5) == 0


def test_a_floor_policy_only_lengthens_its_schedule_with_retry_after() -> None:
    delay = polling.retry_delay
    assert delay(policy=polling.FIND_RUN, attempt=4, retry_after=1) == 8
    assert delay(policy=polling.FIND_RUN, attempt=1, retry_after=30) == 30
    assert delay(policy=polling.FIND_RUN, attempt=1, retry_after=900) == polling.MAX_DELAY


def test_success_after_failures_returns_and_reports_each_retry() -> None:
    outcomes: list[errors.TransientAPIError | None] = [transient(7), transient(), None]
    heard: list[tuple[str, int, float]] = []
    sleeps: list[float] = []

    def call() -> str:
        exc = outcomes.pop(0)
        if exc is not None:
            raise exc
        return "ok"

    result = polling.retry_call(
        call,
        policy=polling.START,
        sleep=sleeps.append,
        on_retry=lambda exc, n, d: heard.append((exc.message, n, d)),
    )
    assert result == "ok"
    assert sleeps == [7, 2.0]
    assert heard == [("HTTP 503", 1, 7), ("HTTP 503", 2, 2.0)]


def test_other_errors_are_not_retried() -> None:
    sleeps: list[float] = []

    def refuse() -> None:
        raise errors.FatalAPIError("HTTP 401", status=401)

    with pytest.raises(errors.FatalAPIError):
        polling.retry_call(refuse, policy=polling.START, sleep=sleeps.append)
    assert sleeps == []


def test_a_policy_must_have_a_delay_between_each_pair_of_tries() -> None:
    with pytest.raises(ValueError, match="3 attempts need 2 delays"):
        polling.RetryPolicy(attempts=3, delays=(1.0,))
