"""The final sticky comment and commit status of a run, written by the server itself.

One engine: the run is read back in the evals API's wire form (`api.run_json` →
`models.Run.from_wire`), its outcome comes from `outcome`, and `reporting.Reporter` renders and
redacts the comment and status and hands them to `sinks.GitHubSink` (the sticky comment's
upsert is `github_comments`'), exactly as the action does at the end of its wait. The action's
inputs the report depends on are rebuilt through `settings.load`, from the run's request.

A run asks for it in its start request (`context.report = {"by": "server", ...}`, see
`report_request`); webhook-started runs always do. One background thread (`_loop`) writes the
reports as they fall due: when the run ends, or, for a run held for the action's step
(`hold`), once the step handed it over (then on the comment it names) or the hold ended.

A GitHub refusal is logged and retried a bounded number of times (`report_writing`); if the
comment or status still cannot be written, the status says `error` with the reason (when GitHub
takes that), so it never stays `pending`.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Callable

from evals_action import (
    actions_runtime,
    errors,
    github_api,
    github_app,
    models,
    outcome,
    reporting,
    settings,
    sinks,
    transport,
)
from evals_action.backends import evals_api_baselines
from evals_action.server import (
    api,
    config,
    report_request,
    report_writing,
    schema,
    store,
    suite_reporter,
)

log = logging.getLogger("evals_action.server")

ATTEMPTS = report_writing.ATTEMPTS  # writes of one report before it ends in `error`
CLOSE_SECONDS = 5.0  # how long a stopping server waits for a report being written
_BASELINE_PAGES = 5


class ServerReporter:
    """Writes runs' final comment and status with the server's GitHub credentials."""

    def __init__(
        self,
        *,
        db: store.Store,
        tokens: github_app.TokenSource,
        api_url: str,
        public_url: str,
        secrets: tuple[str, ...],
        stop: threading.Event,
        retry_delay: float = 2.0,
        github: Callable[..., github_api.GitHub] = github_api.GitHub,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._w = report_writing.Writing(
            db=db,
            tokens=tokens,
            api_url=api_url,
            public_url=public_url.rstrip("/"),
            secrets=secrets,
            stop=stop,
            retry_delay=retry_delay,
            github=github,
            clock=clock,
        )
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        # Whose comments the server's token writes, learned once (one `GET /user` per server,
        # not per report): the token, or the App, is the server's own for its whole life.
        self._identity: str | None = None
        self._suites = suite_reporter.SuiteReports(writing=self._w, settings_of=action_settings)

    def why_not(self, repository: str) -> str | None:
        """None when the server can write reports on `repository` (for an App: it is installed
        there and a token can be minted); else why not, naming no secret."""
        try:
            self._w.tokens.token(repository=repository)
        except errors.GitHubError as exc:
            return exc.message
        return None

    def on_end(self, run_id: str) -> None:
        """Called once a run's end is stored: its report, if asked for, is written (by
        `_loop`, at once unless it is held for the step's hand-over)."""
        self._wake.set()

    def handed_over(self, run_id: str) -> None:
        """The step handed the run over (`store.hand_over`): its report is due now."""
        self._wake.set()

    def resume(self) -> None:
        """Start writing reports in the background: those a stopped server left due first,
        then each as it falls due."""
        self._thread = threading.Thread(target=self._loop, daemon=True, name="evals-reports")
        self._thread.start()

    def close(self, *, timeout: float = CLOSE_SECONDS) -> None:
        """Stop the background writer and wait (up to `timeout`) for it to let go of the
        database, which closes next; unwritten reports stay due for the next start."""
        self._w.stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._w.stop.is_set():
            self._wake.clear()
            try:
                for due in self._w.db.reports_due():
                    if self._w.stop.is_set():
                        return
                    self._report_once(due=due)
                self._suites.write_due()  # a suite's runs report together (`suite_reporter`)
                if self._w.stop.is_set():
                    return
                ends = (self._w.db.next_hold_end(), self._w.db.next_suite_hold_end())
                hold_ends = min((e for e in ends if e is not None), default=None)
            except Exception:  # noqa: BLE001 - logged; tried again shortly
                if self._w.stop.is_set():
                    return  # the server is stopping: the database may be closed already
                log.exception("could not write the reports due")
                hold_ends = self._w.clock() + self._w.retry_delay
            # A held report is looked at again when its hold ends (at most a second late, so
            # a clock that jumps is noticed), or at once when a run ends or is handed over.
            wait = None if hold_ends is None else min(1.0, max(0.0, hold_ends - self._w.clock()))
            self._wake.wait(wait)

    def _report_once(self, *, due: schema.DueReport) -> None:
        """Report, then mark it done, unless the server stopped midway (then it stays due)."""
        self.report(row=due.row, comment_id=due.comment_id)
        if not self._w.stop.is_set():
            self._w.db.report_done(run_id=due.row.run_id, hand_overs=due.hand_overs)

    def report(self, *, row: schema.RunRow, comment_id: int | None = None) -> bool:
        """Write the final status and comment of an ended run (on the step's comment
        `comment_id` when it handed one over); False when GitHub refused them `ATTEMPTS` times
        (the status then says `error`, if GitHub takes it)."""
        if not (row.repository and row.sha) or row.in_flight:
            return True  # without a pull request: the commit status only (the sink's target)
        if row.status == models.SUPERSEDED:
            return True  # the run that superseded it reports on the same context
        run = models.Run.from_wire(api.run_json(run=row, public_url=self._w.public_url))
        result = outcome.final(run)
        baseline = self._baseline(run=run) if result.completed else None
        problems = self._w.retried(
            what=f"run {row.run_id}",
            attempt=lambda: self._write(
                row=row, run=run, result=result, baseline=baseline, comment_id=comment_id
            ),
        )
        if problems is None:
            return False  # the server stopped: the report stays due for the next start
        if not problems:
            return True
        failed = outcome.unavailable(run, reason=report_writing.failure_reason(problems))
        self._write(row=row, run=run, result=failed, baseline=None, comment_id=comment_id)
        return False

    def _write(
        self,
        *,
        row: schema.RunRow,
        run: models.Run,
        result: outcome.Outcome,
        baseline: models.Report | None,
        comment_id: int | None,
    ) -> list[str]:
        """One attempt; the problems GitHub answered (none: all written)."""
        repository = str(row.repository)
        try:
            token, login = self._w.credentials(repository=repository)
            self._identity = self._identity or login
        except errors.GitHubError as exc:
            return [exc.message]
        step = actions_runtime.StepIO(stdout=io.StringIO(), secret_values=(*self._w.secrets, token))
        inputs_ = action_settings(row=row, public_url=self._w.public_url)
        target = models.Target(sha=row.sha, pr_number=row.pull_request, repository=repository)
        clients: list[github_api.GitHub] = []

        def client() -> github_api.GitHub:
            clients.append(
                self._w.github(
                    token=token,
                    api_url=self._w.api_url,
                    repository=repository,
                    user_agent=transport.USER_AGENT,
                    identity=self._identity,
                )
            )
            return clients[-1]

        sink = sinks.GitHubSink(
            github=client,
            target=target,
            prompt_id=row.prompt_id,
            step=step,
            comment_id=comment_id,
        )
        started = models.StartedRun(
            run_id=run.run_id, run_url=run.run_url or "", status_url=run.status_url or ""
        )
        reporter = reporting.Reporter(
            config=inputs_, target=target, started=started, sink=sink, step=step
        )
        reporter.finish(result, baseline=baseline, run=run)
        self._identity = next((c.known_identity for c in clients if c.known_identity), None) or (
            self._identity
        )
        return list(sink.failures)

    def _baseline(self, *, run: models.Run) -> models.Report | None:
        """The newest other published run's report with metrics, as the action's client picks
        it (`evals_api_baselines.baseline_candidate`)."""
        if not (run.report and run.report.metrics):
            return None
        row = self._w.db.get_run(run_id=run.run_id)
        prompt_id = row.prompt_id if row else ""
        for page in range(_BASELINE_PAGES):
            rows = self._w.db.list_runs(
                prompt_id=prompt_id,
                report_status="published",
                limit=evals_api_baselines.BASELINE_PAGE_SIZE,
                offset=page * evals_api_baselines.BASELINE_PAGE_SIZE,
            )
            for other in rows:
                wire = api.run_json(run=other, public_url=self._w.public_url)
                found = evals_api_baselines.baseline_candidate(wire, current_run_id=run.run_id)
                if found is not None:
                    return found
            if len(rows) < evals_api_baselines.BASELINE_PAGE_SIZE:
                break
        return None


