"""No run is lost when the server stops mid-run: it resumes, or fails with a reason."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from evals_action.server import keys, schema, serving, store
from tests.fakes.gated_agent import GatedAgent

from .conftest import WAIT, FakeRollouts, running_server, settings


def _poll_until(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_a_run_whose_rollout_was_sent_resumes_after_a_restart(tmp_path: Path) -> None:
    """Same rollout id, no second `/init`: the new server polls the agent's status again."""
    database = tmp_path / "evals.sqlite3"
    before = FakeRollouts()
    with running_server(
        database=database, settings_=settings(), client_factory=before.factory
    ) as server:
        run_id = server.start(prompt_id="team/smoke test", template_args={})
        (rollout_id,) = before.started()
        _poll_until(
            lambda: server.db.get_run(run_id=run_id).init_sent,  # type: ignore[union-attr]
            "init was never recorded",
        )
    after = FakeRollouts()
    after.finish(rollout_id, result={"outcome": "succeeded", "score": 91})
    with running_server(
        database=database, settings_=settings(), client_factory=after.factory
    ) as server:
        body = server.until(run_id, lambda b: b["status"] == "completed")
    assert body["report"]["score"] == 91
    assert after.requests == {}


def test_a_run_stopped_while_handing_over_fails_with_a_reason(tmp_path: Path) -> None:
    """The agent may or may not have it; sending it twice could run the agent twice."""
    database = tmp_path / "evals.sqlite3"
    db = store.Store(path=database)
    run, _, _ = db.create_run(new=_new_run("r-1"))
    db.mark_running(run_id=run.run_id, rollout_id="ro-1")
    db.close()
    fakes = FakeRollouts()
    with running_server(
        database=database, settings_=settings(), client_factory=fakes.factory
    ) as server:
        body = server.run("r-1")
    assert body["status"] == "failed"
    assert body["failureReason"] == (
        "The server stopped while handing the rollout to the agent; start a new run"
    )
    assert fakes.requests == {}


def test_a_pending_run_starts_after_a_restart(tmp_path: Path) -> None:
    database = tmp_path / "evals.sqlite3"
    db = store.Store(path=database)
    db.create_run(new=_new_run("r-2"))
    db.close()
    fakes = FakeRollouts()
    with running_server(
        database=database, settings_=settings(), client_factory=fakes.factory
    ) as server:
        (rollout_id,) = fakes.started()
        fakes.finish(rollout_id, result={"outcome": "succeeded"})
        body = server.until("r-2", lambda b: b["status"] == "completed")
    assert fakes.requests[rollout_id]["metadata"]["run_id"] == "r-2"
    assert body["report"]["outcome"] == "succeeded"


def _new_run(run_id: str) -> schema.NewRun:
    return schema.NewRun(
        run_id=run_id,
        prompt_id="team/smoke test",
        request={"urlMap": {}, "templateArgs": {}},
        idempotency_key=None,
        repository=None,
        pull_request=None,
        sha=None,
        prompt_title="Smoke",
        prompt_text="Open it.",
    )


@pytest.fixture
def gated_agent() -> Iterator[tuple[GatedAgent, str]]:
    agent = GatedAgent()
    with serving.Background(app=agent.app()) as served:
        yield agent, served.url


def _serve(database: Path, config: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evals_action.server.cli",
            "serve",
            "--database",
            str(database),
            "--config",
            str(config),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith("EVALS_")},
    )


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).ok
    except requests.ConnectionError:
        return False


def test_a_server_killed_mid_run_resumes_it_on_the_next_start(
    tmp_path: Path, gated_agent: tuple[GatedAgent, str]
) -> None:
    """SIGKILL (no shutdown at all) while the agent works; the next start finishes the run."""
    agent, agent_url = gated_agent
    config = tmp_path / "prompts.toml"
    config.write_text(
        '[server]\npoll_interval_seconds = 0.05\n[[prompts]]\nid = "p"\ntext = "Go."\n'
        f'[prompts.rollout]\ntarget = "remote"\nurl = "{agent_url}"\n',
        encoding="utf-8",
    )
    database = tmp_path / "evals.sqlite3"
    db = store.Store(path=database)
    _, key = keys.create(store=db, name="t")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {key}"}
    first = _serve(database, config, port)
    try:
        _poll_until(lambda: _up(url), "the server did not start")
        run_id = requests.post(
            f"{url}/api/v1/prompts/p/run", json={"urlMap": {}}, headers=auth, timeout=5
        ).json()["runId"]
        _poll_until(
            lambda: db.get_run(run_id=run_id).init_sent,  # type: ignore[union-attr]
            "the rollout was never handed over",
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert db.get_run(run_id=run_id).status == "running"  # type: ignore[union-attr]
    agent.gate.set()
    second = _serve(database, config, port)
    try:
        _poll_until(lambda: _up(url), "the server did not start again")
        # The run is `running`; a long poll answers when that changes.
        body = requests.get(
            f"{url}/api/v1/runs/{run_id}", params={"wait": 10}, headers=auth, timeout=15
        ).json()
    finally:
        second.terminate()
        second.wait()
        db.close()
    assert (body["status"], body["report"]["score"]) == ("completed", 77)
    assert len(agent.inits) == 1
