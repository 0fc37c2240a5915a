"""The runner's workers: a configurable pool, shared fairly between repositories.

A worker follows one run until it ends, so one repository's burst of slow rollouts must not
take them all: each repository holds at most `workers_per_repository`, and waiting runs are
taken round-robin by repository. A run still waiting when its prompt's timeout passes fails
without being sent to the agent.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from evals_action import errors
from evals_action.server import config, fairqueue, store

from .conftest import WAIT, FakeClock, FakeRollouts, Running, running_server, settings


def test_the_queue_takes_repositories_in_turn_and_respects_the_cap() -> None:
    queue = fairqueue.FairQueue(per_tenant=2)
    for item in ("a1", "a2", "a3", "a4"):
        queue.put(item=item, tenant="a")
    queue.put(item="b1", tenant="b")
    queue.put(item="c1", tenant="c")
    queue.put(item="b2", tenant="b")
    taken = [queue.take() for _ in range(5)]
    assert taken == [("a1", "a"), ("b1", "b"), ("c1", "c"), ("a2", "a"), ("b2", "b")]
    assert queue.waiting() == 2  # a3 and a4: a holds its 2 workers


def test_a_capped_repository_gets_a_worker_back_when_one_is_done() -> None:
    queue = fairqueue.FairQueue(per_tenant=1)
    queue.put(item="a1", tenant="a")
    queue.put(item="a2", tenant="a")
    assert queue.take() == ("a1", "a")
    got: list[Any] = []
    taker = threading.Thread(target=lambda: got.append(queue.take()))
    taker.start()
    queue.done(tenant="a")
    taker.join(WAIT)
    assert got == [("a2", "a")]
    closer = threading.Thread(target=lambda: got.append(queue.take()))
    closer.start()
    queue.close()
    closer.join(WAIT)
    assert got[-1] is None


def test_workers_and_the_body_cap_are_configured_in_the_server_table() -> None:
    raw = {"prompts": [{"id": "p", "text": "t", "rollout": {"target": "remote", "url": "u"}}]}
    default = config.parse(raw=raw, environ={})
    assert (default.workers, default.workers_per_repository) == (32, 16)
    small = config.parse(raw={**raw, "server": {"workers": 3}}, environ={})
    assert (small.workers, small.workers_per_repository) == (3, 1)
    both = config.parse(
        raw={**raw, "server": {"workers": 4, "workers_per_repository": 9}}, environ={}
    )
    assert (both.workers, both.workers_per_repository) == (4, 4)
    assert default.max_body_bytes == 1_048_576
    with pytest.raises(errors.ConfigError) as caught:
        config.parse(
            raw={
                **raw,
                "server": {"workers": 0, "workers_per_repository": "2", "max_body_bytes": 1.5},
            },
            environ={},
        )
    assert caught.value.problems == (
        "server.max_body_bytes must be a whole number of at least 1 (got 1.5)",
        "server.workers must be a whole number of at least 1 (got 0)",
        "server.workers_per_repository must be a whole number of at least 1 (got '2')",
    )


def _run_ids(rollouts: FakeRollouts) -> list[str]:
    return [r["metadata"]["run_id"] for r in rollouts.requests.values()]


def _start(server: Running, repository: str, pull_request: int) -> str:
    return server.start(
        prompt_id="team/smoke test",
        template_args={},
        context={"repository": repository, "pullRequest": pull_request, "sha": "abc"},
    )


def test_one_repositorys_slow_rollouts_leave_workers_for_others(
    tmp_path: Path, rollouts: FakeRollouts
) -> None:
    """2 workers, 1 per repository: b's run starts while a's second and third wait."""
    with running_server(
        database=tmp_path / "evals.sqlite3",
        settings_=settings(workers=2, workers_per_repository=1),
        client_factory=rollouts.factory,
    ) as server:
        a1, a2, a3 = (_start(server, "o/a", n) for n in (1, 2, 3))
        b1 = _start(server, "o/b", 1)
        rollouts.started(2)
        assert sorted(_run_ids(rollouts)) == sorted([a1, b1])
        assert (server.status_of(a2), server.status_of(a3)) == ("pending", "pending")
        a1_rollout = next(k for k, v in rollouts.requests.items() if v["metadata"]["run_id"] == a1)
        rollouts.finish(a1_rollout, result={"score": 90})
        server.until(a1, lambda b: b["status"] == "completed")
        rollouts.started(3)
        assert _run_ids(rollouts)[2] == a2
        assert server.status_of(a3) == "pending"


def test_a_run_whose_timeout_passed_in_the_queue_fails_without_being_sent(
    tmp_path: Path, rollouts: FakeRollouts
) -> None:
    clock = FakeClock()
    with running_server(
        database=tmp_path / "evals.sqlite3",
        settings_=settings(workers=1),
        client_factory=rollouts.factory,
        clock=clock,
    ) as server:
        first = _start(server, "o/a", 1)
        rollouts.started(1)
        queued = _start(server, "o/b", 1)
        assert server.status_of(queued) == "pending"
        clock.advance(20 * 60)  # the prompts' default timeout_minutes
        body = server.until(queued, lambda b: b["status"] == "failed")
        assert server.run(first)["status"] == "failed"
    assert body["failureReason"] == (
        "The run waited for a free worker past its prompt's timeout (20 minutes) and was never "
        "sent to the agent; start a new run, or raise [server] workers"
    )
    assert _run_ids(rollouts) == [first]


def test_a_stopped_server_leaves_queued_runs_pending(
    tmp_path: Path, rollouts: FakeRollouts
) -> None:
    """Stopping the server does not send the runs still waiting; the next start will."""
    database = tmp_path / "evals.sqlite3"
    with running_server(
        database=database, settings_=settings(workers=1), client_factory=rollouts.factory
    ) as server:
        _start(server, "o/a", 1)
        rollouts.started(1)
        queued = _start(server, "o/b", 1)
    db = store.Store(path=database)
    row = db.get_run(run_id=queued)
    db.close()
    assert row is not None
    assert row.status == "pending"
    assert len(rollouts.requests) == 1
