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

The rollout itself is reached only through the rollout backends' clients
(`evals_action.backends.remote.RemoteRolloutClient`,
`evals_action.backends.github_workflow`), seen here through the small `RolloutClient` protocol.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import requests

from evals_action import errors, github_api, http, models
from evals_action.backends import github_workflow, remote, rollout_common
from evals_action.server import config, egress, fairqueue, grading, store

log = logging.getLogger("evals_action.server")

INIT_ATTEMPTS = 3
MAX_BACKOFF_SECONDS = 30.0
CLIENT_ERRORS_IN_A_ROW = 3


class RolloutState(Protocol):
    """One observation of a rollout (the shape `backends.remote.RolloutState` has)."""

    @property
    def terminal(self) -> bool: ...
    @property
    def status(self) -> str: ...  # running | completed | failed | timed_out
    @property
    def message(self) -> str | None: ...
    @property
    def result(self) -> Mapping[str, Any] | None: ...


class RolloutClient(Protocol):
    """Start a rollout and observe it (the shape `backends.remote.RemoteRolloutClient` has)."""

    def init(self, *, request: dict[str, Any]) -> None: ...
    def status(self, *, rollout_id: str) -> RolloutState: ...


@runtime_checkable
class Cancellable(Protocol):
    """A client that can stop a rollout when the run's deadline passes (best effort)."""

    def cancel(self, *, rollout_id: str) -> None: ...


@runtime_checkable
class Traced(Protocol):
    """A client that can read the conversation from a tracing gateway's trace (`remote`)."""

    def trace_messages(self, *, rollout_id: str) -> list[dict[str, Any]] | None: ...


ClientFactory = Callable[[config.Rollout, requests.Session], RolloutClient]


# The settings as the server's config file calls them (the action's inputs have other names).
CONFIG_NAMES = remote.SettingNames(
    url="the url of the prompt's [prompts.rollout] in the config",
    tracing_url="tracing_url in [prompts.rollout]",
    status_mode="status_mode in [prompts.rollout]",
)


def backend_clients(rollout: config.Rollout, session: requests.Session) -> RolloutClient:
    """The real clients, from the rollout backends package (never a second copy here)."""
    if rollout.target == "remote":
        return remote.RemoteRolloutClient(
            session=session,
            rollout_url=rollout.url,
            status_mode=rollout.status_mode,
            tracing_url=rollout.tracing_url,
            tracing_api_key=rollout.tracing_api_key,
            names=CONFIG_NAMES,
        )
    return WorkflowRollouts(rollout=rollout, sleep=time.sleep)


class WorkflowRollouts:
    """`RolloutClient` over `backends.github_workflow.GithubWorkflowBackend`.

    That backend dispatches the workflow, finds the run named `rollout:<id>`, reads its
    conclusion and its `rollout-result` artifact, and cancels it. This adapter only keeps, per
    rollout id, the backend and the GitHub run id it found. The map lives in memory, so after a
    restart a workflow rollout cannot be followed and its run fails with that reason.
    The backend exposes the result as a report, so the final answer the checks see is the
    result's `summary`; the conversation (`messages`) does not come through.
    """

    def __init__(self, *, rollout: config.Rollout, sleep: Callable[[float], None]) -> None:
        self._rollout = rollout
        self._sleep = sleep
        self._active: dict[str, tuple[github_workflow.GithubWorkflowBackend, str]] = {}

    def init(self, *, request: dict[str, Any]) -> None:
        meta = request["metadata"]
        ids = rollout_common.Correlation(
            invocation_id=meta["invocation_id"],
            experiment_id=meta["experiment_id"],
            rollout_id=meta["rollout_id"],
            run_id=meta["run_id"],
            row_id=meta["row_id"],
        )
        rollout = self._rollout
        token = rollout.workflow_token or ""
        backend = github_workflow.GithubWorkflowBackend(
            actions=lambda: github_api.Actions(
                github=github_api.GitHub(
                    token=token,
                    api_url=rollout.github_api_url,
                    repository=rollout.workflow_repo,
                    user_agent=http.USER_AGENT,
                )
            ),
            prompt=rollout_common.Prompt(
                title=None,
                messages=tuple(request["messages"]),
                tools=request.get("tools"),
                completion_params=dict(request.get("completion_params") or {}),
            ),
            ids=ids,
            repository=rollout.workflow_repo,
            workflow=rollout.workflow,
            ref=rollout.workflow_ref,
            model_base_url=request.get("model_base_url") or "",
            api_key=request.get("api_key") or "",
            api_url=rollout.github_api_url,
            server_url=rollout.github_server_url,
            sleep=self._sleep,
        )
        started = backend.start(
            request=models.StartRequest(
                prompt_id=ids.row_id,
                url_map=meta.get("url_map") or {},
                template_args=meta.get("template_args") or None,
                idempotency_key=ids.rollout_id,
            )
        )
        self._active[ids.rollout_id] = (backend, started.run_id)

    def status(self, *, rollout_id: str) -> RolloutState:
        if rollout_id not in self._active:
            raise errors.FatalAPIError(
                "the server restarted while this workflow rollout ran, and a workflow run "
                "cannot be followed after a restart; start a new run"
            )
        backend, run_id = self._active[rollout_id]
        run = backend.fetch(run_id=run_id)
        report = run.report
        result: dict[str, Any] | None = None
        if report is not None:
            result = {k: v for k, v in report.raw.items() if k != "summary"}
            if report.what_didnt:
                result["summary"] = report.what_didnt
        return rollout_common.RolloutState(
            terminal=run.terminal, status=run.status, message=run.failure_reason, result=result
        )

    def cancel(self, *, rollout_id: str) -> None:
        if rollout_id in self._active:
            backend, run_id = self._active.pop(rollout_id)
            backend.cancel(run_id=run_id)


