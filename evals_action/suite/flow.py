"""The suite step, wiring only: plan → scheduler (worker threads, each run through `attempt`) →
per-prompt statuses, the comment, the outputs, the summary, the results and JUnit files.

`action.run` hands over here when the step has several prompts or several runs per prompt; one
prompt with one run keeps the contract's single-run flow untouched.
"""

from __future__ import annotations

import dataclasses
import pathlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from evals_action import (
    backends,
    errors,
    models,
    outcome,
    settings,
    signals,
    stats,
    suite_model,
)
from evals_action.suite import attempt, hand_off, judge, report, results, scheduler
from evals_action.suite import sink as suite_sink

if TYPE_CHECKING:
    from evals_action import action


@dataclasses.dataclass(frozen=True)
class Step:
    """What `action._prepare` resolved, for the whole suite."""

    config: settings.Settings
    deps: action.Deps
    target: models.Target
    github: Callable[..., Any]  # github_access.GitHubAccess.for_token
    context: dict[str, Any] | None  # the contract's `context`, beside suite and attempt
    local: bool


def comment_key(config: settings.Settings) -> str:
    """§1: the input; else for several prompts `<GITHUB_WORKFLOW>/<GITHUB_JOB>`, and for one
    prompt `""`: its runs go in the contract's per-prompt comment (`report.marker`)."""
    if config.comment_key or len(config.prompt_ids) == 1:
        return config.comment_key
    return "/".join(p for p in (config.github.workflow, config.github.job) if p) or "evals"


def run(*, step: Step) -> int:
    config, deps = step.config, step.deps
    suite_id = deps.new_id()
    if not config.wait:  # the evals server writes the final report (`hand_off`)
        return hand_off.run(step=step, suite_id=suite_id, comment_key=comment_key(config))
    stop = threading.Event()
    out = suite_sink.open_sink(step=step, stop=stop)
    advertised = threading.Event()  # the server said runs of one step never supersede
    clocks = attempt.Clocks(
        deadline=deps.clock() + backends.deadline_minutes(settings=config) * 60,
        clock=deps.clock,
        sleep=lambda seconds: _sleep(stop, seconds),
        rand=deps.rand,
        interval=config.poll_interval_seconds,
        timeout_fails=config.timeout_fails,
    )
    plan = scheduler.Plan(
        prompt_ids=config.prompt_ids,
        repeats=config.repeats,
        max_repeats=config.max_repeats,
        concurrency=config.concurrency,
        budget_usd=config.budget_usd,
        deadline=clocks.deadline,
    )
    deps.step.info(
        f"Suite {suite_id}: {len(plan.prompt_ids)} prompt(s) × {plan.repeats} run(s), "
        f"up to {plan.concurrency} at once"
    )

    def run_one(prompt_id: str, number: int) -> suite_model.Attempt:
        try:
            return attempt_of(prompt_id, number)
        except Exception as exc:  # noqa: BLE001 - a bug ends this run, never the whole step
            deps.step.annotate(
                "error", f"Internal error ({type(exc).__name__}: {exc}); please report it"
            )
            lost = models.Run(run_id="", status=models.FAILED, run_url="")
            failed = outcome.unavailable(lost, reason=f"internal error ({type(exc).__name__})")
            return suite_model.Attempt(prompt_id=prompt_id, attempt=number, run=None, result=failed)

    def attempt_of(prompt_id: str, number: int) -> suite_model.Attempt:
        one = dataclasses.replace(config, prompt_ids=(prompt_id,))
        session = deps.new_session()
        backend = backends.create(
            settings=one,
            target=step.target,
            session=session,
            github=step.github,
            sleep=clocks.sleep,
            clock=deps.clock,
        )
        request = models.StartRequest(
            prompt_id=prompt_id,
            url_map=config.url_map,
            template_args=config.template_vars,
            idempotency_key=deps.new_id(),
            context={**(step.context or {}), "suite": suite_id, "attempt": number},
        )

        def first(run_: models.Run) -> None:
            if getattr(backend, "supports_suites", False):
                advertised.set()
            out.started(prompt_id=prompt_id, run=run_)

        with session.deadline(seconds=max(0.0, clocks.deadline - deps.clock())):
            return attempt.run(
                backend=backend,
                request=request,
                attempt=number,
                clocks=clocks,
                log=deps.step.info,
                on_first=first,
            )

    def baseline_of(prompt_id: str, ours: frozenset[str]) -> list[stats.Observation] | None:
        if stop.is_set() or backends.kind_of(settings=config).rollout:
            return None  # cancelled: no more requests; rollouts: no published runs to compare
        session = deps.new_session()
        backend = backends.create(
            settings=dataclasses.replace(config, prompt_ids=(prompt_id,)),
            target=step.target,
            session=session,
            github=step.github,
            sleep=clocks.sleep,
            clock=deps.clock,
        )
        listing = getattr(backend, "baseline_sample", None)
        if listing is None:
            return None
        with session.deadline(seconds=max(0.0, clocks.deadline - deps.clock())):
            found: list[stats.Observation] | None = listing(
                prompt_id=prompt_id,
                exclude=ours,
                limit=config.baseline_runs,
                default_branch=advertised.is_set(),
            )
        return found

    judged = judge.Judge(config=config, baseline_of=baseline_of)

    def done(prompt_id: str, attempts: tuple[suite_model.Attempt, ...]) -> None:
        title = out.titles.get(prompt_id) or None
        out.prompt_done(judged.result(prompt_id=prompt_id, title=title, attempts=attempts))

    with signals.SignalGuard() as guard:
        ran = scheduler.Scheduler(
            plan=plan,
            run_one=run_one,
            clock=deps.clock,
            overlap=advertised.is_set,
            stop=stop,
            on_done=done,
            more=judged.more,
        ).run()
        guard.disarm()  # from here on a signal cannot stop the final statuses being written
    result = suite_model.SuiteResult(
        suite_id=suite_id,
        comment_key=comment_key(config),
        sha=step.target.sha,
        prompts=tuple(
            judged.result(prompt_id=p, title=out.titles.get(p), attempts=ran.attempts[p])
            for p in config.prompt_ids
        ),
        runs_planned=ran.planned,
        budget_exhausted=ran.budget_exhausted,
    )
    return finish(step=step, result=result, out=out)


