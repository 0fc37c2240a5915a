"""`--dry-run`'s printout: the request that would be sent and the first status and comment that
would be written. Nothing is sent, no eval starts, nothing is written to GitHub."""

from __future__ import annotations

import json
from typing import Any

from evals_action import actions_runtime, hand_over, models, outcome, render, reporting, settings


def show(
    *,
    config: settings.Settings,
    target: models.Target,
    backend: Any,
    request: models.StartRequest,
    step: actions_runtime.StepIO,
) -> int:
    """Print the preview; the exit code (0)."""
    preview = models.Run(
        run_id="(dry-run)", status=models.RUNNING, run_url="(set once the run starts)"
    )
    context = outcome.status_context(
        title=None, prompt_id=config.prompt_id, override=config.status_context
    )
    sent: models.RequestPreview = backend.describe(request=request)
    step.info("Dry run: nothing is sent, no eval starts, nothing is written to GitHub.")
    step.info(f"Pull request: #{target.pr_number}" if target.pr_number else "Pull request: none")
    step.info(f"Commit: {target.sha}" if target.sha else "Commit: none")
    step.info(f"Backend: {config.backend}")
    step.info(f"Preview: {config.deployment_url}" if config.deployment_url else "Preview: none")
    step.info(f"Request: {sent.method} {sent.url}")
    step.info("Headers: " + ", ".join(f"{k}: {v}" for k, v in sent.headers.items()))
    step.info("Body: " + json.dumps(sent.body, indent=2, ensure_ascii=False))
    if not config.wait:
        step.info(
            f"wait is false: the server would first be asked whether it reports for "
            f"{target.repository} (GET /api/v1/reporting); after the first status and comment the "
            "step would hand the run over and end"
        )
    pending = outcome.running(preview)
    step.info(f"Status (first): {pending.state} '{context}': {pending.description}")
    if not config.status_context:
        step.info("(the status context uses the prompt's title once the run reports it)")
    view = reporting.view(config=config, target=target, run=preview, result=pending, baseline=None)
    step.info("Comment (first):\n" + render.comment(view))
    return 0


def show_suite(
    *,
    config: settings.Settings,
    target: models.Target,
    backend: Any,
    request: models.StartRequest,
    step: actions_runtime.StepIO,
) -> int:
    """A suite's preview: the plan, one start request per prompt (with `context.suite` and
    `context.attempt`), each prompt's first status, and where the comment goes."""
    import dataclasses

    from evals_action.suite import flow, report

    runs = len(config.prompt_ids) * config.repeats
    step.info("Dry run: nothing is sent, no eval starts, nothing is written to GitHub.")
    step.info(f"Pull request: #{target.pr_number}" if target.pr_number else "Pull request: none")
    step.info(f"Commit: {target.sha}" if target.sha else "Commit: none")
    step.info(f"Backend: {config.backend}")
    step.info(
        f"Suite: {len(config.prompt_ids)} prompt(s) × {config.repeats} run(s) = {runs} runs, "
        f"up to {config.concurrency} at once"
        + (f", budget ${config.budget_usd:g}" if config.budget_usd is not None else "")
    )
    context = dict(request.context or {}) | {"suite": "(one id per step)"}
    if not config.wait and "report" in context:  # as `suite.hand_off` sends it
        context["report"] = hand_over.ask(config=config, comment_key=flow.comment_key(config))
    for prompt_id in config.prompt_ids:
        one = dataclasses.replace(request, prompt_id=prompt_id, context=context | {"attempt": 1})
        sent: models.RequestPreview = backend.describe(request=one)
        step.info(f"Request: {sent.method} {sent.url}")
        step.info("Body: " + json.dumps(sent.body, ensure_ascii=False))
        status = outcome.status_context(
            title=None, prompt_id=prompt_id, override=config.status_context
        )
        step.info(f"Status (first): pending '{status}': Running eval...")
    marker = report.marker(flow.comment_key(config), prompt_ids=config.prompt_ids)
    step.info(f"Comment: one comment, marker {marker}")
    if not config.wait:
        step.info(
            f"wait is false: the server would first be asked whether it reports for "
            f"{target.repository} (GET /api/v1/reporting); every run would start at once, and "
            "after the pending statuses and comment the step would hand the runs over and end"
        )
    return 0
