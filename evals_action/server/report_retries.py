"""A report's writes to GitHub, tried a bounded number of times: one engine for the server's
one-run reports (`reporter`) and its suite reports (`suite_reporter`).

`write` is one whole attempt that answers what GitHub refused (nothing: all written). After a
refusal the next attempt waits on `polling.expo_delays` (2 s, then 4 s by default); a stopping
server ends the wait at once and leaves the report due for the next start.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from evals_action import polling

log = logging.getLogger("evals_action.server")


def write(
    *,
    what: str,
    attempt: Callable[[], list[str]],
    attempts: int,
    base_delay: float,
    stop: threading.Event,
) -> list[str] | None:
    """`[]` once an attempt wrote everything; the last attempt's problems when every one was
    refused; None when the server stopped while waiting to try again."""
    problems: list[str] = []
    for number in range(1, attempts + 1):
        problems = attempt()
        if not problems:
            return []
        log.warning(
            "%s: GitHub refused the report (attempt %d of %d): %s",
            what,
            number,
            attempts,
            "; ".join(problems),
        )
        delays = polling.expo_delays(base_delay=base_delay, count=number)
        if number < attempts and stop.wait(delays[-1]):
            return None
    return problems


def failure_reason(problems: list[str]) -> str:
    """What the `error` status says when GitHub refused every attempt."""
    return f"The evals server could not write the report to GitHub ({problems[0]})"
