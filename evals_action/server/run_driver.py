"""One run, driven from where the store says it is: `/init`, status polls, grading, its end.

Timing is `polling`'s: `/init` is tried as `polling.INIT` says and failed status reads back off
with `polling.poll_delay` (one 60 s cap, `polling.MAX_DELAY`). Every wait ends as soon as the
server stops: `_sleep` raises `_Stopping` once the stop event is set, which ends
`polling.retry_call` early. The rollout is reached only through `rollout_clients`; the report
travels as a `models.Report` (`grading.build_report`) to `endings`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from collections.abc import Callable

import requests

from evals_action import errors, models, polling
from evals_action.eval_protocol import states
from evals_action.server import (
    config,
    egress,
    endings,
    grading,
    rollout_clients,
    store,
    webhooks,
)

log = logging.getLogger("evals_action.server")

CLIENT_ERRORS_IN_A_ROW = 3


class _Stopping(Exception):
    """The server is stopping: a wait ended early (raised by `RunDriver._sleep`)."""


class RunDriver:
    """Drives runs one at a time per worker thread; shared by all of them (no per-run state)."""

    def __init__(
        self,
        *,
        db: store.Store,
        settings: config.ServerConfig,
        public_url: str,
        client_factory: rollout_clients.ClientFactory,
        clock: Callable[[], float],
        rand: polling.Rand,
        stop: threading.Event,
        ends: endings.Endings,
    ) -> None:
        self._db = db
        self._settings = settings
        self._public_url = public_url.rstrip("/")
        self._client_factory = client_factory
        self._clock = clock
        self._rand = rand
        self._stop = stop
        self._endings = ends

    def _sleep(self, seconds: float) -> None:
        """Wait `seconds`, or raise `_Stopping` as soon as the server stops."""
        if self._stop.wait(seconds):
            raise _Stopping

    def drive(self, run_id: str) -> None:
        """Take one run from where the store says it is to its end (module doc)."""
        run = self._db.get_run(run_id=run_id)
        if run is None or not run.in_flight or self._stop.is_set():
            return
        prompt = self._settings.prompts.get(run.prompt_id)
        if prompt is None:
            self._endings.fail(
                run_id, f"Prompt {run.prompt_id} is no longer in the server's config"
            )
            return
        if not run.init_sent and self._clock() >= endings.deadline(run=run, prompt=prompt):
            self._endings.fail(
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
        request = rollout_clients.init_request(
            run=_unsealed(run=run, settings=self._settings), prompt=prompt, rollout_id=rollout_id
        )
        failed: list[errors.TransientAPIError] = []
        try:
            polling.retry_call(
                lambda: client.init(request=request),
                policy=polling.INIT,
                sleep=self._sleep,
                on_retry=lambda exc, attempt, delay: failed.append(exc),
            )
        except _Stopping:
            self._endings.fail(
                run.run_id, f"The rollout service did not accept the run: {failed[-1]}"
            )
            return None
        except errors.TransientAPIError as exc:
            self._endings.fail(run.run_id, f"The rollout service did not accept the run: {exc}")
            return None
        except errors.EvalsActionError as exc:
            self._endings.fail(run.run_id, f"The rollout service refused the run: {exc}")
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
        deadline = endings.deadline(run=run, prompt=prompt)
        failures = client_errors = 0
        assert run.rollout_id is not None
        while not self._stop.is_set():
            current = self._db.get_run(run_id=run.run_id)
            if current is None or not current.in_flight:
                return  # superseded while we waited
            if self._clock() >= deadline:
                if isinstance(client, rollout_clients.Cancellable):
                    client.cancel(rollout_id=run.rollout_id)
                self._endings.fail(
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
                    self._endings.fail(run.run_id, f"The rollout service failed: {exc}")
                    return
                self._stop.wait(self._settings.poll_interval_seconds)
                continue
            except errors.EvalsActionError as exc:
                self._endings.fail(run.run_id, f"The rollout service failed: {exc}")
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
            self._endings.fail(run.run_id, state.message or "The agent's rollout failed")
            return
        if state.status == models.TIMED_OUT:
            self._endings.fail(
                run.run_id,
                "The agent reported its deadline exceeded"
                + (f": {state.message}" if state.message else ""),
            )
            return
        slug = endings.report_slug(prompt_id=prompt.id, run_id=run.run_id)
        report = _graded(
            run=run,
            prompt=prompt,
            finished=grading.Finished(
                result=rollout_clients.with_trace(
                    result=state.result, client=client, rollout_id=run.rollout_id
                ),
                message=state.message,
                started_at=run.started_at or run.created_at,
                finished_at=self._clock(),
            ),
            settings=self._settings,
            session=session,
            slug=slug,
            url=f"{self._public_url}/reports/{slug}",
        )
        end = endings.End(status=models.COMPLETED, report=report, report_slug=slug)
        if self._endings.store(
            run_id=run.run_id, end=end, deadline=endings.deadline(run=run, prompt=prompt)
        ):
            log.info("run %s: completed, score %s", run.run_id, report.score)


def _graded(
    *,
    run: store.RunRow,
    prompt: config.Prompt,
    finished: grading.Finished,
    settings: config.ServerConfig,
    session: requests.Session,
    slug: str,
    url: str,
) -> models.Report:
    """The run's report: its prompt's checks on how the rollout finished, on the run's preview."""
    url_map = run.request.get("urlMap") or {}
    context = grading.Context(
        template_args=_unsealed(run=run, settings=settings).request["templateArgs"],
        url_map=url_map,
        prompt_text=run.prompt_text,
        session=session,
        judge=settings.judge,
        guard=egress.guard(
            policy=settings.fetch,
            named_urls=[c.url for c in prompt.checks if c.type == "http"],
            url_map=url_map,
        ),
    )
    return grading.build_report(
        prompt=prompt, finished=finished, context=context, slug=slug, url=url
    )


def _unsealed(*, run: store.RunRow, settings: config.ServerConfig) -> store.RunRow:
    """The run with the template values its webhook config reads from the environment, which
    the store keeps redacted (`webhooks.template_args`)."""
    args = webhooks.template_args(
        request=run.request, repository=run.repository, triggers=settings.reporting.triggers
    )
    return dataclasses.replace(run, request={**run.request, "templateArgs": args})
