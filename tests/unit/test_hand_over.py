"""`hand_over.give`: the step's hand-over is retried on transient errors, and a refusal is a
warning (the server writes the report when its hold ends), never a failed step."""

from __future__ import annotations

import io

from evals_action import actions_runtime, errors, hand_over


class _Backend:
    """Answers the hand-over with the given errors, in order, then succeeds."""

    def __init__(self, *failures: errors.EvalsActionError) -> None:
        self._failures = list(failures)
        self.calls: list[tuple[str, int | None]] = []

    def hand_over(self, *, run_id: str, comment_id: int | None) -> None:
        self.calls.append((run_id, comment_id))
        if self._failures:
            raise self._failures.pop(0)


def _give(backend: _Backend) -> tuple[str, list[float]]:
    log, slept = io.StringIO(), []
    step = actions_runtime.StepIO(actions=True, stdout=log)
    hand_over.give(backend=backend, run_id="r1", comment_id=7, step=step, sleep=slept.append)
    return log.getvalue(), slept


def test_transient_errors_are_retried_quickly() -> None:
    busy = errors.TransientAPIError("hand the run over: HTTP 503", status=503)
    backend = _Backend(busy, busy)
    log, slept = _give(backend)
    assert backend.calls == [("r1", 7)] * 3
    assert slept == [1.0, 2.0]
    assert "::warning" not in log


def test_a_refusal_is_a_warning_naming_the_fallback() -> None:
    backend = _Backend(errors.ClientAPIError("hand the run over: HTTP 409", status=409))
    log, slept = _give(backend)
    assert backend.calls == [("r1", 7)]
    assert slept == []
    (warning,) = [line for line in log.splitlines() if line.startswith("::warning")]
    assert "Could not hand run r1 over" in warning
    assert "HTTP 409" in warning
    assert "2 minutes after the start" in warning
