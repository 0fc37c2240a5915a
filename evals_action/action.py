"""The flow of one action run, wiring only:

settings → event (which PR, which commit) → backend.start → first read → pending status and
comment → polling → outcome → final comment, status, outputs, summary.

Collaborators (`Deps`) are passed in; `cli.py` builds the real ones. Three modes:
`action` (the GitHub Action), `local` (real eval, no GitHub writes, printed results) and
`dry-run` (no eval, no writes; prints what would be sent and shown).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import signal
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from evals_action import (
    backends,
    errors,
    event,
    github_api,
    models,
    outcome,
    polling,
    render,
    settings,
    text,
    workflow,
)

ACTION = "action"
LOCAL = "local"
DRY_RUN = "dry-run"


@dataclasses.dataclass(frozen=True)
class Deps:
    """Everything that touches the world."""

    session: Any  # transport.new_session(): a requests.Session with transport limits
    github: Callable[..., github_api.GitHub]  # (token=, repository=) → façade; defaults: ours
    runner: workflow.Runner
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    rand: polling.Rand
    new_id: Callable[[], str]


def real_deps(*, config: settings.Settings, mode: str) -> Deps:
    """The one place real collaborators are built."""
    import random
    import sys
    import time
    import uuid

    from evals_action import transport

    def github(token: str = "", repository: str = "") -> github_api.GitHub:
        return github_api.GitHub(
            token=token or config.github_token,
            api_url=config.github.api_url,
            repository=repository or config.github.repository,
            user_agent=transport.USER_AGENT,
        )

    return Deps(
        session=transport.new_session(),
        github=github,
        runner=workflow.Runner(
            output_path=config.github.output_path if mode == ACTION else "",
            summary_path=config.github.summary_path if mode == ACTION else "",
            actions=mode == ACTION and config.github.actions,
            stdout=sys.stdout,
            secret_values=config.secrets,
        ),
        clock=time.monotonic,
        sleep=time.sleep,
        rand=random.uniform,
        new_id=lambda: str(uuid.uuid4()),
    )


def skip_fork(*, environ: Mapping[str, str], mode: str, secrets: Sequence[str]) -> bool:
    """A fork PR on `pull_request` is skipped before the inputs are checked: its token is
    read-only and its secrets are absent by design, so a missing api-key must not fail it.
    Returns True when it skipped (warning, `final-status=skipped`, a summary line)."""
    github = settings.load_github_context(environ)
    if mode == DRY_RUN or github.event_name != "pull_request" or environ.get("EVALS_PR_NUMBER"):
        return False
    try:
        payload = event.load_payload(github.event_path)
    except errors.ConfigError:
        return False  # reported with the other problems
    if not event.is_fork_pull_request(payload, repository=github.repository):
        return False
    runner = workflow.Runner(
        output_path=github.output_path if mode == ACTION else "",
        summary_path=github.summary_path if mode == ACTION else "",
        actions=mode == ACTION and github.actions,
    )
    for secret in secrets:
        runner.add_secret(secret)
    runner.info(banner(backend=environ.get("EVALS_BACKEND", ""), api_base_url=_api_base(environ)))
    runner.annotate("warning", event.FORK_WARNING)
    runner.set_outputs({"final-status": "skipped"})
    runner.write_summary(f"### 2027 // skipped\n\n{event.FORK_WARNING}\n")
    return True


def banner(*, backend: str, api_base_url: str) -> str:
    """The log's first line (after the masks): which deployment this run talks to, worded as
    the managed action words it."""
    if backend.strip() in ("", "evals-api"):
        return f"2027 eval action: API base={api_base_url}"
    return f"2027 eval action: backend={backend.strip()} (api-base-url is not used)"


def _api_base(environ: Mapping[str, str]) -> str:
    raw = environ.get("EVALS_API_BASE_URL", "") or settings.DEFAULT_API_BASE_URL
    try:
        return settings.clean_url(name="api-base-url", raw=raw)
    except ValueError:
        return raw.strip()


def run(*, config: settings.Settings, mode: str, deps: Deps) -> int:
    """Run the eval and return the exit code. Raises `errors.EvalsActionError` before the run
    exists; after that, every error ends in a final status, comment and outputs."""
    runner = deps.runner
    for secret in config.secrets:
        runner.add_secret(secret)
    runner.info(banner(backend=config.backend, api_base_url=config.api_base_url))
    with _warnings_to(runner):
        return _run(config=config, mode=mode, deps=deps)


@contextlib.contextmanager
def _warnings_to(runner: workflow.Runner) -> Iterator[None]:
    """Backends log their warnings (no baseline, bad artifact, ...); show them as annotations."""
    logger = logging.getLogger("evals_action")
    handler = workflow.WarningHandler(runner)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def _run(*, config: settings.Settings, mode: str, deps: Deps) -> int:
    runner = deps.runner
    backends.preflight(settings=config)
    gh = _GitHubSide(config=config, mode=mode, deps=deps)
    target = _target(config=config, mode=mode, gh=gh)
    if target.is_fork_skip:
        runner.annotate("warning", event.FORK_WARNING)
        runner.set_outputs({"final-status": "skipped"})
        return 0
    backend = backends.create(
        settings=config,
        target=target,
        session=deps.session,
        github=gh.for_token,
        sleep=deps.sleep,
        clock=deps.clock,
    )
    request = models.StartRequest(
        prompt_id=config.prompt_id,
        url_map=config.url_map,
        template_args=config.template_vars,
        idempotency_key=deps.new_id(),
        context=_context(target),
    )
    if mode == DRY_RUN:
        return _dry_run(
            config=config, target=target, backend=backend, request=request, runner=runner
        )
    started = _start(backend=backend, request=request, deps=deps)
    created_at = deps.clock()
    runner.set_outputs(
        {"run-id": started.run_id, "status-url": started.status_url, **started.extra_outputs}
    )
    eval_run = _Eval(config=config, target=target, started=started, gh=gh, deps=deps)
    # No request outlives the wait: the deadline is also each request's overall time limit.
    ends_in = created_at + _deadline_minutes(config) * 60 - deps.clock()
    with _SignalGuard() as guard, deps.session.deadline(seconds=ends_in):
        try:
            first = _first_read(backend=backend, started=started, deps=deps)
            eval_run.begin(first)
            runner.group(f"Waiting for eval run {started.run_id}")
            result: polling.Result | None = polling.Poller(
                backend=backend,
                interval=config.poll_interval_seconds,
                deadline=created_at + _deadline_minutes(config) * 60,
                clock=deps.clock,
                sleep=deps.sleep,
                rand=deps.rand,
                progress=runner.info,
                started_at=created_at,
            ).wait(first=first)
        except errors.Cancelled:
            result = None
        except Exception as exc:  # noqa: BLE001 - a bug must still end the status, then surface
            runner.annotate(
                "error", f"Internal error ({type(exc).__name__}: {exc}); please report it"
            )
            result = polling.Result(
                run=eval_run.last,
                error=errors.APIError(f"internal error ({type(exc).__name__})"),
            )
        guard.disarm()  # from here on a signal cannot stop the final status being written
        runner.endgroup()
        if result is None:
            return eval_run.finish(outcome.cancelled(eval_run.last), baseline=None)
        return _conclude(result=result, backend=backend, eval_run=eval_run, config=config)


def _conclude(
    *, result: polling.Result, backend: Any, eval_run: _Eval, config: settings.Settings
) -> int:
    if result.error is not None:
        return eval_run.finish(
            outcome.unavailable(result.run, reason=_reason(result.error)), baseline=None
        )
    if result.timed_out or result.run.status == models.TIMED_OUT:
        backend.cancel(run_id=result.run.run_id)
        return eval_run.finish(
            outcome.timeout(result.run, fails=config.timeout_fails), baseline=None
        )
    final = outcome.final(result.run)
    baseline = None
    if final.completed and result.run.report and result.run.report.metrics:
        baseline = backend.baseline(prompt_id=config.prompt_id, current_run_id=result.run.run_id)
    return eval_run.finish(final, baseline=baseline, run=result.run)


def _reason(error: errors.APIError) -> str:
    return error.message


def _deadline_minutes(config: settings.Settings) -> float:
    if config.backend != "evals-api" and config.rollout.timeout_minutes:
        return config.rollout.timeout_minutes
    return config.wait_timeout_minutes


def _context(target: models.Target) -> dict[str, Any] | None:
    if not (target.repository and target.pr_number):
        return None
    return {"repository": target.repository, "pullRequest": target.pr_number, "sha": target.sha}


def _target(*, config: settings.Settings, mode: str, gh: _GitHubSide) -> models.Target:
    if mode == LOCAL and not config.github.event_path:
        return models.Target(
            sha=config.sha or config.github.sha or None,
            pr_number=config.pr_number,
            repository=config.github.repository or None,
        )
    return event.resolve(
        event_name=config.github.event_name,
        payload=event.load_payload(config.github.event_path),
        repository=config.github.repository,
        default_sha=config.github.sha,
        pr_override=config.pr_number,
        sha_override=config.sha,
        lookups=gh.lookups(),
    )


def _start(*, backend: Any, request: models.StartRequest, deps: Deps) -> models.StartedRun:
    """The start call, retried on transient errors with the same Idempotency-Key."""
    policy: polling.RetryPolicy = backend.start_policy

    def retrying(exc: errors.TransientAPIError, attempt: int, delay: float) -> None:
        deps.runner.info(f"Start failed ({exc.message}); retrying in {delay:.0f}s")

    try:
        started: models.StartedRun = polling.retry_call(
            lambda: backend.start(request=request),
            policy=policy,
            sleep=deps.sleep,
            on_retry=retrying,
        )
    except errors.TransientAPIError as exc:
        raise errors.APIError(
            f"{exc.message} (gave up after {policy.attempts} attempts; the service may be down, "
            "try again later)",
            status=exc.status,
        ) from exc
    return started


def _first_read(*, backend: Any, started: models.StartedRun, deps: Deps) -> models.Run:
    """The GET right after the start, for the title (which names the status context) and the
    links. Transient failures get two quick retries (1 s, 2 s); after that the run goes on with
    the prompt id in place of the title, and polling takes over."""

    def retrying(exc: errors.TransientAPIError, attempt: int, delay: float) -> None:
        deps.runner.info(
            f"First status read failed ({exc.message}); retry {attempt} in {delay:.0f}s"
        )

    try:
        run: models.Run = polling.retry_call(
            lambda: backend.fetch(run_id=started.run_id),
            policy=polling.FIRST_READ,
            sleep=deps.sleep,
            on_retry=retrying,
        )
    except errors.TransientAPIError as exc:
        deps.runner.info(f"First status read failed ({exc.message}); will keep polling")
    except errors.APIError as exc:
        deps.runner.info(f"First status read failed ({exc.message})")
    else:
        return run if run.run_url else dataclasses.replace(run, run_url=started.run_url)
    return models.Run(
        run_id=started.run_id,
        status=models.PENDING,
        run_url=started.run_url,
        status_url=started.status_url,
    )


def _dry_run(
    *,
    config: settings.Settings,
    target: models.Target,
    backend: Any,
    request: models.StartRequest,
    runner: workflow.Runner,
) -> int:
    preview = models.Run(
        run_id="(dry-run)", status=models.RUNNING, run_url="(set once the run starts)"
    )
    context = outcome.status_context(
        title=None, prompt_id=config.prompt_id, override=config.status_context
    )
    sent: models.RequestPreview = backend.describe(request=request)
    runner.info("Dry run: nothing is sent, no eval starts, nothing is written to GitHub.")
    runner.info(f"Pull request: #{target.pr_number}" if target.pr_number else "Pull request: none")
    runner.info(f"Commit: {target.sha}" if target.sha else "Commit: none")
    runner.info(f"Backend: {config.backend}")
    runner.info(f"Preview: {config.deployment_url}" if config.deployment_url else "Preview: none")
    runner.info(f"Request: {sent.method} {sent.url}")
    runner.info("Headers: " + ", ".join(f"{k}: {v}" for k, v in sent.headers.items()))
    runner.info("Body: " + json.dumps(sent.body, indent=2, ensure_ascii=False))
    pending = outcome.running(preview)
    runner.info(f"Status (first): {pending.state} '{context}': {pending.description}")
    if not config.status_context:
        runner.info("(the status context uses the prompt's title once the run reports it)")
    view = _view(config=config, target=target, run=preview, result=pending, baseline=None)
    runner.info("Comment (first):\n" + render.comment(view))
    return 0


def _view(
    *,
    config: settings.Settings,
    target: models.Target,
    run: models.Run,
    result: outcome.Outcome,
    baseline: models.Report | None,
    extras: dict[str, str] | None = None,
) -> render.View:
    return render.build_view(
        prompt_id=config.prompt_id,
        run=run,
        result=result,
        baseline=baseline,
        template_vars=config.template_vars,
        url_map=config.url_map,
        sha=target.sha,
        dashboard_url=f"{config.api_base_url}/dashboard" if config.backend == "evals-api" else None,
        extras=extras,
    )


class _GitHubSide:
    """GitHub access for this run: lookups always (reads), writes only in `action` mode."""

    def __init__(self, *, config: settings.Settings, mode: str, deps: Deps) -> None:
        self._config = config
        self._mode = mode
        self._deps = deps
        self._main: github_api.GitHub | None = None

    def for_token(self, token: str = "", repository: str = "") -> github_api.GitHub:
        """The façade for our repository and token (cached), or another one when asked."""
        if (token or self._config.github_token) == self._config.github_token and (
            not repository or repository == self._config.github.repository
        ):
            if self._main is None:
                self._main = self._deps.github()
            return self._main
        return self._deps.github(token=token, repository=repository)

    def lookups(self) -> event.Lookups | None:
        """Look-ups that build the façade (and import PyGithub) only when an event needs one."""
        return self if self._config.github_token else None

    def pull(self, *, number: int) -> github_api.Pull:
        return self.for_token().pull(number=number)

    def open_pulls_for_commit(self, *, sha: str) -> list[github_api.Pull]:
        return self.for_token().open_pulls_for_commit(sha=sha)

    @property
    def writes(self) -> bool:
        return self._mode == ACTION


class _Eval:
    """The comment and status of one run: pending at first, final at the end."""

    def __init__(
        self,
        *,
        config: settings.Settings,
        target: models.Target,
        started: models.StartedRun,
        gh: _GitHubSide,
        deps: Deps,
    ) -> None:
        self._config = config
        self._target = target
        self._started = started
        self._gh = gh
        self._runner = deps.runner
        self._secrets = deps.runner.secrets  # the one list, shared with the runner's sinks
        self.last = models.Run(
            run_id=started.run_id, status=models.PENDING, run_url=started.run_url
        )
        self._context = ""
        self._comment_id: int | None = None
        self._comment_body: str | None = None
        self._comment_broken = False
        self._pending_set = False
        self._would_set: _StatusFields | None = None  # --local / dry-run: printed at the end

    # --- start and end ------------------------------------------------------------------------

    def begin(self, first: models.Run) -> None:
        self.last = first
        self._context = self._status_context(first)
        self._runner.info(
            f"Eval run {first.run_id} started: {first.prompt_title or self._config.prompt_id}"
        )
        self._runner.info(f"Status page: {first.run_url}")
        if self._config.deployment_url:
            self._runner.info(f"Preview: {self._config.deployment_url}")
        pending = outcome.running(first)
        self._status(pending)
        self._comment(pending, baseline=None)

    def finish(
        self,
        result: outcome.Outcome,
        *,
        baseline: models.Report | None,
        run: models.Run | None = None,
    ) -> int:
        run = run or self.last
        self.last = run
        if not self._context:
            self._context = self._status_context(run)
        status_ok = self._status(result)
        body = self._comment(result, baseline=baseline)
        self._outputs(result, run=run, baseline=baseline)
        self._runner.write_summary(render.summary(self._current_view(result, run, baseline)))
        self._annotate(result)
        if not self._gh.writes:
            self._print_local(body=body)
        exit_code = result.exit_code if result.exit_code is not None else 1
        if not status_ok and exit_code == 0:
            exit_code = 1
        return exit_code

    # --- pieces -------------------------------------------------------------------------------

    def _current_view(
        self, result: outcome.Outcome, run: models.Run, baseline: models.Report | None
    ) -> render.View:
        return _view(
            config=self._config,
            target=self._target,
            run=run,
            result=result,
            baseline=baseline,
            extras=dict(self._started.extra_outputs),
        )

    def _status_context(self, run: models.Run) -> str:
        """The context, from the title with secrets taken out first: the slug lower-cases and
        cuts, so redaction afterwards could not recognise them."""
        title = self._secrets.redact(run.prompt_title) if run.prompt_title else None
        return outcome.status_context(
            title=title, prompt_id=self._config.prompt_id, override=self._config.status_context
        )

    def _description(self, result: outcome.Outcome) -> str:
        """The status description, redacted before it is cut to 140 characters and after."""
        return self._secrets.fit(result.text, cut=outcome.status_description)

    def _status(self, result: outcome.Outcome) -> bool:
        """Set the commit status (the status sink); False when a final status could not be
        written. Outside `action` mode, remember it for `_print_local`."""
        if self._config.skip_status:
            return True
        fields = _StatusFields(
            state=result.state,
            context=self._context,
            description=self._description(result),
            target_url=self._secrets.redact(result.target_url or ""),
        )
        if not self._gh.writes:
            self._would_set = fields
            if result.state == "pending":
                self._runner.info(fields.line())
            return True
        return self._write_status(fields) if self._target.sha else True

    def _write_status(self, fields: _StatusFields) -> bool:
        assert self._target.sha is not None
        try:
            self._gh.for_token().create_status(
                sha=self._target.sha,
                state=fields.state,
                context=fields.context,
                description=fields.description,
                target_url=fields.target_url or None,
            )
        except errors.GitHubError as exc:
            final = fields.state != "pending"
            level = "error" if final and self._pending_set else "warning"
            self._runner.annotate(level, f"Commit status not set: {exc.message}")
            return not (final and self._pending_set)
        if fields.state == "pending":
            self._pending_set = True
        return True

    def _comment(self, result: outcome.Outcome, *, baseline: models.Report | None) -> str:
        """The comment sink: rendered, escaped and cut, then redacted, then written."""
        body = self._secrets.redact(render.comment(self._current_view(result, self.last, baseline)))
        if self._config.skip_comment or not self._target.pr_number or not self._gh.writes:
            return body
        if self._comment_broken or body == self._comment_body:
            return body
        try:
            self._write_comment(body)
        except errors.GitHubError as exc:
            self._comment_broken = exc.status in (401, 403, 404)
            self._runner.annotate("warning", f"PR comment not written: {exc.message}")
        return body

    def _write_comment(self, body: str) -> None:
        gh = self._gh.for_token()
        pr = self._target.pr_number
        assert pr is not None
        if self._comment_id is None:
            found = _find_comment(gh, issue_number=pr, prompt_id=self._config.prompt_id)
            if found is not None:
                self._comment_id, self._comment_body = found.id, found.body
        if self._comment_id is None:
            created = gh.create_comment(issue_number=pr, body=body)
            self._comment_id = created.id
        elif body != self._comment_body:
            gh.update_comment(issue_number=pr, comment_id=self._comment_id, body=body)
        self._comment_body = body

    def _outputs(
        self, result: outcome.Outcome, *, run: models.Run, baseline: models.Report | None
    ) -> None:
        report = run.report
        self._runner.set_outputs(
            {
                "final-status": result.final_status,
                "prompt-title": run.prompt_title or "",
                "report-slug": report.slug if report else "",
                "report-url": report.url if report else "",
                "failure-reason": result.reason or "",
                "score": _num(report.score) if report else "",
                "grade": report.grade if report else "",
                "baseline-score": _num(baseline.score) if baseline else "",
                "report-json": _compact(report.raw) if report else "",
                "baseline-json": _compact(baseline.raw) if baseline else "",
            }
        )

    def _annotate(self, result: outcome.Outcome) -> None:
        if result.kind in ("failed", "unavailable", "cancelled"):
            self._runner.annotate("error", self._description(result))
        elif result.kind in ("dnf", "timeout"):
            self._runner.annotate("warning", self._description(result))

    def _print_local(self, *, body: str) -> None:
        self._runner.group("Status")
        if self._config.skip_status:
            self._runner.info("Status: none (skip-status is true)")
        elif self._would_set is not None:
            self._runner.info(self._would_set.line())
        self._runner.endgroup()
        self._runner.group("Comment")
        self._runner.info(body.rstrip("\n"))
        self._runner.endgroup()
        self._runner.group("Outputs")
        for name, value in self._runner.outputs.items():
            self._runner.info(f"{name}: {value}")
        self._runner.endgroup()


@dataclasses.dataclass(frozen=True)
class _StatusFields:
    """One commit status as it is sent (or, outside `action` mode, shown)."""

    state: str
    context: str
    description: str
    target_url: str

    def line(self) -> str:
        return f"Status: {self.state} '{self.context}': {self.description} → {self.target_url}"


def _find_comment(
    gh: github_api.GitHub, *, issue_number: int, prompt_id: str
) -> github_api.Comment | None:
    """Our oldest marker comment, authored by the token's identity; others are never edited."""
    candidates = [
        c
        for c in gh.comments(issue_number=issue_number)
        if render.is_ours(c.body, prompt_id=prompt_id)
    ]
    if not candidates:
        return None
    me = gh.identity()
    return next((c for c in candidates if c.author == me), None)


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _compact(data: Any) -> str:
    return text.compact_json(data) if data else ""


class _SignalGuard:
    """While armed, SIGTERM and SIGINT raise `errors.Cancelled`; once disarmed they are ignored,
    so the final status, comment and outputs are always written. Restores handlers on exit."""

    def __init__(self) -> None:
        self._armed = True
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _SignalGuard:
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
