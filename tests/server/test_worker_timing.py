"""A run's waits are `polling`'s, and every one of them ends as soon as the server stops."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

import requests

from evals_action import errors, models
from evals_action.server import config, endings, run_driver, store

from .conftest import settings


class RefusesWhileTheServerStops:
    """A rollout service that says "try again in 50 s"; the server starts stopping meanwhile."""

    def __init__(self, *, stop: threading.Event) -> None:
        self.init_calls = 0
        self._stop = stop

    def factory(self, rollout: config.Rollout, session: requests.Session) -> Any:
        return self

    def init(self, *, request: dict[str, Any]) -> None:
        self.init_calls += 1
        self._stop.set()
        raise errors.TransientAPIError("HTTP 503", status=503, retry_after=50)

    def status(self, *, rollout_id: str) -> Any:
        raise AssertionError("never polled: the rollout was not accepted")


def _pending_run(db: store.Store) -> None:
    db.create_run(
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


def test_a_stopping_server_ends_the_init_retry_wait_at_once(tmp_path: Path) -> None:
    """A 50 s Retry-After is not waited out on shutdown: one try, then the run fails as before."""
    config_ = settings()
    stop = threading.Event()
    service = RefusesWhileTheServerStops(stop=stop)
    db = store.Store(path=tmp_path / "db")
    try:
        _pending_run(db)
        driver = run_driver.RunDriver(
            db=db,
            settings=config_,
            public_url="http://127.0.0.1:1",
            client_factory=service.factory,
            clock=time.time,
            rand=random.uniform,
            stop=stop,
            ends=endings.Endings(db=db, clock=time.time, stop=stop, interval=0.02),
        )
        driver.drive("run-1")
        ended = db.get_run(run_id="run-1")
    finally:
        db.close()
    assert service.init_calls == 1
    assert ended is not None
    assert (ended.status, ended.failure_reason) == (
        models.FAILED,
        "The rollout service did not accept the run: HTTP 503",
    )
