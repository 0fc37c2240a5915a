"""docs/server.md's `wait: false` workflow, through act, against a real `evals-action serve`.

The server is a subprocess with a temporary config: its `[github]` table points at the fake
GitHub (a plain token), its one prompt's rollout goes to a loopback agent that keeps the run in
flight until the test opens the gate. So the step's end is seen while the run is still
`pending`/`running` (read from the server's API), and the final status and comment, which can
only appear after the gate opens, are written by the server after act has exited.
"""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from evals_action.server import keys, serving, store
from tests.fakes import oidc as fake_oidc
from tests.fakes.gated_agent import GatedAgent

from . import harness, servers
from .test_docs_workflows import (
    HEAD_SHA,
    PR,
    REPOSITORY,
    TOKEN,
    WORKFLOWS,
    action_step_id,
    covers,
    marker,
    pull_request_event,
)

pytestmark = pytest.mark.e2e

NAME = "Agent evals, reported by the server"
PROMPT = "create-project"


class Served:
    """`evals-action serve` in a child process, and an API key for it."""

    def __init__(
        self,
        *,
        tmp: pathlib.Path,
        github: servers.FakeProcess,
        agent_url: str,
        oidc_issuer: str = "",
    ) -> None:
        tmp.mkdir()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = tmp / "prompts.toml"
        config.write_text(
            "[server]\npoll_interval_seconds = 0.05\n"
            f'[[prompts]]\nid = "{PROMPT}"\ntext = "Create a project."\n'
            f'[prompts.rollout]\ntarget = "remote"\nurl = "{agent_url}"\n'
            f'[github]\napi_url = "{github.url}"\ntoken_env = "E2E_SERVER_GITHUB_TOKEN"\n'
            + (
                f'[oidc]\nissuer = "{oidc_issuer}"\naudience = "{self.url}"\n'
                f'[[oidc.allow]]\nrepository = "{REPOSITORY}"\n'
                if oidc_issuer
                else ""
            ),
            encoding="utf-8",
        )
        database = tmp / "evals.sqlite3"
        db = store.Store(path=database)
        _, self.key = keys.create(store=db, name="e2e")
        db.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALS_", "GITHUB_"))}
        self.log = tmp / "serve.log"
        with self.log.open("w", encoding="utf-8") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "evals_action.server.cli", "serve"]
                + ["--database", str(database), "--config", str(config), "--port", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**env, "E2E_SERVER_GITHUB_TOKEN": TOKEN},
            )
        harness.wait_for(self._up, timeout=30, what=f"evals-action serve at {self.url}")

    def _up(self) -> bool:
        assert self.process.poll() is None, self.log.read_text(encoding="utf-8")
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).ok
        except requests.ConnectionError:
            return False

    def run(self, run_id: str) -> dict[str, Any]:
        answer = requests.get(
            f"{self.url}/api/v1/runs/{run_id}",
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=10,
        )
        answer.raise_for_status()
        body = answer.json()
        assert isinstance(body, dict)
        return body

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def agent() -> Iterator[tuple[GatedAgent, str]]:
    gated = GatedAgent()
    with serving.Background(app=gated.app()) as served:
        yield gated, served.url


