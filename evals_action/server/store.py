"""SQLite storage (standard library `sqlite3`): `Store` opens the database and holds the runs
and their files; its other tables are its parts `store_reports` (the server's GitHub reports)
and `store_access` (API keys, webhook deliveries), over `store_base`'s connection and lock.

The database file is opened in WAL mode with `synchronous=FULL`, so a committed write survives a
crash of the server or the machine. The migrations in `schema` run on open. Every state change
is one short transaction.

One connection is shared by the API's worker threads and the runner's threads behind a lock:
every statement is a point read or write on an indexed table, so holding the lock is brief. The
app calls the store only from worker threads, never on the event loop, so a slow disk stalls the
requests that need the database and nothing else (`/healthz` still answers).
A failed statement (disk full, read-only file, I/O error) raises `StorageError`.

A run's status only ever moves forward: `finish` and `mark_running` update only runs that are
still in flight, so a superseded run is never overwritten by its late rollout.

Every text written to a run passes through `redact` first (the server's configured secrets
become `***`), so an agent that echoes a key cannot get it stored, served or published. A new
database file is created readable by its owner only (0600); SQLite gives its `-wal` and `-shm`
files the same mode.

The schema, its migrations and the row types are in `schema`; the lock file one server holds on
its database is `server_lock`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evals_action import errors
from evals_action.server import (
    report_request,
    schema,
    store_access,
    store_base,
    store_reports,
    supersession,
    traces,
)

# The row types, by the names the rollout worker (server/runner.py) still uses.
RunRow = schema.RunRow
NewRun = schema.NewRun


StorageError = store_base.StorageError
_storage_errors = store_base.storage_errors


class DatabaseUnavailable(errors.EvalsActionError):
    """The server cannot use this database file (read-only, or another server holds it)."""

    exit_code = 2


class Store(store_reports.ReportTables, store_access.AccessTables):
    """The database. `on_change(run_id)` is called after every committed status change."""

    def __init__(
        self,
        *,
        path: Path,
        on_change: Callable[[str], None] = lambda run_id: None,
        clock: Callable[[], float] = time.time,
        redact: Callable[[str], str] = lambda text: text,
    ) -> None:
        _create_private(path)
        self._redact = redact
        with _storage_errors():
            self._conn = sqlite3.connect(
                str(path), check_same_thread=False, isolation_level=None, timeout=10
            )
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
        self._lock = threading.Lock()
        self._clock = clock
        self.on_change = on_change
        self._migrate()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def check_writable(self) -> None:
        """Write the database header once; raise `StorageError` when the file is read-only."""
        with self._transaction() as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            conn.execute(f"PRAGMA user_version = {version:d}")

    @property
    def journal_mode(self) -> str:
        with self._lock:
            return str(self._conn.execute("PRAGMA journal_mode").fetchone()[0])

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        with self._transaction() as conn:
            schema.migrate(conn=conn)

    # --- runs ---------------------------------------------------------------------------------

    def create_run(self, *, new: schema.NewRun) -> tuple[schema.RunRow, bool, list[str]]:
        """Insert a pending run, superseding older steps' in-flight runs of its prompt and PR.

        Returns the run, whether it was created (False: an earlier POST with the same
        Idempotency-Key made it), and the ids of the runs it superseded (`supersession`).
        """
        now = self._clock()
        superseded: list[str] = []
        with self._transaction() as conn:
            if new.idempotency_key:
                row = conn.execute(
                    "SELECT * FROM runs WHERE prompt_id = ? AND idempotency_key = ?",
                    (new.prompt_id, new.idempotency_key),
                ).fetchone()
                if row is not None:
                    return schema.run_row(row), False, []
            if new.repository and (new.pull_request is not None or supersession.by_commit(new)):
                superseded = supersession.supersede(conn=conn, new=new, now=now)
            conn.execute(
                "INSERT INTO runs (run_id, prompt_id, status, created_at, updated_at, "
                "idempotency_key, request_json, repository, pull_request, sha, prompt_title, "
                "prompt_text, suite, attempt) "
                "VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.run_id,
                    new.prompt_id,
                    now,
                    now,
                    new.idempotency_key,
                    self._redact(json.dumps(new.request)),
                    new.repository,
                    new.pull_request,
                    new.sha,
                    new.prompt_title,
                    self._redact(new.prompt_text),
                    new.suite,
                    new.attempt,
                ),
            )
            report = new.request.get("report")
            if report:
                held = now + report_request.HOLD_SECONDS if report.get("hold") else None
                conn.execute(
                    "INSERT INTO server_reports (run_id, held_until) VALUES (?, ?)",
                    (new.run_id, held),
                )
            row = conn.execute("SELECT * FROM runs WHERE run_id = ?", (new.run_id,)).fetchone()
        for run_id in superseded:
            self.on_change(run_id)
        return schema.run_row(row), True, superseded

    def get_run(self, *, run_id: str) -> schema.RunRow | None:
        with self._lock, _storage_errors():
            row = self._conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else schema.run_row(row)

    def get_by_slug(self, *, slug: str) -> schema.RunRow | None:
        with self._lock, _storage_errors():
            row = self._conn.execute("SELECT * FROM runs WHERE report_slug = ?", (slug,)).fetchone()
        return None if row is None else schema.run_row(row)

    def list_runs(
        self,
        *,
        prompt_id: str | None,
        report_status: str | None,
        limit: int,
        offset: int,
        default_branch: bool = False,
    ) -> list[schema.RunRow]:
        """Newest first, filtered by prompt and report status when given; `default_branch`:
        only runs without a pull request (a push to the default branch, a manual run)."""
        where, args = ["1 = 1"], []
        if default_branch:
            where.append("pull_request IS NULL")
        if prompt_id is not None:
            where.append("prompt_id = ?")
            args.append(prompt_id)
        if report_status is not None:
            where.append("report_status = ?")
            args.append(report_status)
        sql = (
            f"SELECT * FROM runs WHERE {' AND '.join(where)} "  # noqa: S608 - fixed fragments
            "ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?"
        )
        with self._lock, _storage_errors():
            rows = self._conn.execute(sql, (*args, limit, offset)).fetchall()
        return [schema.run_row(r) for r in rows]

    def in_flight(self) -> list[schema.RunRow]:
        """Runs that were pending or running, oldest first (what a restart must pick up)."""
        with self._lock, _storage_errors():
            rows = self._conn.execute(
                "SELECT * FROM runs WHERE status IN ('pending', 'running') ORDER BY created_at"
            ).fetchall()
        return [schema.run_row(r) for r in rows]

    def mark_running(self, *, run_id: str, rollout_id: str) -> bool:
        """Record the rollout id before `/init` is sent. False when the run is no longer live."""
        now = self._clock()
        return self._update(
            run_id,
            "status = 'running', rollout_id = ?, init_sent = 0, started_at = ?, updated_at = ?",
            (rollout_id, now, now),
        )

    def mark_init_sent(self, *, run_id: str) -> bool:
        """The rollout service accepted `/init`: after a restart, poll it instead of re-sending."""
        return self._update(run_id, "init_sent = 1, updated_at = ?", (self._clock(),), notify=False)

    def finish(
        self,
        *,
        run_id: str,
        status: str,
        failure_reason: str | None = None,
        report: Mapping[str, Any] | None = None,
        report_slug: str | None = None,
    ) -> bool:
        """Move an in-flight run to `completed` or `failed`. False when it had already ended.

        The agent's trace leaves the report here (`traces.split`): the trace, redacted like the
        report, is stored as `trace.json` and its screenshots as files of the run."""
        now = self._clock()
        score = report.get("score") if report else None
        report, trace, files = traces.split(report) if report is not None else (None, None, {})
        if trace is not None:
            text = self._redact(json.dumps(trace)).encode()
            files = {**files, traces.TRACE_FILE: ("application/json", text)}
        changed = self._update(
            run_id,
            "status = ?, failure_reason = ?, report_json = ?, report_slug = ?, "
            "report_status = ?, score = ?, finished_at = ?, updated_at = ?",
            (
                status,
                None if failure_reason is None else self._redact(failure_reason),
                self._redact(json.dumps(report)) if report is not None else None,
                report_slug,
                "published" if report is not None else None,
                score if isinstance(score, (int, float)) else None,
                now,
                now,
            ),
        )
        if changed and files:
            with self._transaction() as conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO run_files (run_id, name, content_type, data) "
                    "VALUES (?, ?, ?, ?)",
                    [(run_id, name, kind, data) for name, (kind, data) in files.items()],
                )
        return changed

    def get_trace(self, *, run_id: str) -> dict[str, Any] | None:
        """The agent's trace of a run, without its screenshots (server/traces.py)."""
        found = self.get_file(run_id=run_id, name=traces.TRACE_FILE)
        return None if found is None else dict(json.loads(found[1]))

    def get_file(self, *, run_id: str, name: str) -> tuple[str, bytes] | None:
        """A stored file of a run (the trace, a screenshot): (content type, bytes)."""
        with self._lock, _storage_errors():
            row = self._conn.execute(
                "SELECT content_type, data FROM run_files WHERE run_id = ? AND name = ?",
                (run_id, name),
            ).fetchone()
        return None if row is None else (str(row[0]), bytes(row[1]))

    def _update(
        self, run_id: str, assignments: str, args: tuple[Any, ...], *, notify: bool = True
    ) -> bool:
        with self._transaction() as conn:
            cursor = conn.execute(
                f"UPDATE runs SET {assignments} WHERE run_id = ? "  # noqa: S608 - fixed fragments
                "AND status IN ('pending', 'running')",
                (*args, run_id),
            )
        changed = cursor.rowcount == 1
        if changed and notify:
            self.on_change(run_id)
        return changed

    def score_history(self, *, prompt_id: str, limit: int = 50) -> list[schema.RunRow]:
        """The newest completed runs with a score, oldest first (for the dashboard chart)."""
        with self._lock, _storage_errors():
            rows = self._conn.execute(
                "SELECT * FROM (SELECT *, rowid AS r FROM runs WHERE prompt_id = ? "
                "AND status = 'completed' AND score IS NOT NULL "
                "ORDER BY created_at DESC, rowid DESC LIMIT ?) ORDER BY created_at, r",
                (prompt_id, limit),
            ).fetchall()
        return [schema.run_row(r) for r in rows]

    def suite_runs(self, *, suites: Sequence[str]) -> list[schema.RunRow]:
        """Every run of these suites (steps), oldest first."""
        if not suites:
            return []
        marks = ", ".join("?" for _ in suites)
        with self._lock, _storage_errors():
            rows = self._conn.execute(
                f"SELECT * FROM runs WHERE suite IN ({marks}) "  # noqa: S608 - only ? marks
                "ORDER BY created_at, rowid",
                tuple(suites),
            ).fetchall()
        return [schema.run_row(r) for r in rows]

    def recent_suites(self, *, limit: int) -> list[str]:
        """The suites with the newest runs, newest first."""
        with self._lock, _storage_errors():
            rows = self._conn.execute(
                "SELECT suite FROM runs WHERE suite IS NOT NULL GROUP BY suite "
                "ORDER BY MAX(created_at) DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [str(r["suite"]) for r in rows]


def _create_private(path: Path) -> None:
    """Create a missing database file with mode 0600 (SQLite would use 0644 minus the umask)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:  # it exists already, or cannot be made: sqlite3 says why on connect
        return
