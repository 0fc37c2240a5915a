"""Long polling: advertised by a header, held until the status changes or `wait` passes."""

from __future__ import annotations

import threading

from evals_action import models

from .conftest import FakeRollouts, Running


def test_the_run_route_advertises_long_polling(server: Running) -> None:
    run_id = server.start()
    response = server.session().get(f"{server.url}/api/v1/runs/{run_id}")
    assert response.headers["X-Evals-Long-Poll"] == "20"
    backend = server.backend()
    assert not backend.supports_long_poll
    backend.fetch(run_id=run_id)
    assert backend.supports_long_poll


def test_a_held_request_returns_as_soon_as_the_run_finishes(
    server: Running, rollouts: FakeRollouts
) -> None:
    """The request is held (a waiter is registered) and answers with the new status.

    Without the wake-up it would answer `running` after 15 s, and the assertion would fail.
    """
    run_id = server.start()
    (rollout_id,) = rollouts.started()
    server.until(run_id, lambda b: b["status"] == "running")
    backend = server.backend()
    backend.fetch(run_id=run_id)
    seen: list[models.Run] = []
    poll = threading.Thread(
        target=lambda: seen.append(backend.fetch(run_id=run_id, wait_seconds=15))
    )
    poll.start()
    server.until_watching(run_id)
    rollouts.finish(rollout_id, result={"outcome": "succeeded"})
    poll.join(timeout=20)
    assert [r.status for r in seen] == [models.COMPLETED]
    assert seen[0].report is not None
    assert server.changes.watching(run_id=run_id) == 0


def test_a_held_request_answers_the_unchanged_status_when_wait_passes(
    server: Running, rollouts: FakeRollouts
) -> None:
    run_id = server.start()
    rollouts.started()
    server.until(run_id, lambda b: b["status"] == "running")
    response = server.session().get(f"{server.url}/api/v1/runs/{run_id}", params={"wait": 0.2})
    assert response.json()["status"] == "running"
    assert server.changes.watching(run_id=run_id) == 0


def test_finished_runs_and_bad_waits_answer_at_once(
    server: Running, rollouts: FakeRollouts
) -> None:
    """No hold for a terminal run; `wait` that is not a finite number counts as 0."""
    run_id = server.start()
    (rollout_id,) = rollouts.started()
    rollouts.finish(rollout_id, status=models.FAILED, message="x")
    server.until(run_id, lambda b: b["status"] == "failed")
    for wait in ("30", "nan", "inf", "-3", "soon"):
        response = server.session().get(f"{server.url}/api/v1/runs/{run_id}", params={"wait": wait})
        assert response.json()["status"] == "failed"
