"""Long-poll wake-ups: `GET /api/v1/runs/{id}?wait=N` waits here until the run's status changes.

The store calls `Changes.notify(run_id)` from whatever thread wrote the run; the waiting requests
live on the event loop, so `notify` hops onto it (`call_soon_threadsafe`) before waking them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


class Changes:
    """Wakes long polls when a run's status changes; `notify` may be called from any thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[str, set[asyncio.Event]] = {}

    def bind(self, *, loop: asyncio.AbstractEventLoop | None) -> None:
        self._loop = loop

    def notify(self, run_id: str) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
            loop.call_soon_threadsafe(self._wake, run_id)

    def _wake(self, run_id: str) -> None:
        for event in self._waiters.get(run_id, ()):
            event.set()

    def watching(self, *, run_id: str) -> int:
        """How many long polls are waiting on this run right now."""
        return len(self._waiters.get(run_id, ()))

    @contextlib.contextmanager
    def watch(self, *, run_id: str) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self._waiters.setdefault(run_id, set()).add(event)
        try:
            yield event
        finally:
            waiters = self._waiters.get(run_id, set())
            waiters.discard(event)
            if not waiters:
                self._waiters.pop(run_id, None)