def finish(*, step: Step, result: suite_model.SuiteResult, out: suite_sink.SuiteSink) -> int:
    """The final statuses, comment, outputs, summary, annotations and files; the exit code."""
    config, io = step.config, step.deps.step
    statuses = [report.prompt_status(p, timeout_fails=config.timeout_fails) for p in result.prompts]
    status_ok = out.final(result=result, statuses=statuses)
    body = report.comment_body(result, redact=io.secrets.redact)
    any_gate = (
        config.min_score is not None or config.min_pass_rate is not None
    ) or config.fail_on_regression
    io.set_outputs(report.outputs(result, statuses=statuses, any_gate=any_gate))
    io.write_summary(body)
    for prompt, status in zip(result.prompts, statuses, strict=True):
        _annotate(io, prompt=prompt, status=status)
    if config.results_file:
        _write(config.results_file, io.secrets.redact(results.compact(result)) + "\n", io=io)
    if config.junit_file:
        _write(config.junit_file, io.secrets.redact(results.junit(result)), io=io)
    out.close(body=body, result=result)
    code = report.exit_code(statuses, result)
    return 1 if code == 0 and not status_ok else code


def _annotate(io: Any, *, prompt: suite_model.PromptResult, status: report.PromptStatus) -> None:
    name = prompt.title or prompt.prompt_id
    gate_line = judge.error_line(prompt)
    if gate_line:
        io.annotate("error", gate_line)
    if status.state == "error":
        io.annotate("error", f"{name}: {outcome.status_description(status.description)}")
    elif status.state == "failure" and not prompt.gates_failed:
        io.annotate("warning", f"{name}: {outcome.status_description(status.description)}")


def _write(path: str, content: str, *, io: Any) -> None:
    try:
        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(path).write_text(content, encoding="utf-8")
    except OSError as exc:
        io.annotate("error", f"could not write {path}: {exc.strerror or exc}")


def _sleep(stop: threading.Event, seconds: float) -> None:
    """A run's wait: over at once when the step is cancelled (every run then ends cancelled)."""
    if stop.wait(max(0.0, seconds)):
        raise errors.Cancelled("Eval cancelled")
