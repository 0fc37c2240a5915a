"""The flow of one action run, wiring only:

event (which PR, which commit) → backend.start → first read → pending report → polling →
outcome → final report (status, comment, outputs, summary).

Collaborators (`Deps`) and where the report goes (`sinks.Opener`) are passed in; `wiring.py`
builds the real ones for the CLI. `preview` (`--dry-run`) stops before the start and prints
what would be sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from evals_action import (
    actions_runtime,
    backends,
    dry_run,
    errors,
    event,
    github_access,
    github_api,
    hand_over,
    models,
    oidc,
    outcome,
    polling,
    reporting,
    settings,
    signals,
    sinks,
    starting,
)
from evals_action.suite import flow


@dataclasses.dataclass(frozen=True)
class Deps:
    """Everything that touches the world."""

    session: Any  # transport.new_session(): a requests.Session with transport limits
    github: Callable[..., github_api.GitHub]  # (token=, repository=) → façade; defaults: ours
    step: actions_runtime.StepIO
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    rand: polling.Rand
    new_id: Callable[[], str]
    new_session: Callable[[], Any]  # transport.new_session: a suite gives each run its own


@dataclasses.dataclass(frozen=True)
class _Prepared:
    """A run ready to start: its GitHub access, target, backend and start request."""

    github: github_access.GitHubAccess
    target: models.Target
    backend: Any
    request: models.StartRequest


def run(
    *,
    config: settings.Settings,
    deps: Deps,
    sink: sinks.Opener,
    target: models.Target | None = None,
) -> int:
    """Run the eval and return the exit code; `target` when the edge already knows it (`--local`
    without an event). Raises `errors.EvalsActionError` before the run exists; after that, every
    error ends in a final status, comment and outputs."""
    _open_log(config=config, step=deps.step)
    with actions_runtime.warnings_to(deps.step):
        config = _oidc_bearer(config=config, deps=deps)
        prepared = _prepare(config=config, deps=deps, target=target)
        if prepared is None:
            return 0
        if config.is_suite:
            return flow.run(
                step=_suite_step(config=config, deps=deps, prepared=prepared, sink=sink)
            )
        return _run(config=config, deps=deps, prepared=prepared, sink=sink)


def preview(*, config: settings.Settings, deps: Deps) -> int:
    """Validate, resolve the PR and commit, and print what would be sent and shown."""
    _open_log(config=config, step=deps.step)
    with actions_runtime.warnings_to(deps.step):
        prepared = _prepare(config=config, deps=deps, target=None, dry=True)
        if prepared is None:
            return 0
        if config.is_suite:
            return dry_run.show_suite(
                config=config,
                target=prepared.target,
                backend=prepared.backend,
                request=prepared.request,
                step=deps.step,
            )
        return dry_run.show(
            config=config,
            target=prepared.target,
            backend=prepared.backend,
            request=prepared.request,
            step=deps.step,
        )


def _suite_step(
    *, config: settings.Settings, deps: Deps, prepared: _Prepared, sink: sinks.Opener
) -> flow.Step:
    return flow.Step(
        config=config,
        deps=deps,
        target=prepared.target,
        github=prepared.github.for_token,
        context=_context(prepared.target),
        local=sink is sinks.to_terminal,
    )


def _open_log(*, config: settings.Settings, step: actions_runtime.StepIO) -> None:
    for secret in (*config.secrets, config.github.id_token_request_token):
        step.add_secret(secret)
    step.info(reporting.banner(backend=config.backend, api_base_url=config.api_base_url))


def _oidc_bearer(*, config: settings.Settings, deps: Deps) -> settings.Settings:
    """api-key empty in a job with `id-token: write`: the job's OIDC token for the server's URL
    is the bearer, masked and redacted like the key it replaces."""
    if config.api_key or not config.github.oidc or backends.kind_of(settings=config).rollout:
        return config
    token = oidc.request_token(
        session=deps.session,
        environ={
            oidc.URL_VARIABLE: config.github.id_token_url,
            oidc.TOKEN_VARIABLE: config.github.id_token_request_token,
        },
        audience=config.api_base_url,
    )
    deps.step.add_secret(token)
    deps.step.info("api-key is empty: authenticating with the job's OIDC token")
    return dataclasses.replace(config, api_key=token)


def _prepare(
    *, config: settings.Settings, deps: Deps, target: models.Target | None, dry: bool = False
) -> _Prepared | None:
    """Everything before the start (`dry`: without asking the server anything); None when a
    fork PR is skipped."""
    backends.preflight(settings=config)
    access = github_access.GitHubAccess(
        factory=deps.github, token=config.github_token, repository=config.github.repository
    )
    target = target or _target(config=config, access=access)
    if target.is_fork_skip:
        deps.step.annotate("warning", event.FORK_WARNING)
        deps.step.set_outputs({"final-status": "skipped"})
        return None
    backend = backends.create(
        settings=config,
        target=target,
        session=deps.session,
        github=access.for_token,
        sleep=deps.sleep,
        clock=deps.clock,
    )
    if not config.wait:
        hand_over.check(config=config, target=target, backend=backend, ask_server=not dry)
    context = _context(target)
    if context is not None and not config.wait:
        context["report"] = hand_over.ask(config=config)
    request = models.StartRequest(
        prompt_id=config.prompt_id,
        url_map=config.url_map,
        template_args=config.template_vars,
        idempotency_key=deps.new_id(),
        context=context,
    )
    return _Prepared(github=access, target=target, backend=backend, request=request)


def _run(*, config: settings.Settings, deps: Deps, prepared: _Prepared, sink: sinks.Opener) -> int:
    step, backend = deps.step, prepared.backend
    started = starting.start(
        backend=backend, request=prepared.request, sleep=deps.sleep, log=step.info
    )
    created_at = deps.clock()
    step.set_outputs(
        {"run-id": started.run_id, "status-url": started.status_url, **started.extra_outputs}
    )
    to = sink(github=prepared.github.for_token, target=prepared.target, config=config, step=step)
    report = reporting.Reporter(
        config=config, target=prepared.target, started=started, sink=to, step=step
    )
    # No request outlives the wait: the deadline is also each request's overall time limit.
    ends_in = created_at + backends.deadline_minutes(settings=config) * 60 - deps.clock()
    with signals.SignalGuard() as guard, deps.session.deadline(seconds=ends_in):
        try:
            first = starting.first_read(
                backend=backend, started=started, sleep=deps.sleep, log=step.info
            )
            report.begin(first)
            if not config.wait:
                hand_over.give(
                    backend=backend,
                    run_id=started.run_id,
                    comment_id=to.comment_id,
                    step=step,
                    sleep=deps.sleep,
                )
                step.info(hand_over.LEFT)
                return 0
            step.group(f"Waiting for eval run {started.run_id}")
            result: polling.Result | None = polling.Poller(
                backend=backend,
                interval=config.poll_interval_seconds,
                deadline=created_at + backends.deadline_minutes(settings=config) * 60,
                clock=deps.clock,
                sleep=deps.sleep,
                rand=deps.rand,
                progress=step.info,
                started_at=created_at,
            ).wait(first=first)
        except errors.Cancelled:
            result = None
        except Exception as exc:  # noqa: BLE001 - a bug must still end the status, then surface
            step.annotate(
                "error", f"Internal error ({type(exc).__name__}: {exc}); please report it"
            )
            result = polling.Result(
                run=report.last,
                error=errors.APIError(f"internal error ({type(exc).__name__})"),
            )
        guard.disarm()  # from here on a signal cannot stop the final status being written
        step.endgroup()
        if result is None:
            return report.finish(outcome.cancelled(report.last), baseline=None)
        return _conclude(result=result, backend=backend, report=report, config=config)


def _conclude(
    *,
    result: polling.Result,
    backend: Any,
    report: reporting.Reporter,
    config: settings.Settings,
) -> int:
    if result.error is not None:
        return report.finish(
            outcome.unavailable(result.run, reason=result.error.message), baseline=None
        )
    if result.timed_out or result.run.status == models.TIMED_OUT:
        backend.cancel(run_id=result.run.run_id)
        return report.finish(outcome.timeout(result.run, fails=config.timeout_fails), baseline=None)
    final = outcome.final(result.run)
    baseline = None
    if final.completed and result.run.report and result.run.report.metrics:
        baseline = backend.baseline(prompt_id=config.prompt_id, current_run_id=result.run.run_id)
    return report.finish(final, baseline=baseline, run=result.run)


def _context(target: models.Target) -> dict[str, Any] | None:
    if not (target.repository and target.pr_number):
        return None
    return {"repository": target.repository, "pullRequest": target.pr_number, "sha": target.sha}


def _target(*, config: settings.Settings, access: github_access.GitHubAccess) -> models.Target:
    return event.resolve(
        event_name=config.github.event_name,
        payload=event.load_payload(config.github.event_path),
        repository=config.github.repository,
        default_sha=config.github.sha,
        pr_override=config.pr_number,
        sha_override=config.sha,
        lookups=access.lookups(),
    )
