"""The database's schema and the rows read from it.

Migrations are plain SQL scripts applied in order on open; `PRAGMA user_version` records how
many have run, so a new migration is appended, never edited.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from evals_action import models

IN_FLIGHT = (models.PENDING, models.RUNNING)

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE api_keys (
        key_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        created_at REAL NOT NULL,
        revoked_at REAL
    );
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        prompt_id TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        idempotency_key TEXT,
        request_json TEXT NOT NULL,
        repository TEXT,
        pull_request INTEGER,
        sha TEXT,
        prompt_title TEXT NOT NULL,
        prompt_text TEXT NOT NULL,
        failure_reason TEXT,
        rollout_id TEXT,
        init_sent INTEGER NOT NULL DEFAULT 0,
        report_json TEXT,
        report_slug TEXT UNIQUE,
        report_status TEXT,
        score REAL,
        superseded_by TEXT
    );
    CREATE UNIQUE INDEX runs_idempotency ON runs (prompt_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL;
    CREATE INDEX runs_prompt_created ON runs (prompt_id, created_at);
    CREATE INDEX runs_in_flight ON runs (status) WHERE status IN ('pending', 'running');
    CREATE INDEX runs_pull_request ON runs (prompt_id, repository, pull_request);
    """,
    """
    CREATE TABLE webhook_deliveries (
        delivery_id TEXT PRIMARY KEY,
        received_at REAL NOT NULL
    );
    CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at);
    """,
    # Suites (suites-contract §6): the step a run belongs to (`context.suite`) and its attempt.
    """
    ALTER TABLE runs ADD COLUMN suite TEXT;
    ALTER TABLE runs ADD COLUMN attempt INTEGER;
    CREATE INDEX runs_suite ON runs (suite, created_at) WHERE suite IS NOT NULL;
    """,
    # The agent's trace and screenshots (server/traces.py), kept apart from the report.
    """
    CREATE TABLE run_files (
        run_id TEXT NOT NULL REFERENCES runs (run_id),
        name TEXT NOT NULL,
        content_type TEXT NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (run_id, name)
    );
    """,
    # The runs whose request asks the server to write the final report to GitHub
    # (`report_request`), and when it was written: a restart writes the ones still due.
    """
    CREATE TABLE server_reports (
        run_id TEXT PRIMARY KEY REFERENCES runs (run_id),
        done_at REAL
    );
    CREATE INDEX server_reports_due ON server_reports (run_id) WHERE done_at IS NULL;
    """,
    # A report held for the action's step (`report.hold`): until when, the step's sticky
    # comment, and how many hand-overs came (a hand-over after the report was written makes it
    # due again; a write marks it done only if no hand-over came meanwhile).
    """
    ALTER TABLE server_reports ADD COLUMN held_until REAL;
    ALTER TABLE server_reports ADD COLUMN comment_id INTEGER;
    ALTER TABLE server_reports ADD COLUMN hand_overs INTEGER NOT NULL DEFAULT 0;
    """,
)


def migrate(*, conn: sqlite3.Connection) -> None:
    """Apply the migrations this database has not had yet (inside the caller's transaction)."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        for statement in _statements(script):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number:d}")


@dataclasses.dataclass(frozen=True)
class DueReport:
    """A run whose final report the server writes now: the step's comment, if it handed one
    over, and the hand-overs counted when it was read."""

    row: RunRow
    comment_id: int | None
    hand_overs: int


@dataclasses.dataclass(frozen=True)
class RunRow:
    """One run as stored."""

    run_id: str
    prompt_id: str
    status: str
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None
    request: Mapping[str, Any]
    repository: str | None
    pull_request: int | None
    sha: str | None
    prompt_title: str
    prompt_text: str
    failure_reason: str | None
    rollout_id: str | None
    init_sent: bool
    report: Mapping[str, Any] | None
    report_slug: str | None
    report_status: str | None
    score: float | None
    superseded_by: str | None
    suite: str | None = None  # `context.suite`: the step (one invocation) the run belongs to
    attempt: int | None = None  # `context.attempt`: 1-based per prompt within the suite

    @property
    def in_flight(self) -> bool:
        return self.status in IN_FLIGHT


@dataclasses.dataclass(frozen=True)
class KeyRow:
    """An API key's public half: never the key, only its hash."""

    key_id: str
    name: str
    created_at: float
    revoked_at: float | None


@dataclasses.dataclass(frozen=True)
class NewRun:
    """What `create_run` needs."""

    run_id: str
    prompt_id: str
    request: Mapping[str, Any]
    idempotency_key: str | None
    repository: str | None
    pull_request: int | None
    sha: str | None
    prompt_title: str
    prompt_text: str
    suite: str | None = None
    attempt: int | None = None


def run_row(row: sqlite3.Row) -> RunRow:
    """A `runs` row as a `RunRow`."""
    values = dict(row)
    values.pop("r", None)
    return RunRow(
        run_id=values["run_id"],
        prompt_id=values["prompt_id"],
        status=values["status"],
        created_at=values["created_at"],
        updated_at=values["updated_at"],
        started_at=values["started_at"],
        finished_at=values["finished_at"],
        request=json.loads(values["request_json"]),
        repository=values["repository"],
        pull_request=values["pull_request"],
        sha=values["sha"],
        prompt_title=values["prompt_title"],
        prompt_text=values["prompt_text"],
        failure_reason=values["failure_reason"],
        rollout_id=values["rollout_id"],
        init_sent=bool(values["init_sent"]),
        report=json.loads(values["report_json"]) if values["report_json"] else None,
        report_slug=values["report_slug"],
        report_status=values["report_status"],
        score=values["score"],
        superseded_by=values["superseded_by"],
        suite=values["suite"],
        attempt=values["attempt"],
    )


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
