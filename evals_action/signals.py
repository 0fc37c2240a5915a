"""The signal guard: SIGTERM/SIGINT cancel the wait, never the final report.

`SignalGuard` is entered around the wait; `disarm` is called before the final status, comment
and outputs are written, so a second signal cannot leave them half-done.
"""

from __future__ import annotations

import contextlib
import signal
from typing import Any

from evals_action import errors


class SignalGuard:
    """While armed, SIGTERM and SIGINT raise `errors.Cancelled`; once disarmed they are ignored,
    so the final status, comment and outputs are always written. Restores handlers on exit."""

    def __init__(self) -> None:
        self._armed = True
        self._old: dict[int, Any] = {}

    def __enter__(self) -> SignalGuard:
        for sig in (signal.SIGTERM, signal.SIGINT):
            # Outside the main thread (in-process tests) there are no signals to catch.
            with contextlib.suppress(ValueError):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def disarm(self) -> None:
        self._armed = False

    def _handle(self, signum: int, frame: Any) -> None:
        if self._armed:
            self._armed = False
            raise errors.Cancelled(f"Eval cancelled (signal {signal.Signals(signum).name})")

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
