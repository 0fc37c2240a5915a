"""Commit statuses written off the runs' threads, newest fields per context.

GitHub asks integrations to space out writes (PyGithub waits a second between them), so a suite
that wrote its statuses from the run threads would hold a concurrency slot for every write. Here
one thread writes them in order; a context whose status has not gone out yet keeps only its
newest fields (a pending status overtaken by the final one is never sent), a status equal to the
one on GitHub or being written now is not sent again, and `drain` waits until everything queued
is written.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from evals_action import sinks


class StatusWriter:
    def __init__(self, *, write: Callable[[sinks.StatusFields], bool]) -> None:
        self._write = write
        self._queued: OrderedDict[str, sinks.StatusFields] = OrderedDict()
        self._sent: dict[str, sinks.StatusFields] = {}
        self._failed: set[str] = set()  # contexts whose last final write failed
        self._cond = threading.Condition()
        self._busy: sinks.StatusFields | None = None  # the status being written now
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="statuses", daemon=True)
        self._thread.start()

    def put(self, fields: sinks.StatusFields) -> None:
        with self._cond:
            going = self._busy if self._busy and self._busy.context == fields.context else None
            latest = going or self._sent.get(fields.context)
            if latest == fields and fields.context not in self._queued:
                return  # already on GitHub as it is, or on its way there
            self._queued[fields.context] = fields  # replaces a queued one, keeps its place
            self._cond.notify_all()

    def drain(self) -> bool:
        """Wait until every queued status is written; False when a final one could not be."""
        with self._cond:
            while self._queued or self._busy is not None:
                self._cond.wait()
            return not self._failed

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queued and not self._closed:
                    self._cond.wait()
                if not self._queued:
                    return
                context, fields = self._queued.popitem(last=False)
                self._busy = fields
            ok = self._write(fields)
            with self._cond:
                self._busy = None
                self._sent[context] = fields
                if ok:
                    self._failed.discard(context)
                else:
                    self._failed.add(context)
                self._cond.notify_all()