@covers(NAME)
def test_wait_false_step_ends_and_the_server_writes_the_final_report(
    tmp_path: pathlib.Path,
    github: servers.FakeProcess,
    workspace: harness.Workspace,
    agent: tuple[GatedAgent, str],
) -> None:
    """The step ends (exit 0) with the run in flight, having written the pending status and
    comment and `run-id`; the final status and comment come later, from the server."""
    gated, agent_url = agent
    github.op("add_pull", number=PR, head_sha=HEAD_SHA)
    served = Served(tmp=tmp_path / "server", github=github, agent_url=agent_url)
    try:
        result = harness.start(
            workspace=workspace,
            workflow_text=WORKFLOWS[NAME].text,
            event_name="pull_request",
            event=pull_request_event(),
            secrets={"GITHUB_TOKEN": TOKEN, "EVALS_API_KEY": served.key},
            variables={"EVALS_API_BASE_URL": served.url},
            env={"GITHUB_API_URL": github.url},
            repository=REPOSITORY,
        ).wait()
        assert result.returncode == 0, result.log
        assert result.job_result("eval") == "success", result.log
        run_id = result.outputs(action_step_id(NAME))["run-id"]
        assert served.run(run_id)["status"] in ("pending", "running")  # not waited for
        assert [s["state"] for s in _statuses(github)] == ["pending"]
        (pending,) = _comments(github)
        assert pending["body"].startswith(marker(PROMPT))
        assert result.step_lines(contains=f"run {run_id} is reported by the server"), result.log
        assert result.leaked([TOKEN, served.key]) == [], "a secret reached act's log"

        gated.gate.set()  # the agent finishes only now, after the step has ended
        harness.wait_for(
            lambda: [s["state"] for s in _statuses(github)] == ["pending", "success"],
            timeout=60,
            what="the server's final status",
        )
        harness.wait_for(
            lambda: "Succeeded" in _comments(github)[0]["body"],
            timeout=60,
            what="the server's final comment",
        )
    finally:
        served.stop()
    (final,) = _comments(github)
    assert final["id"] == pending["id"]  # the step's sticky comment, updated by the server
    assert TOKEN not in final["body"]
    assert served.key not in final["body"]
    server_log = served.log.read_text(encoding="utf-8")
    assert TOKEN not in server_log
    assert served.key not in server_log
    assert github.state().get("violations", []) == []


def _statuses(github: servers.FakeProcess) -> list[dict[str, Any]]:
    return [s for s in github.state()["statuses"] if s["sha"] == HEAD_SHA]


def _comments(github: servers.FakeProcess) -> list[dict[str, Any]]:
    comments = github.state()["comments"].get(str(PR), [])
    assert isinstance(comments, list)
    return comments


OIDC_NAME = "Agent evals with OIDC, no API key"


@covers(OIDC_NAME)
def test_a_job_without_an_api_key_authenticates_with_its_oidc_token(
    tmp_path: pathlib.Path,
    github: servers.FakeProcess,
    workspace: harness.Workspace,
    agent: tuple[GatedAgent, str],
) -> None:
    """docs/server.md's OIDC workflow: no `api-key`; the runner's token endpoint (a loopback
    stand-in, as act has none) gives the job a token for the server's URL, the server verifies it
    against the issuer's keys and its allow-list, and the run is reported as with a key."""
    gated, agent_url = agent
    gated.gate.set()  # the agent answers at once: the step waits for the end
    github.op("add_pull", number=PR, head_sha=HEAD_SHA)
    with fake_oidc.FakeIssuer(repository=REPOSITORY) as issuer:
        served = Served(
            tmp=tmp_path / "server", github=github, agent_url=agent_url, oidc_issuer=issuer.issuer
        )
        try:
            result = harness.start(
                workspace=workspace,
                workflow_text=WORKFLOWS[OIDC_NAME].text,
                event_name="pull_request",
                event=pull_request_event(),
                secrets={"GITHUB_TOKEN": TOKEN},
                variables={"EVALS_API_BASE_URL": served.url},
                env={
                    "GITHUB_API_URL": github.url,
                    "ACTIONS_ID_TOKEN_REQUEST_URL": issuer.request_url,
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": fake_oidc.REQUEST_TOKEN,
                },
                repository=REPOSITORY,
            ).wait()
        finally:
            served.stop()
        asked = [r for r in issuer.requests if r.path == "/_apis/token"]
        violations = issuer.take_violations()
    assert result.returncode == 0, result.log
    assert result.job_result("eval") == "success", result.log
    assert result.step_lines(contains="authenticating with the job's OIDC token"), result.log
    assert [r.query.get("audience") for r in asked] == [served.url]  # the server's URL
    assert violations == []
    assert [s["state"] for s in _statuses(github)] == ["pending", "success"]
    assert result.leaked([TOKEN, fake_oidc.REQUEST_TOKEN]) == [], "a secret reached act's log"
    assert fake_oidc.REQUEST_TOKEN not in served.log.read_text(encoding="utf-8")
    assert github.state().get("violations", []) == []
