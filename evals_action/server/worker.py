"""Drive each run's rollout in the background: send `/init`, poll status, grade, store the end.

Every run gets a worker thread from a pool of `[server] workers`, taken fairly across
repositories (`fairqueue`). A run still waiting when its prompt's timeout passes fails without
being sent. The worker writes each step to the store before acting on it, so a restart knows
where every run was:

    pending, no rollout id     → start it now (nothing was sent yet)
    running, `/init` accepted  → resume polling the same rollout id
    running, `/init` unknown   → failed: the agent may or may not have the rollout, and sending
                                 it twice could run the agent twice

A run's end that the database refuses (disk full) is retried until it is stored; when the run's
deadline passes first, a short `failed` end replaces a report that could not be stored.

The pool owns the threads and the queue; `run_driver.RunDriver` drives one run (timing is
`polling`'s, one 60 s cap, and every wait ends when the server stops), `endings.Endings` writes
its end. The rollout itself is reached only through the Eval Protocol layer's clients
(`rollout_clients.backend_clients`); the report travels as a `models.Report`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

from evals_action import models, polling
from evals_action.server import config, endings, fairqueue, rollout_clients, run_driver, store

log = logging.getLogger("evals_action.server")


class WorkerPool:
    """Owns the worker threads. `submit` a run after creating it; `resume` once on start."""

    def __init__(
        self,
        *,
        db: store.Store,
        settings: config.ServerConfig,
        public_url: str,
        client_factory: rollout_clients.ClientFactory = rollout_clients.backend_clients,
        clock: Callable[[], float] = time.time,
        rand: polling.Rand = random.uniform,
        stop: threading.Event | None = None,
        on_end: Callable[[str], None] = lambda run_id: None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._stop = stop or threading.Event()
        self._queue = fairqueue.FairQueue(per_tenant=settings.workers_per_repository)
        self._endings = endings.Endings(
            db=db,
            clock=clock,
            stop=self._stop,
            interval=settings.poll_interval_seconds,
            on_end=on_end,
        )
        self._driver = run_driver.RunDriver(
            db=db,
            settings=settings,
            public_url=public_url,
            client_factory=client_factory,
            clock=clock,
            rand=rand,
            stop=self._stop,
            ends=self._endings,
        )

    def submit(self, *, run: store.RunRow) -> None:
        self._queue.put(item=run.run_id, tenant=run.repository or "")

    def resume(self) -> None:
        """Start the workers and pick up every run that was in flight when the server stopped."""
        for number in range(self._settings.workers):
            threading.Thread(target=self._work, daemon=True, name=f"evals-runner-{number}").start()
        for run in self._db.in_flight():
            if run.status == models.RUNNING and not run.init_sent:
                self._endings.fail_handed_over(run_id=run.run_id)
                continue
            log.info("resuming run %s (%s)", run.run_id, run.status)
            self.submit(run=run)

    def stop(self) -> None:
        """Stop polling; in-flight runs stay in flight in the store for the next start."""
        self._stop.set()
        self._queue.close()

    def _work(self) -> None:
        while (taken := self._queue.take()) is not None:
            run_id, tenant = taken
            try:
                self._drive_safely(run_id)
            finally:
                self._queue.done(tenant=tenant)

    def _drive_safely(self, run_id: str) -> None:
        try:
            self._driver.drive(run_id)
        except Exception as exc:  # noqa: BLE001 - a worker must never die silently with a live run
            if self._stop.is_set():
                return  # shutting down (the database may be closed): the next start resumes it
            if isinstance(exc, store.StorageError):
                log.error("run %s: %s", run_id, exc)
                reason = f"The evals server could not write to its database ({exc})"
            else:
                log.exception("run %s: unexpected error", run_id)
                reason = (
                    "Internal error in the evals server while running the rollout; "
                    "see the server log"
                )
            self._endings.fail(run_id, reason)
