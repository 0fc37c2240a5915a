"""A suite step with `wait: false`: start every planned run, write the pending statuses and the
pending comment, hand the runs over to the evals server, and end (docs/server.md).

Every run (prompts × repeats, attempt 1 of every prompt first) starts at once, the server
queues them; each carries the suite's `context` (`suite`, `attempt`) and `report`
(`hand_over.ask`, with the step's inputs that shape its report). After each run's first read
the suite sink writes the prompts' pending statuses and the pending comment (every run
"Running…"); then each run is handed over with that comment's id (`hand_over.give`, the run
route per run), and the server, once every run of the suite ended, writes the final statuses
and comment with `flow.finish` (`server/suite_reporter.py`).

Adaptive sampling (`max-repeats`) and `budget-usd` decide after each run, which a step that does
not wait cannot: `settings.load` refuses them with `wait: false`. A failed run is not retried.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evals_action import backends, errors, hand_over, models, starting, suite_model
from evals_action.suite import report
from evals_action.suite import sink as suite_sink

if TYPE_CHECKING:
    from evals_action.suite import flow

_STARTED_OUTPUTS = ("final-status", "verdict", "gates", "total-cost-usd", "results-json")


def run(*, step: flow.Step, suite_id: str, comment_key: str) -> int:
    """Start, write what is pending, hand over; 0, or 1 when a run could not be started."""
    config, io = step.config, step.deps.step
    backend = backends.create(
        settings=config,
        target=step.target,
        session=step.deps.session,
        github=step.github,
        sleep=step.deps.sleep,
        clock=step.deps.clock,
    )
    context = {
        **(step.context or {}),
        "suite": suite_id,
        "report": hand_over.ask(config=config, comment_key=comment_key),
    }
    io.info(
        f"Suite {suite_id}: {len(config.prompt_ids)} prompt(s) × {config.repeats} run(s), "
        "queued on the evals server"
    )
    started = _start_all(backend=backend, step=step, context=context)
    if not started:
        return 1  # nothing to report on: each refusal is an error line already
    out = suite_sink.SuiteSink(step=step)
    attempts = [_first_read(backend=backend, step=step, out=out, one=one) for one in started]
    _write_pending(step=step, out=out, suite_id=suite_id, comment_key=comment_key, got=attempts)
    for attempt in attempts:
        if attempt.run is not None:
            hand_over.give(
                backend=backend,
                run_id=attempt.run.run_id,
                comment_id=out.comment_id,
                step=io,
                sleep=step.deps.sleep,
            )
    io.info(hand_over.LEFT)
    return 0 if len(started) == len(config.prompt_ids) * config.repeats else 1


def _write_pending(
    *,
    step: flow.Step,
    out: suite_sink.SuiteSink,
    suite_id: str,
    comment_key: str,
    got: list[suite_model.Attempt],
) -> None:
    """The pending statuses (queued by the first reads), the pending comment with every run
    "Running…", and the outputs of a started step (the final ones empty)."""
    config, io = step.config, step.deps.step
    result = suite_model.SuiteResult(
        suite_id=suite_id,
        comment_key=comment_key,
        sha=step.target.sha,
        prompts=tuple(
            suite_model.PromptResult(
                prompt_id=p,
                title=out.titles.get(p) or None,
                attempts=tuple(a for a in got if a.prompt_id == p),
            )
            for p in config.prompt_ids
        ),
        runs_planned=len(config.prompt_ids) * config.repeats,
    )
    out.flush()
    out.close(body=report.comment_body(result, redact=io.secrets.redact), result=result)
    titles = [p.title or "" for p in result.prompts]
    io.set_outputs(
        {
            **dict.fromkeys((*report.SINGLE_RUN_OUTPUTS, *_STARTED_OUTPUTS), ""),
            "prompt-title": titles[0] if len(titles) == 1 else "",
            "budget-exhausted": "false",
        }
    )


def _start_all(
    *, backend: Any, step: flow.Step, context: dict[str, Any]
) -> list[tuple[str, int, models.StartedRun]]:
    """Every planned run, attempt by attempt; a run the server refused is an error line (the
    server reports it as not run)."""
    config, io = step.config, step.deps.step
    started = []
    for number in range(1, config.repeats + 1):
        for prompt_id in config.prompt_ids:
            request = models.StartRequest(
                prompt_id=prompt_id,
                url_map=config.url_map,
                template_args=config.template_vars,
                idempotency_key=step.deps.new_id(),
                context={**context, "attempt": number},
            )
            try:
                one = starting.start(
                    backend=backend, request=request, sleep=step.deps.sleep, log=io.info
                )
            except errors.APIError as exc:
                io.annotate("error", f"Run {number} of {prompt_id} not started: {exc.message}")
                continue
            started.append((prompt_id, number, one))
    return started


def _first_read(
    *,
    backend: Any,
    step: flow.Step,
    out: suite_sink.SuiteSink,
    one: tuple[str, int, models.StartedRun],
) -> suite_model.Attempt:
    """The run's first read: the prompt's pending status (once per prompt, or per step)."""
    prompt_id, number, started = one
    try:
        run_ = starting.first_read(
            backend=backend, started=started, sleep=step.deps.sleep, log=step.deps.step.info
        )
    except errors.APIError as exc:
        step.deps.step.annotate("warning", f"Run {started.run_id}: {exc.message}")
        run_ = models.Run(run_id=started.run_id, status=models.PENDING, run_url=started.run_url)
    out.started(prompt_id=prompt_id, run=run_)
    return suite_model.Attempt(prompt_id=prompt_id, attempt=number, run=run_, result=None)
