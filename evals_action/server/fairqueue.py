"""Runs waiting for a worker, taken round-robin by repository, with a cap per repository.

A worker holds its run for the run's whole life (it polls the rollout until it ends), so a queue
in arrival order would let one repository's burst of slow rollouts take every worker. Here each
repository (a run's `context.repository`; runs without one share the `""` queue) has its own
line, `take` serves the lines in turn, and a repository already holding `per_tenant` workers is
skipped until one of them is `done`, so other repositories always find a free worker.
"""

from __future__ import annotations

import collections
import threading


class FairQueue:
    """`put` from any thread; workers loop on `take` (blocks) and call `done` after each item."""

    def __init__(self, *, per_tenant: int) -> None:
        self._per_tenant = per_tenant
        self._changed = threading.Condition()
        self._lines: dict[str, collections.deque[str]] = {}  # insertion order is the turn order
        self._busy: collections.Counter[str] = collections.Counter()
        self._closed = False

    def put(self, *, item: str, tenant: str) -> None:
        with self._changed:
            self._lines.setdefault(tenant, collections.deque()).append(item)
            self._changed.notify()

    def take(self) -> tuple[str, str] | None:
        """The next `(item, tenant)` whose tenant is under its cap; None once closed."""
        with self._changed:
            while not self._closed:
                for tenant in list(self._lines):
                    if self._busy[tenant] < self._per_tenant:
                        line = self._lines.pop(tenant)  # re-added at the end: its turn is over
                        item = line.popleft()
                        if line:
                            self._lines[tenant] = line
                        self._busy[tenant] += 1
                        return item, tenant
                self._changed.wait()
            return None

    def done(self, *, tenant: str) -> None:
        with self._changed:
            self._busy[tenant] -= 1
            self._changed.notify_all()

    def waiting(self) -> int:
        """How many items wait for a worker."""
        with self._changed:
            return sum(len(line) for line in self._lines.values())

    def close(self) -> None:
        """Wake every worker with None; items still waiting stay pending in the store."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
