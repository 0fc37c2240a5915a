"""Where a suite's statuses and comment go: GitHub for the action, the terminal for `--local`.

Statuses go through `sinks.GitHubSink.status` (one per prompt, or one under `status-context`
for several prompts, the worst state), written by one `writer.StatusWriter` thread so no run
waits for GitHub; a prompt's final status goes out as soon as its last run ended. The comment
is the key's shared comment (`github_suite_comment.SharedComment`: only this step's sections
are replaced), or one prompt's per-prompt sticky comment without a key. Text is redacted here,
the status description before and after it is cut to 140 characters. Calls come from worker
threads, so they are serialised.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from evals_action import (
    errors,
    github_comments,
    github_suite_comment,
    models,
    outcome,
    sinks,
    suite_comment,
    suite_model,
)
from evals_action.suite import report, writer

if TYPE_CHECKING:
    from evals_action.suite import flow


def open_sink(*, step: flow.Step, stop: threading.Event) -> SuiteSink:
    return SuiteSink(step=step)


class SuiteSink:
    def __init__(self, *, step: flow.Step, comment_id: int | None = None) -> None:
        self._step = step
        # the comment to edit (the evals server, reporting for a step that handed it over);
        # after `close`, the comment written, if any (what a step that does not wait hands over)
        self.comment_id = comment_id
        self._io = step.deps.step
        self._config = step.config
        self._lock = threading.Lock()
        self.titles: dict[str, str] = {}
        self.comment_failure: str | None = None  # why GitHub refused the comment, if it did
        self._contexts: dict[str, str] = {}  # fixed at a prompt's first status, reused after
        self._aggregate = bool(self._config.status_context) and len(self._config.prompt_ids) > 1
        self._github = (
            None
            if step.local
            else sinks.GitHubSink(
                github=step.github, target=step.target, prompt_id="", step=self._io
            )
        )
        self._writer = writer.StatusWriter(write=self._send)

    def started(self, *, prompt_id: str, run: models.Run) -> None:
        """A run's first read: the prompt's pending status, once per prompt (or per step)."""
        with self._lock:
            first_of_prompt = prompt_id not in self.titles
            self.known(prompt_id=prompt_id, run=run)
            if not first_of_prompt or (self._aggregate and len(self.titles) > 1):
                return
            self._status(
                state="pending",
                context=self._context(prompt_id),
                description=outcome.running(run).text,
                url=run.run_url,
            )

    def known(self, *, prompt_id: str, run: models.Run) -> None:
        """The prompt's title, from its first run read (which names its status context)."""
        self.titles.setdefault(prompt_id, self._io.secrets.redact(run.prompt_title or ""))

    def flush(self) -> bool:
        """Write the statuses queued so far and stop the writer (a step that does not wait);
        False when one could not be written."""
        ok = self._writer.drain()
        self._writer.close()
        return ok

    def prompt_done(self, prompt: suite_model.PromptResult) -> None:
        """A prompt's last run ended: its final status can go out now (several contexts)."""
        if self._aggregate:
            return
        status = report.prompt_status(prompt, timeout_fails=self._config.timeout_fails)
        with self._lock:
            self._final(prompt_id=prompt.prompt_id, status=status)

    def final(
        self, *, result: suite_model.SuiteResult, statuses: list[report.PromptStatus]
    ) -> bool:
        """Every final status (those already sent as they are are not sent again); False when
        one could not be written."""
        with self._lock:
            if self._aggregate:
                worst = min(statuses, key=lambda s: report.STATE_ORDER.index(s.state))
                self._status(
                    state=worst.state,
                    context=self._config.status_context or "",
                    description=worst.description,
                    url=worst.target_url,
                )
            else:
                for prompt, status in zip(result.prompts, statuses, strict=True):
                    self._final(prompt_id=prompt.prompt_id, status=status)
        return self.flush()

    def _final(self, *, prompt_id: str, status: report.PromptStatus) -> None:
        self._status(
            state=status.state,
            context=self._context(prompt_id),
            description=status.description,
            url=status.target_url,
        )

    def close(self, *, body: str, result: suite_model.SuiteResult) -> None:
        """The comment: printed for `--local`; on GitHub the shared comment of the key (only
        this step's sections are replaced), or the per-prompt sticky comment without a key."""
        body = self._io.secrets.redact(body)
        if self._github is None:
            self._io.group("Comment")
            self._io.info(body.rstrip("\n"))
            self._io.endgroup()
            self._io.group("Outputs")
            for name, value in self._io.outputs.items():
                self._io.info(f"{name}: {value}")
            self._io.endgroup()
            return
        pr = self._step.target.pr_number
        if self._config.skip_comment or not pr:
            return
        writer: github_suite_comment.SharedComment | github_comments.StickyComment
        try:
            if result.comment_key:
                writer = github_suite_comment.SharedComment(
                    github=self._step.github,
                    issue_number=pr,
                    comment_key=result.comment_key,
                    sleep=self._step.deps.sleep,
                    rand=self._step.deps.rand,
                    known_id=self.comment_id,
                )
                writer.upsert(suite_comment.sections(result, redact=self._io.secrets.redact))
            else:
                writer = github_comments.StickyComment(
                    github=self._step.github,
                    issue_number=pr,
                    prompt_id=result.prompts[0].prompt_id,
                    known_id=self.comment_id,
                )
                writer.upsert(body)
            self.comment_id = writer.comment_id
        except errors.GitHubError as exc:
            self.comment_failure = exc.message
            self._io.annotate("warning", f"PR comment not written: {exc.message}")

    @property
    def failures(self) -> list[str]:
        """What GitHub refused (statuses, the comment), for a caller that retries."""
        found = list(self._github.failures) if self._github is not None else []
        return found + ([f"PR comment: {self.comment_failure}"] if self.comment_failure else [])

    def _context(self, prompt_id: str) -> str:
        """From the title, as for one run; a title whose context another prompt of the step
        already has (two prompts, one title) takes the prompt id's instead, so no status hides
        another and the final status lands where the pending one is."""
        if prompt_id not in self._contexts:
            override = self._config.status_context
            title = self.titles.get(prompt_id) or None
            chosen = outcome.status_context(title=title, prompt_id=prompt_id, override=override)
            if chosen in self._contexts.values():
                chosen = outcome.status_context(title=None, prompt_id=prompt_id, override=None)
            self._contexts[prompt_id] = chosen
        return self._contexts[prompt_id]

    def _status(self, *, state: str, context: str, description: str, url: str) -> None:
        if self._config.skip_status:
            return
        self._writer.put(
            sinks.StatusFields(
                state=state,
                context=context,
                description=self._io.secrets.fit(description, cut=outcome.status_description),
                target_url=self._io.secrets.redact(url or ""),
            )
        )

    def _send(self, fields: sinks.StatusFields) -> bool:
        if self._github is None:
            self._io.info(fields.line())
            return True
        return self._github.status(fields)
