"""Faults: a full disk, a read-only database, a second server on the same database.

The full disk is real SQLite behaviour: `PRAGMA max_page_count` set to the database's current
size makes every write that needs a new page fail with SQLITE_FULL ("database or disk is
full"), exactly as a full file system does. The read-only database is a file the server's user
cannot write: tests run as root, whom file modes do not stop, so the server is started as the
`nobody` user there (as a plain user, the file is chmod 0444 instead).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from evals_action.server import app, schema, security, store

from .conftest import WAIT, FakeClock, FakeRollouts, Running, running_server, settings

BIG = "x" * 20_000  # needs new pages wherever it is written


class FullableStore(store.Store):
    """A real store whose database can be made full (`fill`) and freed again (`free`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.refused = 0
        self._counted = threading.Condition()

    def _max_pages(self, pages: int | None) -> None:
        with self._lock:
            if pages is None:
                pages = int(self._conn.execute("PRAGMA page_count").fetchone()[0])
            self._conn.execute(f"PRAGMA max_page_count = {pages:d}")

    def fill(self) -> None:
        self._max_pages(None)

    def free(self) -> None:
        self._max_pages(2**30)

    def finish(self, **kwargs: Any) -> bool:
        try:
            return super().finish(**kwargs)
        except Exception:  # StorageError; before it existed, sqlite3's own error
            with self._counted:
                self.refused += 1
                self._counted.notify_all()
            raise

    def wait_refused(self, count: int) -> None:
        with self._counted:
            assert self._counted.wait_for(lambda: self.refused >= count, timeout=WAIT)


@pytest.fixture
def full(tmp_path: Path, rollouts: FakeRollouts) -> Iterator[tuple[Running, FullableStore]]:
    opened: list[FullableStore] = []

    def open_store(**kwargs: Any) -> FullableStore:
        opened.append(FullableStore(**kwargs))
        return opened[0]

    with running_server(
        database=tmp_path / "evals.sqlite3",
        settings_=settings(),
        client_factory=rollouts.factory,
        open_store=open_store,
    ) as server:
        yield server, opened[0]


def _rollout_of(rollouts: FakeRollouts, run_id: str) -> str:
    rollouts.started(1)
    return next(k for k, v in rollouts.requests.items() if v["metadata"]["run_id"] == run_id)


def test_unknown_routes_and_methods_answer_json(shared_server: Running) -> None:
    missing = requests.get(f"{shared_server.url}/api/v2/nothing", timeout=WAIT)
    assert (missing.status_code, missing.json()) == (404, {"error": "Not found: /api/v2/nothing"})
    wrong = requests.delete(f"{shared_server.url}/api/v1/runs", timeout=WAIT)
    assert wrong.status_code == 405
    assert wrong.json() == {"error": "Method DELETE is not allowed on /api/v1/runs"}


class BrokenStore(store.Store):
    """A real store with a bug in one read."""

    def get_run(self, *, run_id: str) -> schema.RunRow | None:
        raise RuntimeError("a bug")


def test_an_unexpected_error_answers_json_500(tmp_path: Path, rollouts: FakeRollouts) -> None:
    with running_server(
        database=tmp_path / "evals.sqlite3",
        settings_=settings(),
        client_factory=rollouts.factory,
        open_store=BrokenStore,
    ) as server:
        response = server.session().get(f"{server.url}/api/v1/runs/r-1", timeout=WAIT)
    assert response.status_code == 500
    assert response.json() == {"error": "Internal error in the evals server; see the server log"}
    # the headers of every other answer: a bug's answer is no exception
    for name, value in (*security.HEADERS, *security.API_HEADERS):
        assert response.headers.get(name.decode()) == value.decode(), name


def test_a_full_disk_refuses_a_new_run_with_503_json_and_keeps_nothing(
    full: tuple[Running, FullableStore],
) -> None:
    server, db = full
    db.fill()
    response = server.session().post(
        f"{server.url}/api/v1/prompts/signup/run",
        json={"templateArgs": {"project_name": BIG}},
        headers={"Idempotency-Key": "same"},
        timeout=WAIT,
    )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.headers["retry-after"] == "30"
    assert response.json() == {
        "error": "The evals server could not use its database (database error: database or "
        "disk is full); try again later"
    }
    assert server.db.list_runs(prompt_id=None, report_status=None, limit=5, offset=0) == []
    db.free()
    again = server.session().post(
        f"{server.url}/api/v1/prompts/signup/run",
        json={"templateArgs": {"project_name": BIG}},
        headers={"Idempotency-Key": "same"},
        timeout=WAIT,
    )
    assert again.status_code == 201


def test_a_refused_end_is_retried_until_the_disk_has_room(
    full: tuple[Running, FullableStore], rollouts: FakeRollouts
) -> None:
    server, db = full
    run_id = server.start(prompt_id="team/smoke test", template_args={})
    rollout_id = _rollout_of(rollouts, run_id)
    db.fill()
    rollouts.finish(rollout_id, result={"score": 80, "summary": BIG})
    db.wait_refused(2)
    assert server.status_of(run_id) == "running"
    db.free()
    body = server.until(run_id, lambda b: b["status"] == "completed")
    assert body["report"]["score"] == 80


def test_a_refused_end_is_closed_as_failed_by_the_runs_deadline(
    tmp_path: Path, rollouts: FakeRollouts
) -> None:
    """The report never fits; at the prompt's timeout a short `failed` end is stored instead."""
    clock = FakeClock()
    opened: list[FullableStore] = []

    def open_store(**kwargs: Any) -> FullableStore:
        opened.append(FullableStore(**kwargs))
        return opened[0]

    with running_server(
        database=tmp_path / "evals.sqlite3",
        settings_=settings(),
        client_factory=rollouts.factory,
        open_store=open_store,
        clock=clock,
    ) as server:
        db = opened[0]
        run_id = server.start(prompt_id="team/smoke test", template_args={})
        rollout_id = _rollout_of(rollouts, run_id)
        db.fill()
        rollouts.finish(rollout_id, result={"score": 80, "summary": BIG})
        db.wait_refused(1)
        clock.advance(20 * 60)
        body = server.until(run_id, lambda b: b["status"] == "failed")
    assert body["failureReason"] == (
        "The evals server could not store the run's result before its timeout "
        "(database error: database or disk is full)"
    )


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.toml"
    path.write_text(
        '[[prompts]]\nid = "p"\ntext = "hi"\n[prompts.rollout]\n'
        'target = "remote"\nurl = "http://127.0.0.1:9"\n',
        encoding="utf-8",
    )
    path.chmod(0o644)
    return path


def _serve(database: Path, config: Path, **options: Any) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "evals_action.cli", "serve", "--port", "0"]
    return subprocess.run(  # noqa: S603 - our own CLI
        [*command, "--database", str(database), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(app.__file__).parents[2])},
        **options,
    )


