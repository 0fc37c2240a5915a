"""Shared by the server benchmarks: a server on loopback whose rollouts the benchmark controls.

Not a test: prints numbers, asserts nothing. Needs the `server` extra.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from evals_action.eval_protocol import states
from evals_action.server import app, config, keys, serving, store


class Rollouts:
    """In-process rollouts: `init` is free, each stays running until `finish`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: dict[str, float] = {}  # rollout id -> when finish() was called
        self.seen_done: dict[str, float] = {}  # rollout id -> when the server first saw it
        self.started: dict[str, str] = {}  # run id -> rollout id

    def factory(self, rollout: config.Rollout, session: requests.Session) -> Rollouts:
        return self

    def init(self, *, request: dict[str, Any]) -> None:
        meta = request["metadata"]
        with self._lock:
            self.started[meta["run_id"]] = meta["rollout_id"]

    def status(self, *, rollout_id: str) -> states.RolloutState:
        with self._lock:
            if rollout_id not in self._done:
                return states.RUNNING_STATE
            self.seen_done.setdefault(rollout_id, time.perf_counter())
        return states.RolloutState(
            terminal=True, status="completed", result={"outcome": "succeeded", "score": 100}
        )

    def finish(self, rollout_id: str) -> float:
        now = time.perf_counter()
        with self._lock:
            self._done[rollout_id] = now
        return now


def settings(*, poll_interval: float) -> config.ServerConfig:
    return config.parse(
        raw={
            "server": {"poll_interval_seconds": poll_interval, "long_poll_max_seconds": 30},
            "prompts": [
                {
                    "id": "bench",
                    "text": "Open http://app.example.com.",
                    "rollout": {"target": "remote", "url": "http://127.0.0.1:9"},
                }
            ],
        },
        environ={},
    )


@contextlib.contextmanager
def server(*, poll_interval: float) -> Iterator[tuple[str, str, Rollouts]]:
    """(base URL, API key, rollouts) of a fresh server with a temporary database."""
    rollouts = Rollouts()
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "bench.sqlite3"
        db = store.Store(path=database)
        _, key = keys.create(store=db, name="bench")
        db.close()
        sock = serving.listen(host="127.0.0.1", port=0)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        application = app.create_app(
            database=database,
            settings=settings(poll_interval=poll_interval),
            public_url=url,
            client_factory=rollouts.factory,
        )
        with serving.Background(app=application, sock=sock):
            yield url, key, rollouts


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
