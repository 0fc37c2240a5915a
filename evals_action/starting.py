"""The start call and the first read of a run, each retried through `polling.retry_call`.

The start is retried on transient errors with the same Idempotency-Key (the backend's
`start_policy`); the first read gets two quick retries and then leaves the rest to polling.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from evals_action import errors, models, polling


def start(
    *,
    backend: Any,
    request: models.StartRequest,
    sleep: Callable[[float], None],
    log: Callable[[str], None],
) -> models.StartedRun:
    """The start call, retried on transient errors with the same Idempotency-Key."""
    policy: polling.RetryPolicy = backend.start_policy

    def retrying(exc: errors.TransientAPIError, attempt: int, delay: float) -> None:
        log(f"Start failed ({exc.message}); retrying in {delay:.0f}s")

    try:
        started: models.StartedRun = polling.retry_call(
            lambda: backend.start(request=request),
            policy=policy,
            sleep=sleep,
            on_retry=retrying,
        )
    except errors.TransientAPIError as exc:
        raise errors.APIError(
            f"{exc.message} (gave up after {policy.attempts} attempts; the service may be down, "
            "try again later)",
            status=exc.status,
        ) from exc
    return started


def first_read(
    *,
    backend: Any,
    started: models.StartedRun,
    sleep: Callable[[float], None],
    log: Callable[[str], None],
) -> models.Run:
    """The GET right after the start, for the title (which names the status context) and the
    links. Transient failures get two quick retries (1 s, 2 s); after that the run goes on with
    the prompt id in place of the title, and polling takes over."""

    def retrying(exc: errors.TransientAPIError, attempt: int, delay: float) -> None:
        log(f"First status read failed ({exc.message}); retry {attempt} in {delay:.0f}s")

    try:
        run: models.Run = polling.retry_call(
            lambda: backend.fetch(run_id=started.run_id),
            policy=polling.FIRST_READ,
            sleep=sleep,
            on_retry=retrying,
        )
    except errors.TransientAPIError as exc:
        log(f"First status read failed ({exc.message}); will keep polling")
    except errors.APIError as exc:
        log(f"First status read failed ({exc.message})")
    else:
        return run if run.run_url else dataclasses.replace(run, run_url=started.run_url)
    return models.Run(
        run_id=started.run_id,
        status=models.PENDING,
        run_url=started.run_url,
        status_url=started.status_url,
    )
