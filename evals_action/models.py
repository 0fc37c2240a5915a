"""Plain data shared by every layer: what a run is, what a report says, what goes out.

`Run`, `Report` and `Metrics` also speak the evals API's wire format (`from_wire` / `to_wire`),
so the action's client and the self-hosted server read and write it with the same code and
cannot drift. `nonempty`, `json_object`, `number` and `integer` are the JSON-shape readers
they use.

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
# The statuses the evals API sends (`TIMED_OUT` never travels).
WIRE_STATUSES = frozenset({PENDING, RUNNING, COMPLETED, FAILED, SUPERSEDED})

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

    @classmethod
    def from_wire(cls, data: Any) -> Metrics | None:
        """`report.metrics` read leniently; None when it is not an object or says nothing."""
        if not isinstance(data, dict):
            return None
        metrics = cls(
            time=nonempty(data.get("time")),
            time_seconds=number(data.get("timeSeconds")),
            cost=nonempty(data.get("cost")),
            cost_usd=number(data.get("costUsd")),
            errors=integer(data.get("errors")),
            interruptions=integer(data.get("interruptions")),
        )
        return metrics if metrics.present else None

    def to_wire(self) -> dict[str, Any]:
        """Every field, `null` when absent."""
        return {
            "time": self.time,
            "timeSeconds": self.time_seconds,
            "cost": self.cost,
            "costUsd": self.cost_usd,
            "errors": self.errors,
            "interruptions": self.interruptions,
        }


# The report fields `Report` holds, in wire order; any other top-level field travels in `extra`.
REPORT_FIELDS = (
    "slug",
    "url",
    "score",
    "grade",
    "outcome",
    "nullNotice",
    "keyFinding",
    "summary",
    "verdict",
    "metrics",
)


@dataclasses.dataclass(frozen=True)
class Report:
    """`run.report` as the evals API sends it; `raw` is kept for the `report-json` output.

    `extra` holds the top-level fields beyond `REPORT_FIELDS` (the server's `dimensions` and
    `answer`). Numbers are kept as sent (an integer score stays one), so `to_wire` gives back
    what `from_wire` read.
    """

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
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_wire(cls, data: Any) -> Report | None:
        """A report read leniently (wrong types count as absent); None when not an object."""
        if not isinstance(data, dict):
            return None
        summary = json_object(data.get("summary"))
        return cls(
            slug=nonempty(data.get("slug")),
            url=nonempty(data.get("url")),
            score=number(data.get("score")),
            grade=nonempty(data.get("grade")),
            outcome=nonempty(data.get("outcome")),
            null_notice=nonempty(data.get("nullNotice")),
            key_finding=nonempty(data.get("keyFinding")),
            what_didnt=nonempty(summary.get("whatDidnt")),
            verdict=nonempty(data.get("verdict")),
            metrics=Metrics.from_wire(data.get("metrics")),
            raw=dict(data),
            extra={k: v for k, v in data.items() if k not in REPORT_FIELDS},
        )

    def to_wire(self) -> dict[str, Any]:
        """Every field of `REPORT_FIELDS` (`null` when absent), then `extra`."""
        return {
            "slug": self.slug,
            "url": self.url,
            "score": self.score,
            "grade": self.grade,
            "outcome": self.outcome,
            "nullNotice": self.null_notice,
            "keyFinding": self.key_finding,
            "summary": {"whatDidnt": self.what_didnt},
            "verdict": self.verdict,
            "metrics": self.metrics.to_wire() if self.metrics else None,
            **self.extra,
        }


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

    @classmethod
    def from_wire(cls, data: Mapping[str, Any], *, fallback_id: str = "") -> Run:
        """A run read leniently; an undocumented status is "still running" (contract §3)."""
        prompt = json_object(data.get("prompt"))
        status = nonempty(data.get("status")) or PENDING
        if status not in WIRE_STATUSES:
            status = RUNNING
        return cls(
            run_id=nonempty(data.get("runId")) or fallback_id,
            status=status,
            run_url=nonempty(data.get("runUrl")) or "",
            status_url=nonempty(data.get("statusUrl")) or "",
            failure_reason=nonempty(data.get("failureReason")),
            prompt_title=nonempty(prompt.get("title")),
            prompt_text=nonempty(prompt.get("text")),
            report=Report.from_wire(data.get("report")),
        )

    def to_wire(self) -> dict[str, Any]:
        """The fields a `Run` holds, in the evals API's names (`null` when absent)."""
        return {
            "runId": self.run_id,
            "status": self.status,
            "statusUrl": self.status_url,
            "runUrl": self.run_url,
            "failureReason": self.failure_reason,
            "prompt": {"title": self.prompt_title, "text": self.prompt_text},
            "report": self.report.to_wire() if self.report else None,
        }


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


# --- JSON-shape readers: a wrong type counts as absent ----------------------------------------


def nonempty(value: Any) -> str | None:
    """A string with something other than whitespace in it, or a number as text; else None."""
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def json_object(value: Any) -> Mapping[str, Any]:
    """A JSON object, or an empty one for anything else."""
    return value if isinstance(value, dict) else {}


def number(value: Any) -> float | None:
    """A JSON number as sent (an integer stays one); None for anything else, booleans too."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def integer(value: Any) -> int | None:
    """A JSON number, truncated to an integer; None for anything else."""
    found = number(value)
    return int(found) if found is not None else None