def action_settings(*, row: schema.RunRow, public_url: str) -> settings.Settings:
    """The action's settings for this run, through the action's own table (`settings.load`)."""
    report = row.request.get("report") or {}
    url_map = dict(row.request.get("urlMap") or {})
    environ = {
        "EVALS_API_KEY": "not-used-by-the-server",  # required by the table, never sent
        "EVALS_API_BASE_URL": public_url,
        "EVALS_PROMPT_ID": row.prompt_id,
        "EVALS_URL_MAP": json.dumps(url_map),
        "EVALS_DEPLOYMENT_URL": next(iter(url_map.values()), ""),
        "GITHUB_REPOSITORY": row.repository or "",
    }
    if row.request.get("templateArgs"):
        environ["EVALS_TEMPLATE_VARS"] = json.dumps(row.request["templateArgs"])
    environ.update(report_request.environ(report))  # a suite's `inputs` too
    return settings.load(environ, need_github_token=False)


def token_source(
    *, settings: config.ServerConfig, clock: Callable[[], float]
) -> github_app.TokenSource | None:
    """`[github]`'s tokens: an App's installation tokens, or the plain token; None without."""
    github = settings.reporting.github
    if github is None or not (github.app_id or github.token):
        return None
    if github.app_id:
        return github_app.AppTokens(
            app_id=github.app_id,
            private_key=github.private_key,
            api_url=github.api_url,
            user_agent=transport.USER_AGENT,
            clock=clock,
        )
    return github_app.StaticToken(github.token)


def from_settings(
    *,
    db: store.Store,
    settings: config.ServerConfig,
    tokens: github_app.TokenSource | None,
    public_url: str,
    stop: threading.Event,
    clock: Callable[[], float] = time.time,
) -> ServerReporter | None:
    """The reporter `[github]` configures; None without it."""
    github = settings.reporting.github
    if github is None or tokens is None:
        return None
    return ServerReporter(
        db=db,
        tokens=tokens,
        api_url=github.api_url,
        public_url=public_url,
        secrets=settings.secrets,
        stop=stop,
        clock=clock,
    )
