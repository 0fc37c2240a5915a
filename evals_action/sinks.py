"""Where a run's status, comment and final printout go, chosen once at the CLI's edge.

`to_github` (the action) writes the commit status and the sticky PR comment; `to_terminal`
(`--local`) writes nothing to GitHub and prints the status, comment and outputs at the end.
Both take text that `reporting` has already redacted; step outputs, the summary and annotations
go through `actions_runtime.StepIO` in both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

from evals_action import actions_runtime, errors, github_api, github_comments, models, settings


@dataclasses.dataclass(frozen=True)
class StatusFields:
    """One commit status as it is sent (or, in the terminal, shown)."""

    state: str
    context: str
    description: str
    target_url: str

    def line(self) -> str:
        return f"Status: {self.state} '{self.context}': {self.description} → {self.target_url}"


class Sink(Protocol):
    @property
    def comment_id(self) -> int | None:
        """The PR comment's id once written on GitHub; None when there is none."""
        ...

    def status(self, fields: StatusFields) -> bool:
        """Set (or show) the commit status; False when a final status could not be written."""
        ...

    def comment(self, body: str) -> None: ...

    def close(self, *, body: str) -> None:
        """The run is over: `body` is the final comment."""
        ...


class Opener(Protocol):
    def __call__(
        self,
        *,
        github: Callable[[], github_api.GitHub],
        target: models.Target,
        config: settings.Settings,
        step: actions_runtime.StepIO,
    ) -> Sink: ...


def to_github(
    *,
    github: Callable[[], github_api.GitHub],
    target: models.Target,
    config: settings.Settings,
    step: actions_runtime.StepIO,
) -> Sink:
    return GitHubSink(github=github, target=target, prompt_id=config.prompt_id, step=step)


def to_terminal(
    *,
    github: Callable[[], github_api.GitHub],
    target: models.Target,
    config: settings.Settings,
    step: actions_runtime.StepIO,
) -> Sink:
    return TerminalSink(skip_status=config.skip_status, step=step)


class GitHubSink:
    """The commit status (pending, then final) and the sticky comment, written to GitHub."""

    def __init__(
        self,
        *,
        github: Callable[[], github_api.GitHub],
        target: models.Target,
        prompt_id: str,
        step: actions_runtime.StepIO,
        comment_id: int | None = None,
    ) -> None:
        self._github = github
        self._sha = target.sha
        self._step = step
        self._pending_set = False
        self.failures: list[str] = []  # what GitHub refused, for a caller that retries
        self._comment = (
            github_comments.StickyComment(
                github=github,
                issue_number=target.pr_number,
                prompt_id=prompt_id,
                known_id=comment_id,
            )
            if target.pr_number
            else None
        )

    def status(self, fields: StatusFields) -> bool:
        if not self._sha:
            return True
        try:
            self._github().create_status(
                sha=self._sha,
                state=fields.state,
                context=fields.context,
                description=fields.description,
                target_url=fields.target_url or None,
            )
        except errors.GitHubError as exc:
            self.failures.append(f"commit status: {exc.message}")
            final = fields.state != "pending"
            level = "error" if final and self._pending_set else "warning"
            self._step.annotate(level, f"Commit status not set: {exc.message}")
            return not (final and self._pending_set)
        if fields.state == "pending":
            self._pending_set = True
        return True

    def comment(self, body: str) -> None:
        if self._comment is None:
            return
        try:
            self._comment.upsert(body)
        except errors.GitHubError as exc:
            self.failures.append(f"PR comment: {exc.message}")
            self._step.annotate("warning", f"PR comment not written: {exc.message}")

    @property
    def comment_id(self) -> int | None:
        """The sticky comment's id, once written (what `wait: false` hands over)."""
        return None if self._comment is None else self._comment.comment_id

    def close(self, *, body: str) -> None:
        """Everything is on GitHub already."""


class TerminalSink:
    """Nothing written to GitHub: the pending status is printed as it happens, the final status,
    comment and outputs in groups at the end."""

    def __init__(self, *, skip_status: bool, step: actions_runtime.StepIO) -> None:
        self._skip_status = skip_status
        self._step = step
        self._would_set: StatusFields | None = None
        self.comment_id: int | None = None  # nothing is written to GitHub

    def status(self, fields: StatusFields) -> bool:
        self._would_set = fields
        if fields.state == "pending":
            self._step.info(fields.line())
        return True

    def comment(self, body: str) -> None:
        """Shown once, at the end (`close`)."""

    def close(self, *, body: str) -> None:
        self._step.group("Status")
        if self._skip_status:
            self._step.info("Status: none (skip-status is true)")
        elif self._would_set is not None:
            self._step.info(self._would_set.line())
        self._step.endgroup()
        self._step.group("Comment")
        self._step.info(body.rstrip("\n"))
        self._step.endgroup()
        self._step.group("Outputs")
        for name, value in self._step.outputs.items():
            self._step.info(f"{name}: {value}")
        self._step.endgroup()
