"""The worker pool's timing is `polling`'s, and every wait ends as soon as the server stops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evals_action import errors, models
from evals_action.server import store, worker

from .conftest import settings


class RefusesForNow:
    """A rollout service that asks to be tried again in 50 s, every time."""

    def __init__(self) -> None:
        self.init_calls = 0

    def init(self, *, request: dict[str, Any]) -> None:
        self.init_calls += 1
        raise errors.TransientAPIError("HTTP 503", status=503, retry_after=50)

    def status(self, *, rollout_id: str) -> Any:
        raise AssertionError("never polled: the rollout was not accepted")


def _pending_run(db: store.Store) -> store.RunRow:
    run, _, _ = db.create_run(
        new=store.NewRun(
            run_id="run-1",
            prompt_id="signup",
            request={"urlMap": {}, "templateArgs": {"project_name": "demo"}},
            idempotency_key=None,
            repository=None,
            pull_request=None,
            sha=None,
            prompt_title="Sign up",
            prompt_text="Sign up",
        )
    )
    return run


def test_a_stopping_server_ends_the_init_retry_wait_at_once(tmp_path: Path) -> None:
    """A 50 s Retry-After is not waited out on shutdown: one try, then the run fails as before."""
    config = settings()
    db = store.Store(path=tmp_path / "db")
    try:
        pool = worker.WorkerPool(db=db, settings=config, public_url="http://127.0.0.1:1")
        pool.stop()  # the stop event is set before the first wait
        service = RefusesForNow()
        started = pool._start(run=_pending_run(db), prompt=config.prompts["signup"], client=service)
        ended = db.get_run(run_id="run-1")
    finally:
        db.close()
    assert started is None
    assert service.init_calls == 1
    assert ended is not None
    assert (ended.status, ended.failure_reason) == (
        models.FAILED,
        "The rollout service did not accept the run: HTTP 503",
    )
