"""Configured secrets never reach the database, the API, the pages or the server's log.

The agent stand-in is a real rollout service on loopback that echoes the model key it was sent
back in its status message or its final answer, as a careless agent's error handler would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evals_action.server import config, keys, rollout_clients, serving, store

from .conftest import WAIT, Running, running_server

MODEL_KEY = "sk-model-key-0123456789abcdef"
JUDGE_KEY = "judge-key-fedcba9876543210"


class EchoingAgent:
    """`POST /init` keeps the `api_key`; `GET /status` repeats it back, failing or finishing."""

    def __init__(self, *, fail: bool) -> None:
        self.fail = fail
        self.keys: list[str] = []

    def app(self) -> Starlette:
        async def init(request: Request) -> Response:
            self.keys.append((await request.json())["api_key"])
            return JSONResponse({})

        async def status(request: Request) -> Response:
            echoed = f"model call failed: 401 for key {self.keys[-1]}"
            if self.fail:
                return JSONResponse({"terminated": True, "status": {"code": 13, "message": echoed}})
            answer = {"role": "assistant", "content": f"Done. (I used {self.keys[-1]})"}
            return JSONResponse(
                {
                    "terminated": True,
                    "status": {"code": 100},
                    "info": {"result": {"messages": [answer], "summary": echoed}},
                }
            )

        return Starlette(routes=[Route("/init", init, methods=["POST"]), Route("/status", status)])


def _settings(agent_url: str) -> config.ServerConfig:
    raw: dict[str, Any] = {
        "server": {"poll_interval_seconds": 0.02},
        "fetch": {"allow_private_networks": True},
        "judge": {"base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key_env": "JUDGE"},
        "prompts": [
            {
                "id": "p",
                "text": "Go.",
                "rollout": {"target": "remote", "url": agent_url, "model_api_key_env": "MODEL"},
                "checks": [{"type": "contains", "value": "Done"}],
            }
        ],
    }
    return config.parse(raw=raw, environ={"MODEL": MODEL_KEY, "JUDGE": JUDGE_KEY})


@pytest.fixture(params=[True, False], ids=["agent-fails", "agent-answers"])
def agent(request: pytest.FixtureRequest) -> Iterator[tuple[EchoingAgent, str]]:
    stand_in = EchoingAgent(fail=request.param)
    with serving.Background(app=stand_in.app()) as served:
        yield stand_in, served.url


def _everything_stored(database: Path) -> bytes:
    return b"".join(
        p.read_bytes() for p in database.parent.glob(database.name + "*") if p.is_file()
    )


def test_an_echoed_model_key_is_stored_served_and_shown_only_as_stars(
    tmp_path: Path, agent: tuple[EchoingAgent, str]
) -> None:
    """The key the agent repeats is `***` in the row, the API answer and both pages."""
    stand_in, agent_url = agent
    database = tmp_path / "evals.sqlite3"
    with running_server(
        database=database,
        settings_=_settings(agent_url),
        client_factory=rollout_clients.backend_clients,
    ) as server:
        run_id = server.start(prompt_id="p", template_args={})
        body = server.until(run_id, lambda b: b["status"] in ("completed", "failed"))
        pages = _pages(server, run_id, body)
    assert stand_in.keys == [MODEL_KEY]  # the agent did get the key, and echoed it
    shown = str(body) + pages
    assert MODEL_KEY not in shown
    assert ("for key ***" if stand_in.fail else "(I used ***)") in shown
    assert MODEL_KEY.encode() not in _everything_stored(database)


def _pages(server: Running, run_id: str, body: dict[str, Any]) -> str:
    urls = [f"{server.url}/runs/{run_id}", f"{server.url}/"]
    if body["report"]:
        urls.append(body["report"]["url"])
    return "".join(requests.get(u, timeout=WAIT).text for u in urls)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_server_log_holds_no_configured_secret_and_no_key_from_a_query(
    tmp_path: Path,
) -> None:
    """`serve --log-level debug`: the echoed model key and a key sent in a URL are not logged."""
    stand_in = EchoingAgent(fail=True)
    database, prompts, log = tmp_path / "evals.sqlite3", tmp_path / "p.toml", tmp_path / "log"
    with serving.Background(app=stand_in.app()) as served:
        prompts.write_text(
            "[server]\npoll_interval_seconds = 0.05\n[fetch]\nallow_private_networks = true\n"
            '[[prompts]]\nid = "p"\ntext = "Go."\n[prompts.rollout]\ntarget = "remote"\n'
            f'url = "{served.url}"\nmodel_api_key_env = "MODEL"\n',
            encoding="utf-8",
        )
        db = store.Store(path=database)
        _, api_key = keys.create(store=db, name="t")
        db.close()
        port = _free_port()
        url, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {api_key}"}
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVALS_")}
        command = [sys.executable, "-m", "evals_action.server.cli", "serve"]
        options = ["--database", str(database), "--config", str(prompts), "--port", str(port)]
        with log.open("wb") as out:
            child = subprocess.Popen(
                [*command, *options, "--log-level", "debug"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**env, "MODEL": MODEL_KEY},
            )
            try:
                _until(lambda: _up(url))
                run_id = requests.post(
                    f"{url}/api/v1/prompts/p/run", json={}, headers=auth, timeout=WAIT
                ).json()["runId"]
                run_url = f"{url}/api/v1/runs/{run_id}"
                query = {"wait": 5, "api_key": api_key, "token": MODEL_KEY}
                body = requests.get(run_url, params=query, headers=auth, timeout=WAIT).json()
                _until(
                    lambda: (
                        requests.get(run_url, headers=auth, timeout=WAIT).json()["status"]
                        == "failed"
                    )
                )
            finally:
                child.send_signal(signal.SIGINT)
                child.wait(timeout=WAIT)
    text = log.read_text(encoding="utf-8")
    assert body["runId"] == run_id
    assert "failed: model call failed: 401 for key ***" in text  # the line is logged, redacted
    assert f"/api/v1/runs/{run_id}?wait=5&api_key=***&token=***" in text  # so is the request
    assert MODEL_KEY not in text
    assert api_key not in text


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).ok
    except requests.ConnectionError:
        return False


def _until(condition: Any) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        threading.Event().wait(0.02)
