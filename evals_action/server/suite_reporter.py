"""A suite's final statuses and comment, written by the server for a step that did not wait.

A suite step with `wait: false` (`suite/hand_off.py`) starts its runs with `context.suite` and
`context.report` (its inputs that shape the report), writes the pending statuses and comment,
and hands every run over. Once every run of the suite ended and none is held for the step any
more (`store.suites_due`), `SuiteReports` builds the suite's `SuiteResult` from the stored runs
(each read back in the wire form, `outcome.final` per run, as `reporter` does for one run; the
baselines from the server's own published default-branch runs, through the action's
`evals_api_baselines.sample_of`), judges it with the suite's `judge.Judge`, and writes it with
`suite.flow.finish` and `suite.sink.SuiteSink`, the action's own end of a suite: one engine for
the statuses, the shared (or sticky) comment and their text. The step's outputs, summary and
annotations go to a throwaway `StepIO`.

The comment edited is the one the step handed over (a gone one falls back to the search). A
suite with a superseded run is not reported: the newer step reports on the same contexts. A
GitHub refusal is retried `report_writing.ATTEMPTS` times; then every prompt's status says `error`
with the reason, so none stays `pending`. A failed run is not retried (no step waits to).
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Sequence

from evals_action import (
    action,
    actions_runtime,
    errors,
    github_api,
    models,
    outcome,
    settings,
    stats,
    suite_model,
    transport,
)
from evals_action.backends import evals_api_baselines
from evals_action.server import api, report_writing, schema
from evals_action.suite import flow, judge
from evals_action.suite import sink as suite_sink

Settings = Callable[..., settings.Settings]  # reporter.action_settings: (row=, public_url=)


class SuiteReports:
    """Writes the reports of the suites that fell due, with the server's GitHub credentials."""

    def __init__(self, *, writing: report_writing.Writing, settings_of: Settings) -> None:
        self._w, self._settings_of = writing, settings_of

    def write_due(self) -> None:
        """Every suite due now; each marked done unless the server stopped midway."""
        for suite in self._w.db.suites_due():
            if self._w.stop.is_set():
                return
            dues = self._w.db.suite_reports(suite=suite)
            self.report(suite=suite, rows=[d.row for d in dues], comment_id=_handed(dues))
            if self._w.stop.is_set():
                return
            for due in dues:
                self._w.db.report_done(run_id=due.row.run_id, hand_overs=due.hand_overs)

    def report(self, *, suite: str, rows: Sequence[schema.RunRow], comment_id: int | None) -> bool:
        """Write the suite's final statuses and comment; False when GitHub refused them every
        time (the statuses then say `error`, if GitHub takes them)."""
        first = rows[0]
        if not (first.repository and first.pull_request and first.sha):
            return True
        if any(r.status == models.SUPERSEDED for r in rows):
            return True  # the step that superseded it reports on the same contexts
        config = self._settings_of(row=first, public_url=self._w.public_url)
        runs = [
            models.Run.from_wire(api.run_json(run=r, public_url=self._w.public_url)) for r in rows
        ]
        ended = {run.run_id: outcome.final(run) for run in runs}
        problems = self._w.retried(
            what=f"suite {suite}",
            attempt=lambda: self._write(
                suite=suite, config=config, rows=rows, runs=runs, ended=ended, comment_id=comment_id
            ),
        )
        if problems is None:
            return False  # the server stopped: the report stays due for the next start
        if not problems:
            return True
        reason = report_writing.failure_reason(problems)
        failed = {run.run_id: outcome.unavailable(run, reason=reason) for run in runs}
        self._write(
            suite=suite, config=config, rows=rows, runs=runs, ended=failed, comment_id=comment_id
        )
        return False

    def _write(
        self,
        *,
        suite: str,
        config: settings.Settings,
        rows: Sequence[schema.RunRow],
        runs: Sequence[models.Run],
        ended: dict[str, outcome.Outcome],
        comment_id: int | None,
    ) -> list[str]:
        """One attempt through the action's own end of a suite; what GitHub refused."""
        repository = str(rows[0].repository)
        try:
            token, identity = self._w.credentials(repository=repository)
        except errors.GitHubError as exc:
            return [exc.message]
        target = models.Target(
            sha=rows[0].sha, pr_number=rows[0].pull_request, repository=repository
        )
        github = self._client(token=token, repository=repository, identity=identity)
        step = flow.Step(
            config=config,
            deps=self._deps(token=token, github=github),
            target=target,
            github=github,
            context=None,
            local=False,
        )
        out = suite_sink.SuiteSink(step=step, comment_id=comment_id)
        for run in runs:
            out.known(prompt_id=_prompt_of(rows, run), run=run)
        result = self._judged(
            suite=suite, config=config, rows=rows, runs=runs, ended=ended, titles=out.titles
        )
        flow.finish(step=step, result=result, out=out)
        return out.failures

    def _judged(
        self,
        *,
        suite: str,
        config: settings.Settings,
        rows: Sequence[schema.RunRow],
        runs: Sequence[models.Run],
        ended: dict[str, outcome.Outcome],
        titles: dict[str, str],
    ) -> suite_model.SuiteResult:
        """The suite's result as the action's step assembles it at its end, judged with the
        suite's verdicts and gates against the baselines in this server's store."""
        judged = judge.Judge(
            config=config,
            baseline_of=lambda p, ours: self._baseline(p, ours, limit=config.baseline_runs),
        )
        return suite_model.SuiteResult(
            suite_id=suite,
            comment_key=flow.comment_key(config),
            sha=rows[0].sha,
            prompts=tuple(
                judged.result(
                    prompt_id=p,
                    title=titles.get(p),
                    attempts=_attempts(
                        p, rows=rows, runs=runs, ended=ended, repeats=config.repeats
                    ),
                )
                for p in config.prompt_ids
            ),
            runs_planned=len(config.prompt_ids) * config.repeats,
        )

    def _client(
        self, *, token: str, repository: str, identity: str | None
    ) -> Callable[..., github_api.GitHub]:
        """One GitHub façade with the server's token, built when first asked for."""
        made: list[github_api.GitHub] = []

        def github(**_: str) -> github_api.GitHub:
            if not made:
                made.append(
                    self._w.github(
                        token=token,
                        api_url=self._w.api_url,
                        repository=repository,
                        user_agent=transport.USER_AGENT,
                        identity=identity,
                    )
                )
            return made[0]

        return github

    def _deps(self, *, token: str, github: Callable[..., github_api.GitHub]) -> action.Deps:
        """The suite code's collaborators; the step's outputs and summary go nowhere."""
        step_io = actions_runtime.StepIO(
            stdout=io.StringIO(), secret_values=(*self._w.secrets, token)
        )
        return action.Deps(
            session=None,
            github=github,
            step=step_io,
            clock=self._w.clock,
            sleep=self._sleep,
            rand=random.uniform,
            new_id=lambda: "",
            new_session=lambda: None,
        )

    def _sleep(self, seconds: float) -> None:
        self._w.stop.wait(seconds)

    def _baseline(
        self, prompt_id: str, ours: frozenset[str], *, limit: int
    ) -> list[stats.Observation]:
        """The prompt's published default-branch runs, as the action's listing reads them from
        this server (`GET /api/v1/runs?branch=default`)."""
        size = evals_api_baselines.BASELINE_PAGE_SIZE

        def page(number: int) -> list[object]:
            rows = self._w.db.list_runs(
                prompt_id=prompt_id,
                report_status="published",
                limit=size,
                offset=number * size,
                default_branch=True,
            )
            return [api.run_json(run=r, public_url=self._w.public_url) for r in rows]

        return evals_api_baselines.sample_of(page, exclude=ours, limit=limit)


def _handed(dues: Sequence[schema.DueReport]) -> int | None:
    """The comment the step handed over (every run of a step hands over the same one)."""
    return next((d.comment_id for d in dues if d.comment_id is not None), None)


def _prompt_of(rows: Sequence[schema.RunRow], run: models.Run) -> str:
    return next(r.prompt_id for r in rows if r.run_id == run.run_id)


def _attempts(
    prompt_id: str,
    *,
    rows: Sequence[schema.RunRow],
    runs: Sequence[models.Run],
    ended: dict[str, outcome.Outcome],
    repeats: int,
) -> tuple[suite_model.Attempt, ...]:
    """The prompt's attempts in order; a planned one the server never saw was not run."""
    by_number = {
        r.attempt or 1: run for r, run in zip(rows, runs, strict=True) if r.prompt_id == prompt_id
    }
    numbers = range(1, max([repeats, *by_number]) + 1)
    return tuple(
        suite_model.Attempt(
            prompt_id=prompt_id,
            attempt=n,
            run=by_number.get(n),
            result=ended[by_number[n].run_id] if n in by_number else None,
        )
        for n in numbers
    )