class Runner:
    """Owns the worker pool. `submit` a run after creating it; `resume` once on start."""

    def __init__(
        self,
        *,
        db: store.Store,
        settings: config.ServerConfig,
        public_url: str,
        client_factory: ClientFactory = backend_clients,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._settings = settings
        self._public_url = public_url.rstrip("/")
        self._client_factory = client_factory
        self._clock = clock
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
        self, *, run: store.RunRow, prompt: config.Prompt, client: RolloutClient
    ) -> store.RunRow | None:
        rollout_id = f"ro-{uuid.uuid4().hex}"
        if not self._db.mark_running(run_id=run.run_id, rollout_id=rollout_id):
            return None
        request = init_request(run=run, prompt=prompt, rollout_id=rollout_id)
        for attempt in range(1, INIT_ATTEMPTS + 1):
            try:
                client.init(request=request)
                break
            except errors.TransientAPIError as exc:
                if attempt == INIT_ATTEMPTS or self._stop.wait(_backoff(attempt, exc)):
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
        client: RolloutClient,
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
                if isinstance(client, Cancellable):
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
                self._stop.wait(_backoff(failures, exc))
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
        state: RolloutState,
        client: RolloutClient,
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
            result=_with_trace(result=state.result, client=client, rollout_id=run.rollout_id),
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
        report = grading.report(
            prompt=prompt,
            finished=finished,
            context=context,
            slug=slug,
            url=f"{self._public_url}/reports/{slug}",
        )
        end = End(status=models.COMPLETED, report=report, report_slug=slug)
        if self._store_end(run_id=run.run_id, end=end, deadline=_deadline(run=run, prompt=prompt)):
            log.info("run %s: completed, score %s", run.run_id, report["score"])

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
                return self._db.finish(run_id=run_id, **dataclasses.asdict(end))
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
                delay = self._settings.poll_interval_seconds * 2 ** min(attempt - 1, 10)
                if self._stop.wait(min(delay, MAX_BACKOFF_SECONDS)):
                    return False


@dataclasses.dataclass(frozen=True)
class End:
    """How a run ends, as `store.Store.finish` takes it."""

    status: str
    failure_reason: str | None = None
    report: Mapping[str, Any] | None = None
    report_slug: str | None = None


def _deadline(*, run: store.RunRow, prompt: config.Prompt) -> float:
    """When the run must have ended: its prompt's timeout, from the run's creation."""
    return run.created_at + prompt.timeout_minutes * 60


def init_request(*, run: store.RunRow, prompt: config.Prompt, rollout_id: str) -> dict[str, Any]:
    """The Eval Protocol `InitRequest` for one run, aimed at the run's preview.

    Built with the rollout backends' own helpers, so the server and the action's `remote`
    backend target previews and name correlation ids the same way.
    """
    args = run.request.get("templateArgs") or {}
    url_map = run.request.get("urlMap") or {}
    rollout = prompt.rollout
    ids = rollout_common.Correlation(
        invocation_id=f"evals-server-{run.run_id}",
        experiment_id=f"{run.repository}#{run.pull_request}"
        if run.repository and run.pull_request is not None
        else run.run_id,
        rollout_id=rollout_id,
        run_id=run.run_id,
        row_id=prompt.id,
    )
    return rollout_common.init_request(
        prompt=rollout_common.Prompt(
            title=prompt.title,
            messages=tuple(dict(m) for m in prompt.messages),
            tools=[dict(t) for t in prompt.tools] if prompt.tools is not None else None,
            completion_params=dict(rollout.completion_params),
        ),
        messages=rollout_common.target_messages(
            messages=prompt.messages, template_args=args, url_map=url_map
        ),
        meta=rollout_common.metadata(ids=ids, url_map=url_map, template_args=args),
        model_base_url=rollout.model_base_url,
        api_key=rollout.model_api_key or "",
    )


def _with_trace(
    *, result: Mapping[str, Any] | None, client: RolloutClient, rollout_id: str | None
) -> Mapping[str, Any] | None:
    """The result, with the gateway trace's conversation as its `messages` when it has none.

    An unchanged Eval Protocol agent reports no result: its answer is in the trace its model
    calls left on the tracing gateway, which is where Eval Protocol reads it too.
    """
    if (result or {}).get("messages") or not rollout_id or not isinstance(client, Traced):
        return result
    messages = client.trace_messages(rollout_id=rollout_id)
    return {**(result or {}), "messages": messages} if messages else result


def report_slug(*, prompt_id: str, run_id: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", prompt_id.lower()).strip("-")[:40].strip("-")
    return f"{base or 'report'}-{run_id.replace('-', '')[:10]}"


def _backoff(attempt: int, exc: errors.TransientAPIError | None) -> float:
    """1, 2, 4, ... seconds, capped; the service's Retry-After wins (still capped)."""
    if exc is not None and exc.retry_after is not None:
        return min(exc.retry_after, MAX_BACKOFF_SECONDS)
    return min(2.0 ** (attempt - 1), MAX_BACKOFF_SECONDS)
