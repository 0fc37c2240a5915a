"""Suites on the server's API (suites-contract §6): runs of one step never supersede each other,
a newer step supersedes an older step's runs in flight, the server says so in a header, and
baseline listings can be limited to the default branch."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evals_action.server import schema, store

from .conftest import FakeClock, FakeRollouts, Running, running_server, settings

PR_7 = {"repository": "o/r", "pullRequest": 7, "sha": "aaa"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def timed(tmp_path: Path, rollouts: FakeRollouts, clock: FakeClock) -> Iterator[Running]:
    """A server whose clock the test moves, so which step is newer is never a tie."""
    with running_server(
        database=tmp_path / "evals.sqlite3",
        settings_=settings(),
        client_factory=rollouts.factory,
        clock=clock,
    ) as running:
        yield running


def _step(server: Running, clock: FakeClock, suite: str | None, attempt: int | None = None) -> str:
    clock.advance(1)
    context: dict[str, Any] = dict(PR_7)
    if suite is not None:
        context["suite"] = suite
    if attempt is not None:
        context["attempt"] = attempt
    return server.start(context=context)


def test_runs_of_one_step_never_supersede_each_other(timed: Running, clock: FakeClock) -> None:
    """Three attempts of one prompt in one step, same pull request: all three stay in flight."""
    runs = [_step(timed, clock, "step-a", attempt) for attempt in (1, 2, 3)]
    assert all(timed.status_of(r) in ("pending", "running") for r in runs)
    assert all(timed.run(r)["supersededBy"] is None for r in runs)


def test_a_newer_step_supersedes_the_older_steps_runs_in_flight(
    timed: Running, clock: FakeClock
) -> None:
    older = [_step(timed, clock, "step-a", attempt) for attempt in (1, 2)]
    newer = _step(timed, clock, "step-b", 1)
    for run_id in older:
        body = timed.run(run_id)
        assert (body["status"], body["supersededBy"]) == ("superseded", newer)
    assert timed.status_of(newer) in ("pending", "running")


def test_an_older_steps_late_attempt_never_supersedes_a_newer_step(
    timed: Running, clock: FakeClock
) -> None:
    """Step A (older commit) adds an attempt after step B began: B's run keeps going; B's next
    attempt then supersedes A's late one, and never B's own."""
    a1 = _step(timed, clock, "step-a", 1)
    b1 = _step(timed, clock, "step-b", 1)
    assert timed.run(a1)["supersededBy"] == b1
    a2 = _step(timed, clock, "step-a", 2)
    assert timed.status_of(b1) in ("pending", "running")
    b2 = _step(timed, clock, "step-b", 2)
    assert timed.run(a2)["supersededBy"] == b2
    assert timed.status_of(b1) in ("pending", "running")
    assert timed.status_of(b2) in ("pending", "running")


def test_a_run_without_a_suite_supersedes_every_older_step(
    timed: Running, clock: FakeClock
) -> None:
    """The action contract's behaviour for a run without `context.suite` is unchanged: it
    supersedes all in-flight runs of its prompt and pull request, suite or not; and a suite
    started after a plain run supersedes that run."""
    suited = [_step(timed, clock, "step-a", attempt) for attempt in (1, 2)]
    plain = _step(timed, clock, None)
    assert [timed.run(r)["supersededBy"] for r in suited] == [plain, plain]
    later = _step(timed, clock, "step-c", 1)
    assert timed.run(plain)["supersededBy"] == later


def test_suite_and_attempt_are_stored_and_returned_in_the_context(server: Running) -> None:
    run_id = server.start(context={**PR_7, "suite": "s-1", "attempt": 2})
    assert server.run(run_id)["context"] == {**PR_7, "suite": "s-1", "attempt": 2}
    row = server.db.get_run(run_id=run_id)
    assert row is not None
    assert (row.suite, row.attempt) == ("s-1", 2)
    only_suite = server.start(context={"suite": "s-2"})
    assert server.run(only_suite)["context"] == {"suite": "s-2", "attempt": None}


@pytest.mark.parametrize(
    ("context", "named"),
    [
        ({"suite": 12}, "context.suite"),
        ({"suite": ""}, "context.suite"),
        ({"suite": "x" * 201}, "context.suite"),
        ({"suite": ["a"]}, "context.suite"),
        ({"suite": "s", "attempt": 0}, "context.attempt"),
        ({"suite": "s", "attempt": "2"}, "context.attempt"),
        ({"suite": "s", "attempt": True}, "context.attempt"),
        ({"suite": "s", "attempt": 2**63}, "context.attempt"),
    ],
)
def test_a_bad_suite_or_attempt_is_refused_and_nothing_is_stored(
    shared_server: Running, context: dict[str, Any], named: str
) -> None:
    db = shared_server.db
    before = len(db.list_runs(prompt_id=None, report_status=None, limit=100, offset=0))
    response = shared_server.session().post(
        f"{shared_server.url}/api/v1/prompts/signup/run",
        json={"templateArgs": {"project_name": "x"}, "context": context},
        timeout=5,
    )
    assert response.status_code == 400
    message = response.json()["error"]
    assert message.startswith(f"{named} must be ")
    assert "or left out" in message
    assert len(db.list_runs(prompt_id=None, report_status=None, limit=100, offset=0)) == before


def test_every_api_response_advertises_suites(shared_server: Running) -> None:
    """`X-Evals-Suites: 1` on every API answer, errors included; not on the pages."""
    session = shared_server.session()
    url = shared_server.url
    answers = [
        session.get(f"{url}/api/v1/prompts", timeout=5),
        session.get(f"{url}/api/v1/runs", params={"branch": "default"}, timeout=5),
        session.get(f"{url}/api/v1/runs/nope", timeout=5),
        session.get(f"{url}/api/v1/nothing-here", timeout=5),
        session.delete(f"{url}/api/v1/prompts", timeout=5),
        session.post(f"{url}/api/v1/prompts/signup/run", data=b"[", timeout=5),
        session.get(f"{url}/api/openapi", timeout=5),
        shared_server.session(key="wrong").get(f"{url}/api/v1/prompts", timeout=5),
    ]
    assert [a.status_code for a in answers] == [200, 200, 404, 404, 405, 400, 200, 401]
    assert [a.headers.get("X-Evals-Suites") for a in answers] == ["1"] * len(answers)
    page = session.get(f"{url}/", timeout=5)
    assert page.status_code == 200
    assert "X-Evals-Suites" not in page.headers
    assert "Content-Security-Policy" in answers[0].headers  # the security headers stay


def _finish_with(server: Running, rollouts: FakeRollouts, run_id: str, index: int) -> None:
    rollout_id = rollouts.started(index + 1)[index]
    rollouts.finish(rollout_id, result={"outcome": "succeeded", "score": 90})
    server.until(run_id, lambda b: b["status"] == "completed")


def test_default_branch_baselines_ignore_runs_from_pull_requests(
    server: Running, rollouts: FakeRollouts
) -> None:
    """Runs from pull requests are published too, but `branch=default` lists only the runs
    without one (a push to main): those are the baseline."""
    main = server.start(context={"repository": "o/r", "sha": "m1"})
    _finish_with(server, rollouts, main, 0)
    from_pr = server.start(context={**PR_7, "suite": "s"})
    _finish_with(server, rollouts, from_pr, 1)
    params: dict[str, Any] = {"promptId": "signup", "reportStatus": "published", "limit": 20}
    session = server.session()
    everything = session.get(f"{server.url}/api/v1/runs", params=params, timeout=5).json()
    assert [r["runId"] for r in everything] == [from_pr, main]
    default = session.get(
        f"{server.url}/api/v1/runs", params={**params, "branch": "default"}, timeout=5
    ).json()
    assert [r["runId"] for r in default] == [main]
    second_page = session.get(
        f"{server.url}/api/v1/runs",
        params={**params, "branch": "default", "offset": 1},
        timeout=5,
    ).json()
    assert second_page == []


@pytest.mark.parametrize("branch", ["main", "DEFAULT", "pr"])
def test_an_unknown_branch_filter_is_refused(shared_server: Running, branch: str) -> None:
    response = shared_server.session().get(
        f"{shared_server.url}/api/v1/runs", params={"branch": branch}, timeout=5
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("branch must be 'default' ")


def test_an_existing_database_gains_suite_and_attempt_on_open(tmp_path: Path) -> None:
    """A database made before suites (two migrations) keeps its runs; they have no suite."""
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(schema.MIGRATIONS[:2], start=1):
        conn.executescript(script)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.execute(
        "INSERT INTO runs (run_id, prompt_id, status, created_at, updated_at, request_json, "
        "prompt_title, prompt_text) VALUES ('old', 'signup', 'pending', 1, 1, '{}', 't', 'x')"
    )
    conn.close()
    db = store.Store(path=path)
    try:
        assert db.schema_version == len(schema.MIGRATIONS)
        row = db.get_run(run_id="old")
        assert row is not None
        assert (row.suite, row.attempt) == (None, None)
    finally:
        db.close()
