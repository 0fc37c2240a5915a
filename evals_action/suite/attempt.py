"""One run of one prompt in a suite, driven by the one-run engine: `starting.start`, the first
read, `polling.Poller`, and `outcome` for how it ended. Runs in a worker thread; `sleep` raises
`errors.Cancelled` once the step is cancelled, which ends the run `cancelled` like today."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from evals_action import errors, models, outcome, polling, starting, suite_model


@dataclasses.dataclass(frozen=True)
class Clocks:
    """The step's timing, shared by every run: one deadline for the whole step."""

    deadline: float  # on `clock`'s scale
    clock: Callable[[], float]
    sleep: Callable[[float], None]  # raises errors.Cancelled once the step is cancelled
    rand: polling.Rand
    interval: float
    timeout_fails: bool


def run(
    *,
    backend: Any,
    request: models.StartRequest,
    attempt: int,
    clocks: Clocks,
    log: Callable[[str], None],
    on_first: Callable[[models.Run], None],
) -> suite_model.Attempt:
    """Start, wait and conclude one run; never raises (a bug ends it `unavailable`)."""
    prompt_id = request.prompt_id
    try:
        started = starting.start(backend=backend, request=request, sleep=clocks.sleep, log=log)
    except errors.Cancelled:
        return suite_model.Attempt(prompt_id=prompt_id, attempt=attempt, run=None, result=None)
    except errors.APIError as exc:
        lost = models.Run(run_id="", status=models.FAILED, run_url="", failure_reason=exc.message)
        failed = outcome.unavailable(lost, reason=exc.message)
        return suite_model.Attempt(prompt_id=prompt_id, attempt=attempt, run=None, result=failed)
    last = models.Run(run_id=started.run_id, status=models.PENDING, run_url=started.run_url)
    try:
        last = starting.first_read(backend=backend, started=started, sleep=clocks.sleep, log=log)
        on_first(last)
        result = _wait(backend=backend, first=last, clocks=clocks, log=log)
        run_, ended = _conclude(backend=backend, result=result, clocks=clocks)
    except errors.Cancelled:
        run_, ended = last, outcome.cancelled(last)
    except Exception as exc:  # noqa: BLE001 - a bug must still end this run, not the suite
        reason = f"internal error ({type(exc).__name__}: {exc}); please report it"
        run_, ended = last, outcome.unavailable(last, reason=reason)
    return suite_model.Attempt(prompt_id=prompt_id, attempt=attempt, run=run_, result=ended)


def _wait(
    *, backend: Any, first: models.Run, clocks: Clocks, log: Callable[[str], None]
) -> polling.Result:
    return polling.Poller(
        backend=backend,
        interval=clocks.interval,
        deadline=clocks.deadline,
        clock=clocks.clock,
        sleep=clocks.sleep,
        rand=clocks.rand,
        progress=lambda line: log(f"{first.run_id}: {line.strip()}"),
        started_at=clocks.clock(),
    ).wait(first=first)


def _conclude(
    *, backend: Any, result: polling.Result, clocks: Clocks
) -> tuple[models.Run, outcome.Outcome]:
    """As the single run concludes (`action._conclude`), without the baseline (issue 11)."""
    run_ = result.run
    if result.error is not None:
        return run_, outcome.unavailable(run_, reason=result.error.message)
    if result.timed_out or run_.status == models.TIMED_OUT:
        backend.cancel(run_id=run_.run_id)
        return run_, outcome.timeout(run_, fails=clocks.timeout_fails)
    return run_, outcome.final(run_)
