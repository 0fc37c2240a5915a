"""What a run reports and when: the log's first line (`banner`), the pending report after the
first read, the final one at the end.

`Reporter` builds the commit status, the comment, the step outputs, the job summary and the
annotations, and hands the status and comment to the `sinks.Sink` chosen at the CLI's edge.
Redaction happens here, at fixed points: the comment body after rendering and cutting; the status
description before it is cut to 140 characters and after; the status context from the redacted
title; the annotations from the same description.
"""

from __future__ import annotations

from typing import Any

from evals_action import actions_runtime, backends, models, outcome, render, settings, sinks, text


class Reporter:
    """The comment, status and outputs of one run: pending at first, final at the end."""

    def __init__(
        self,
        *,
        config: settings.Settings,
        target: models.Target,
        started: models.StartedRun,
        sink: sinks.Sink,
        step: actions_runtime.StepIO,
    ) -> None:
        self._config = config
        self._target = target
        self._started = started
        self._sink = sink
        self._step = step
        self._secrets = step.secrets  # the one list, shared with the step's writers
        self.last = models.Run(
            run_id=started.run_id, status=models.PENDING, run_url=started.run_url
        )
        self._context = ""

    def begin(self, first: models.Run) -> None:
        self.last = first
        self._context = self._status_context(first)
        self._step.info(
            f"Eval run {first.run_id} started: {first.prompt_title or self._config.prompt_id}"
        )
        self._step.info(f"Status page: {first.run_url}")
        if self._config.deployment_url:
            self._step.info(f"Preview: {self._config.deployment_url}")
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
        """Write the final status, comment, outputs, summary and annotations; the exit code."""
        run = run or self.last
        self.last = run
        if not self._context:
            self._context = self._status_context(run)
        status_ok = self._status(result)
        body = self._comment(result, baseline=baseline)
        self._step.set_outputs(outputs(result=result, run=run, baseline=baseline))
        self._step.write_summary(render.summary(self._view(result, run, baseline)))
        self._annotate(result)
        self._sink.close(body=body)
        exit_code = result.exit_code if result.exit_code is not None else 1
        if not status_ok and exit_code == 0:
            exit_code = 1
        return exit_code

    def _view(
        self, result: outcome.Outcome, run: models.Run, baseline: models.Report | None
    ) -> render.View:
        return view(
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
        if self._config.skip_status:
            return True
        return self._sink.status(
            sinks.StatusFields(
                state=result.state,
                context=self._context,
                description=self._description(result),
                target_url=self._secrets.redact(result.target_url or ""),
            )
        )

    def _comment(self, result: outcome.Outcome, *, baseline: models.Report | None) -> str:
        """Rendered, escaped and cut, then redacted, then handed to the sink."""
        body = self._secrets.redact(render.comment(self._view(result, self.last, baseline)))
        if not self._config.skip_comment:
            self._sink.comment(body)
        return body

    def _annotate(self, result: outcome.Outcome) -> None:
        if result.kind in ("failed", "unavailable", "cancelled"):
            self._step.annotate("error", self._description(result))
        elif result.kind in ("dnf", "timeout"):
            self._step.annotate("warning", self._description(result))


def banner(*, backend: str, api_base_url: str) -> str:
    """The log's first line (after the masks): which deployment this run talks to, worded as
    the managed action words it."""
    return backends.banner(backend=backend, api_base_url=api_base_url)


def outputs(
    *, result: outcome.Outcome, run: models.Run, baseline: models.Report | None
) -> dict[str, str | None]:
    """The final step outputs (the step redacts them, and writes None as "")."""
    report = run.report
    return {
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


def view(
    *,
    config: settings.Settings,
    target: models.Target,
    run: models.Run,
    result: outcome.Outcome,
    baseline: models.Report | None,
    extras: dict[str, str] | None = None,
) -> render.View:
    """The comment's and summary's view model for this run."""
    return render.build_view(
        prompt_id=config.prompt_id,
        run=run,
        result=result,
        baseline=baseline,
        template_vars=config.template_vars,
        url_map=config.url_map,
        sha=target.sha,
        dashboard_url=backends.dashboard_url(settings=config),
        extras=extras,
    )


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _compact(data: Any) -> str:
    return text.compact_json(data) if data else ""
