"""How a run ends: written to the store, retried while the database refuses.

`Endings.store` writes a run's `End` and then calls `on_end(run_id)` (the
server's own GitHub report, `reporter`), retrying on `polling.expo_delays` from the poll interval
(capped at `polling.MAX_DELAY`) until it is stored; past the run's deadline a report that still
cannot be stored gives way to a short `failed` end, and on shutdown the run stays in flight in
the store for the next start. The report is written in its wire form (`models.Report.to_wire`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable

from evals_action import models, polling, text
from evals_action.server import config, store

log = logging.getLogger("evals_action.server")


@dataclasses.dataclass(frozen=True)
class End:
    """How a run ends, as `store.Store.finish` takes it."""

    status: str
    failure_reason: str | None = None
    report: models.Report | None = None
    report_slug: str | None = None


class Endings:
    """Writes runs' ends; `stop` set means the server is stopping (the waits end at once)."""

    def __init__(
        self,
        *,
        db: store.Store,
        clock: Callable[[], float],
        stop: threading.Event,
        interval: float,
        on_end: Callable[[str], None] = lambda run_id: None,
    ) -> None:
        self._db = db
        self._on_end = on_end
        self._clock = clock
        self._stop = stop
        self._interval = interval

    def fail(self, run_id: str, reason: str) -> None:
        if self.store(run_id=run_id, end=End(status=models.FAILED, failure_reason=reason)):
            log.info("run %s: failed: %s", run_id, reason)

    def fail_handed_over(self, *, run_id: str) -> None:
        """Fail a run cut off while `/init` was being sent; retried in the background if the
        database refuses, so a full disk never stops the server from starting."""
        reason = "The server stopped while handing the rollout to the agent; start a new run"
        try:
            ended = self._db.finish(run_id=run_id, status=models.FAILED, failure_reason=reason)
        except store.StorageError as exc:
            log.warning("run %s: could not store its end, retrying: %s", run_id, exc)
            threading.Thread(target=self.fail, args=(run_id, reason), daemon=True).start()
            return
        if ended:  # off the start-up path: a report may wait for GitHub
            threading.Thread(target=self._on_end, args=(run_id,), daemon=True).start()

    def store(self, *, run_id: str, end: End, deadline: float | None = None) -> bool:
        """Write the run's end, retrying while the database refuses; False if it had ended.

        Past `deadline`, a report that still cannot be stored gives way to a short `failed`
        end. On shutdown the run stays in flight in the store, for the next start.
        """
        attempt = 0
        while True:
            try:
                ended = self._db.finish(
                    run_id=run_id,
                    status=end.status,
                    failure_reason=end.failure_reason,
                    report=end.report.to_wire() if end.report else None,
                    report_slug=end.report_slug,
                )
                if ended:
                    self._on_end(run_id)
                return ended
            except store.StorageError as exc:
                attempt += 1
                log.warning("run %s: could not store its end, retrying: %s", run_id, exc)
                if deadline is not None and self._clock() >= deadline:
                    end = End(
                        status=models.FAILED,
                        failure_reason="The evals server could not store the run's result "
                        f"before its timeout ({exc})",
                    )
                    deadline = None
                delay = polling.expo_delays(base_delay=self._interval, count=min(attempt, 11))[-1]
                if self._stop.wait(delay):
                    return False


def deadline(*, run: store.RunRow, prompt: config.Prompt) -> float:
    """When the run must have ended: its prompt's timeout, from the run's creation."""
    return run.created_at + prompt.timeout_minutes * 60


def report_slug(*, prompt_id: str, run_id: str) -> str:
    return f"{text.slug(prompt_id) or 'report'}-{run_id.replace('-', '')[:10]}"
