"""Plain data shared by every layer: what a run is, what a report says, what goes out.

Nothing here imports anything of ours or any third-party library, so every module can use it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

# Run statuses the evals API documents. Any other value is treated as "still running".
PENDING = "pending"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
SUPERSEDED = "superseded"
# Internal only: a rollout backend saw the agent's own deadline pass (Eval Protocol code 4).
TIMED_OUT = "timed_out"

TERMINAL_STATUSES = frozenset({COMPLETED, FAILED, SUPERSEDED, TIMED_OUT})

# A server that holds `GET /api/v1/runs/{id}?wait=N` until the run changes says so in this header
# (its value: the longest wait it allows, in seconds); clients long-poll only when they see it.
LONG_POLL_HEADER = "X-Evals-Long-Poll"
# `1`: runs of one step (same `context.suite`) never supersede each other (suites-contract §6).
SUITES_HEADER = "X-Evals-Suites"


@dataclasses.dataclass(frozen=True)
class Metrics:
    """`report.metrics`: display strings and the numbers behind them, each optional."""

    time: str | None = None
    time_seconds: float | None = None
    cost: str | None = None
    cost_usd: float | None = None
    errors: int | None = None
    interruptions: int | None = None

    @property
    def present(self) -> bool:
        return any(
            v is not None
            for v in (
                self.time,
                self.time_seconds,
                self.cost,
                self.cost_usd,
                self.errors,
                self.interruptions,
            )
        )


@dataclasses.dataclass(frozen=True)
class Report:
    """`run.report` as the evals API sends it; `raw` is kept for the `report-json` output."""

    slug: str | None = None
    url: str | None = None
    score: float | None = None
    grade: str | None = None
    outcome: str | None = None
    null_notice: str | None = None
    key_finding: str | None = None
    what_didnt: str | None = None
    verdict: str | None = None
    metrics: Metrics | None = None
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Run:
    """One observation of a run (`GET /api/v1/runs/{id}` or a rollout backend's equivalent)."""

    run_id: str
    status: str
    run_url: str
    status_url: str = ""
    failure_reason: str | None = None
    prompt_title: str | None = None
    prompt_text: str | None = None
    report: Report | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclasses.dataclass(frozen=True)
class StartRequest:
    """Everything a backend needs to start one eval."""

    prompt_id: str
    url_map: Mapping[str, str]
    template_args: Mapping[str, Any] | None
    idempotency_key: str
    # Optional `{repository, pullRequest, sha}` for supersession on servers that read it.
    context: Mapping[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class StartedRun:
    """What a backend returns once a run exists."""

    run_id: str
    run_url: str
    status_url: str = ""
    # Backend-specific outputs (correlation ids, `rollout-run-url`), written as step outputs
    # and listed in the job summary.
    extra_outputs: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Target:
    """Which pull request gets the comment and which commit gets the status."""

    sha: str | None
    pr_number: int | None
    repository: str | None  # "owner/repo"
    is_fork_skip: bool = False


@dataclasses.dataclass(frozen=True)
class RequestPreview:
    """What `start` would send, for `--dry-run`; secrets already replaced by `***`."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: Any
