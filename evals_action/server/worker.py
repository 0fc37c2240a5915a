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

Timing is the action's (`polling`): `/init` is tried as `polling.INIT` says, failed status
reads back off with `polling.poll_delay`, and a run's end the database refuses is retried on
`polling.expo_delays`; every wait is capped at `polling.MAX_DELAY`. Each wait ends early when
the server stops (`_sleep`: `retry_call`'s `sleep` raises `_Stopping` once the stop event is
set). The rollout itself is reached only through the Eval Protocol layer's clients
(`rollout_clients.backend_clients`); the report travels as a `models.Report`, stored in its
wire form.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable

import requests

from evals_action import errors, models, polling, text
from evals_action.eval_protocol import states
from evals_action.server import config, egress, fairqueue, grading, rollout_clients, store

log = logging.getLogger("evals_action.server")

CLIENT_ERRORS_IN_A_ROW = 3


class _Stopping(Exception):
    """The server is stopping: a wait ended early (raised by `WorkerPool._sleep`)."""


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
    ) -> None:
        self._db = db
        self._settings = settings
        self._public_url = public_url.rstrip("/")
        self._client_factory = client_factory
        self._clock = clock
        self._rand = rand
        self._stop = threading.Event()
        self._queue = fairqueue.FairQueue(per_tenant=settings.workers_per_repository)

    def submit(self, *, run: store.RunRow) -> None:
        self._queue.put(item=run.run_id, tenant=run.repository or "")

    def resume(self) -> None:
        """Start the workers and pick up every run that was in flight when the server stopped."""
        for number in range(self._settings.workers):
            threading.Thread(target=self._work, daemon=True, name=f"evals-runner-{number}").start()
        for run in self._db.in_flight():
            if run.status == models.RUNNING and not run.init_sent:
                self._fail_handed_over(run_id=run.run_id)
                continue
            log.info("resuming run %s (%s)", run.run_id, run.status)
            self.submit(run=run)

    def _fail_handed_over(self, *, run_id: str) -> None:
        """Fail a run cut off while `/init` was being sent; retried in the background if the
        database refuses, so a full disk never stops the server from starting."""
        reason = "The server stopped while handing the rollout to the agent; start a new run"
        try:
            self._db.finish(run_id=run_id, status=models.FAILED, failure_reason=reason)
        except store.StorageError as exc:
            log.warning("run %s: could not store its end, retrying: %s", run_id, exc)
            threading.Thread(target=self._fail, args=(run_id, reason), daemon=True).start()

    def stop(self) -> None:
        """Stop polling; in-flight runs stay in flight in the store for the next start."""
        self._stop.set()
        self._queue.close()

    def _sleep(self, seconds: float) -> None:
        """Wait `seconds`, or raise `_Stopping` as soon as the server stops."""
        if self._stop.wait(seconds):
            raise _Stopping

    def _work(self) -> None:
        while (taken := self._queue.take()) is not None:
            run_id, tenant = taken
            try:
                self._drive_safely(run_id)
            finally:
                self._queue.done(tenant=tenant)

    def _drive_safely(self, run_id: str) -> None:
        try:
            self._drive(run_id)
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
            self._fail(run_id, reason)

    def _drive(self, run_id: str) -> None:
        run = self._db.get_run(run_id=run_id)
        if run is None or not run.in_flight or self._stop.is_set():
            return
        prompt = self._settings.prompts.get(run.prompt_id)
        if prompt is None:
            self._fail(run_id, f"Prompt {run.prompt_id} is no longer in the server's config")
            return
        if not run.init_sent and self._clock() >= _deadline(run=run, prompt=prompt):
            self._fail(
                run_id,
                f"The run waited for a free worker past its prompt's timeout "
                f"({prompt.timeout_minutes:g} minutes) and was never sent to the agent; "
                "start a new run, or raise [server] workers",
            )
            return
        with requests.Session() as session:
            client = self._client_factory(prompt.rollout, session)
            if not run.init_sent:
                run = self._start(run=run, prompt=prompt, client=client)
                if run is None:
                    return
            self._follow(run=run, prompt=prompt, client=client, session=session)

    def _start(
        self, *, run: store.RunRow, prompt: config.Prompt, client: rollout_clients.RolloutClient
    ) -> store.RunRow | None:
        rollout_id = f"ro-{uuid.uuid4().hex}"
        if not self._db.mark_running(run_id=run.run_id, rollout_id=rollout_id):
            return None
        request = rollout_clients.init_request(run=run, prompt=prompt, rollout_id=rollout_id)
        failed: list[errors.TransientAPIError] = []
        try:
            polling.retry_call(
                lambda: client.init(request=request),
                policy=polling.INIT,
                sleep=self._sleep,
                on_retry=lambda exc, attempt, delay: failed.append(exc),
            )
        except _Stopping:
            self._fail(run.run_id, f"The rollout service did not accept the run: {failed[-1]}")
            return None
        except errors.TransientAPIError as exc:
            self._fail(run.run_id, f"The rollout service did not accept the run: {exc}")
            return None
        except errors.EvalsActionError as exc:
            self._fail(run.run_id, f"The rollout service refused the run: {exc}")
            return None
        self._db.mark_init_sent(run_id=run.run_id)
        log.info("run %s: rollout %s started", run.run_id, rollout_id)
        return self._db.get_run(run_id=run.run_id)

    def _follow(
        self,
        *,
        run: store.RunRow,
        prompt: config.Prompt,
        client: rollout_clients.RolloutClient,
        session: requests.Session,
    ) -> None:
        deadline = _deadline(run=run, prompt=prompt)
        failures = client_errors = 0
        assert run.rollout_id is not None
        while not self._stop.is_set():
            current = self._db.get_run(run_id=run.run_id)
            if current is None or not current.in_flight:
                return  # superseded while we waited
            if self._clock() >= deadline:
                if isinstance(client, rollout_clients.Cancellable):
                    client.cancel(rollout_id=run.rollout_id)
                self._fail(
                    run.run_id,
                    f"The rollout did not finish within {prompt.timeout_minutes:g} minutes",
                )
                return
            try:
                state = client.status(rollout_id=run.rollout_id)
                failures = client_errors = 0
            except errors.TransientAPIError as exc:
                failures += 1
                log.warning("run %s: status check failed (%s), retrying", run.run_id, exc)
                self._stop.wait(
                    polling.poll_delay(
                        interval=self._settings.poll_interval_seconds,
                        failures=failures,
                        retry_after=exc.retry_after,
                        remaining=deadline - self._clock(),
                        rand=self._rand,
                    )
                )
                continue
            except errors.ClientAPIError as exc:
                client_errors += 1
                if client_errors >= CLIENT_ERRORS_IN_A_ROW:
                    self._fail(run.run_id, f"The rollout service failed: {exc}")
                    return
                self._stop.wait(self._settings.poll_interval_seconds)
                continue
            except errors.EvalsActionError as exc:
                self._fail(run.run_id, f"The rollout service failed: {exc}")
                return
            if state.terminal and not self._stop.is_set():
                self._conclude(
                    run=current, prompt=prompt, state=state, client=client, session=session
                )
                return
            self._stop.wait(self._settings.poll_interval_seconds)

    def _conclude(
        self,
        *,
        run: store.RunRow,
        prompt: config.Prompt,
        state: states.RolloutState,
        client: rollout_clients.RolloutClient,
        session: requests.Session,
    ) -> None:
        if state.status == models.FAILED:
            self._fail(run.run_id, state.message or "The agent's rollout failed")
            return
        if state.status == models.TIMED_OUT:
            self._fail(
                run.run_id,
                "The agent reported its deadline exceeded"
                + (f": {state.message}" if state.message else ""),
            )
            return
        slug = report_slug(prompt_id=prompt.id, run_id=run.run_id)
        finished = grading.Finished(
            result=rollout_clients.with_trace(
                result=state.result, client=client, rollout_id=run.rollout_id
            ),
            message=state.message,
            started_at=run.started_at or run.created_at,
            finished_at=self._clock(),
        )
        url_map = run.request.get("urlMap") or {}
        context = grading.Context(
            template_args=run.request.get("templateArgs") or {},
            url_map=url_map,
            prompt_text=run.prompt_text,
            session=session,
            judge=self._settings.judge,
            guard=egress.guard(
                policy=self._settings.fetch,
                named_urls=[c.url for c in prompt.checks if c.type == "http"],
                url_map=url_map,
            ),
        )
        report = grading.build_report(
            prompt=prompt,
            finished=finished,
            context=context,
            slug=slug,
            url=f"{self._public_url}/reports/{slug}",
        )
        end = End(status=models.COMPLETED, report=report, report_slug=slug)
        if self._store_end(run_id=run.run_id, end=end, deadline=_deadline(run=run, prompt=prompt)):
            log.info("run %s: completed, score %s", run.run_id, report.score)

    def _fail(self, run_id: str, reason: str) -> None:
        if self._store_end(run_id=run_id, end=End(status=models.FAILED, failure_reason=reason)):
            log.info("run %s: failed: %s", run_id, reason)

    def _store_end(self, *, run_id: str, end: End, deadline: float | None = None) -> bool:
        """Write the run's end, retrying while the database refuses; False if it had ended.

        Past `deadline`, a report that still cannot be stored gives way to a short `failed`
        end. On shutdown the run stays in flight in the store, for the next start.
        """
        attempt = 0
        while True:
            try:
                return self._db.finish(
                    run_id=run_id,
                    status=end.status,
                    failure_reason=end.failure_reason,
                    report=end.report.to_wire() if end.report else None,
                    report_slug=end.report_slug,
                )
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
                delay = polling.expo_delays(
                    base_delay=self._settings.poll_interval_seconds, count=min(attempt, 11)
                )[-1]
                if self._stop.wait(delay):
                    return False


@dataclasses.dataclass(frozen=True)
class End:
    """How a run ends, as `store.Store.finish` takes it."""

    status: str
    failure_reason: str | None = None
    report: models.Report | None = None
    report_slug: str | None = None


def _deadline(*, run: store.RunRow, prompt: config.Prompt) -> float:
    """When the run must have ended: its prompt's timeout, from the run's creation."""
    return run.created_at + prompt.timeout_minutes * 60


def report_slug(*, prompt_id: str, run_id: str) -> str:
    return f"{text.slug(prompt_id) or 'report'}-{run_id.replace('-', '')[:10]}"