def test_a_second_server_on_the_same_database_refuses_to_start(
    server: Running, rollouts: FakeRollouts, tmp_path: Path
) -> None:
    """The first server keeps its runs: the second exits 2 before touching them."""
    run_id = server.start(prompt_id="team/smoke test", template_args={})
    rollouts.started(1)
    result = _serve(server.database, _config(tmp_path))
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"Error: another evals server is already using the database {server.database} "
        f"(it holds {server.database}.lock): stop it first, or give this one its own "
        "--database\n"
    )
    assert server.status_of(run_id) == "running"
    with pytest.raises(store.DatabaseUnavailable):
        app.create_app(
            database=server.database, settings=settings(), public_url="http://127.0.0.1:1"
        )


@pytest.fixture
def read_only_database(tmp_path: Path) -> Iterator[Path]:
    """A database file nobody may write: chmod 0444, or for root an immutable file (chattr)."""
    database = tmp_path / "evals.sqlite3"
    store.Store(path=database).close()
    if os.geteuid() != 0:
        database.chmod(0o444)
        yield database
        return
    made = subprocess.run(  # noqa: S603, S607
        ["chattr", "+i", str(database)], capture_output=True, text=True, check=False
    )
    if made.returncode != 0:
        pytest.skip(f"root, and chattr +i does not work here: {made.stderr.strip()}")
    try:
        yield database
    finally:
        subprocess.run(["chattr", "-i", str(database)], check=True)  # noqa: S603, S607


def test_a_read_only_database_refuses_to_start(read_only_database: Path, tmp_path: Path) -> None:
    """It used to start and then answer every write with a 500."""
    result = _serve(read_only_database, _config(tmp_path))
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"Error: cannot write to the database {read_only_database} (database error: attempt to "
        "write a readonly database): give the server's user write access to the file and its "
        "folder, or pass another --database\n"
    )


class RefusingStore(store.Store):
    """A real store whose first `refusals` ends are refused as a full disk refuses them."""

    refusals = 3

    def finish(self, **kwargs: Any) -> bool:
        if self.refusals > 0:
            self.refusals -= 1
            raise store.StorageError("database error: database or disk is full")
        return super().finish(**kwargs)


def test_a_full_disk_at_start_does_not_stop_the_server_from_starting(
    tmp_path: Path, rollouts: FakeRollouts
) -> None:
    """The run cut off mid-handover is still failed, once the database takes the write."""
    database = tmp_path / "evals.sqlite3"
    db = store.Store(path=database)
    db.create_run(
        new=schema.NewRun(
            run_id="r-1",
            prompt_id="team/smoke test",
            request={"urlMap": {}, "templateArgs": {}},
            idempotency_key=None,
            repository=None,
            pull_request=None,
            sha=None,
            prompt_title="Smoke",
            prompt_text="text",
        )
    )
    db.mark_running(run_id="r-1", rollout_id="ro-1")
    db.close()
    with running_server(
        database=database,
        settings_=settings(),
        client_factory=rollouts.factory,
        open_store=RefusingStore,
    ) as server:
        body = server.until("r-1", lambda b: b["status"] == "failed")
    assert body["failureReason"] == (
        "The server stopped while handing the rollout to the agent; start a new run"
    )
    assert rollouts.requests == {}
