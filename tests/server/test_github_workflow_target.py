"""A prompt whose rollout target is `github-workflow`, through `backends.github_workflow`,
against the loopback fake of GitHub's REST API (every call checked against GitHub's OpenAPI)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evals_action.server import config, rollout_clients
from tests.fakes.github import FakeGitHub

from .conftest import running_server

# The façade passes `lazy=` to get_repo, which PyGithub 2.10 deprecates (not ours).
pytestmark = pytest.mark.filterwarnings("ignore:Argument lazy is deprecated:DeprecationWarning")
TOKEN = "ghs_workflow_token"
RESULT = {
    "schema": 1,
    "outcome": "succeeded",
    "score": 91,
    "summary": "bought socks",
    "metrics": {"timeSeconds": 60, "costUsd": 0.05, "errors": 0, "interruptions": 1},
}


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(owner="octo", repo="agents", token=TOKEN) as fake:
        yield fake
        assert fake.violations == []


def _settings(github: FakeGitHub) -> config.ServerConfig:
    raw: dict[str, Any] = {
        "server": {"poll_interval_seconds": 0.02},
        "fetch": {"allow_private_networks": True},  # the default preview is on loopback
        "prompts": [
            {
                "id": "shop",
                "text": "Buy socks on https://shop.example.com",
                "rollout": {
                    "target": "github-workflow",
                    "workflow_repo": "octo/agents",
                    "workflow": "rollout.yml",
                    "workflow_token_env": "WF_TOKEN",
                    "github_api_url": github.url,
                    "github_server_url": github.server_url,
                    "completion_params": {"model": "m-1"},
                },
                "checks": [
                    {"type": "contains", "value": "socks"},
                    {"type": "json_equals", "path": "metrics.interruptions", "expected": 1},
                ],
            }
        ],
    }
    return config.parse(raw=raw, environ={"WF_TOKEN": TOKEN})


def test_a_workflow_rollout_is_dispatched_followed_and_graded(
    tmp_path: Path, github: FakeGitHub
) -> None:
    github.add_workflow(
        workflow_id="rollout.yml",
        numeric_id=4242,
        artifact_files={"rollout-result.json": json.dumps(RESULT)},
    )
    with running_server(
        database=tmp_path / "db",
        settings_=_settings(github),
        client_factory=rollout_clients.backend_clients,
    ) as server:
        run_id = server.start(prompt_id="shop", template_args={}, preview="https://pr-3.shop.dev")
        body = server.until(run_id, lambda b: b["status"] not in ("pending", "running"))
    assert body["status"] == "completed", body
    report = body["report"]
    assert (report["score"], report["outcome"], report["answer"]) == (
        100,
        "succeeded",
        "bought socks",
    )
    (dispatch,) = github.dispatches
    metadata = json.loads(dispatch["inputs"]["metadata"])
    assert (metadata["run_id"], metadata["row_id"]) == (run_id, "shop")
    assert metadata["url_map"] == {"app.example.com": "https://pr-3.shop.dev"}
    assert json.loads(dispatch["inputs"]["completion_params"]) == {"model": "m-1"}


def test_a_failed_workflow_fails_the_run_with_the_conclusion(
    tmp_path: Path, github: FakeGitHub
) -> None:
    github.add_workflow(
        workflow_id="rollout.yml",
        numeric_id=4242,
        script=(("in_progress", None), ("completed", "failure")),
    )
    with running_server(
        database=tmp_path / "db",
        settings_=_settings(github),
        client_factory=rollout_clients.backend_clients,
    ) as server:
        run_id = server.start(prompt_id="shop", template_args={})
        body = server.until(run_id, lambda b: b["status"] == "failed")
    assert body["failureReason"] == "GitHub Actions workflow concluded with 'failure'"


def test_a_workflow_rollout_in_flight_across_a_restart_fails_with_a_reason(
    tmp_path: Path, github: FakeGitHub
) -> None:
    github.add_workflow(workflow_id="rollout.yml", numeric_id=4242, script=(("in_progress", None),))
    database = tmp_path / "db"
    with running_server(
        database=database,
        settings_=_settings(github),
        client_factory=rollout_clients.backend_clients,
    ) as server:
        run_id = server.start(prompt_id="shop", template_args={})
        server.until(
            run_id,
            lambda b: b["status"] == "running" and server.db.get_run(run_id=run_id).init_sent,
        )  # type: ignore[union-attr]
    with running_server(
        database=database,
        settings_=_settings(github),
        client_factory=rollout_clients.backend_clients,
    ) as server:
        body = server.until(run_id, lambda b: b["status"] == "failed")
    assert body["failureReason"].startswith(
        "The rollout service failed: the server restarted while this workflow rollout ran"
    )
    assert len(github.dispatches) == 1


def test_a_listing_that_fails_after_the_dispatch_never_dispatches_again(
    tmp_path: Path, github: FakeGitHub
) -> None:
    """The dispatch went through, then GitHub's run listing failed every time `find_run`
    looked: the run driver tries `init` again, which must look again, not dispatch a second
    workflow run for the same rollout."""
    github.add_workflow(
        workflow_id="rollout.yml",
        numeric_id=4242,
        artifact_files={"rollout-result.json": json.dumps(RESULT)},
    )
    # find_run looks 6 times (FIND_RUN): every look of the first init fails.
    github.fail_next(
        method="GET", path_pattern=r"/actions/workflows/[^/]+/runs$", status=503, times=6
    )

    def no_waits(rollout: config.Rollout, session: Any) -> rollout_clients.RolloutClient:
        return rollout_clients.WorkflowRollouts(rollout=rollout, sleep=lambda seconds: None)

    with running_server(
        database=tmp_path / "db", settings_=_settings(github), client_factory=no_waits
    ) as server:
        run_id = server.start(prompt_id="shop", template_args={}, preview="https://pr-3.shop.dev")
        body = server.until(run_id, lambda b: b["status"] not in ("pending", "running"))
    assert body["status"] == "completed", body
    assert len(github.dispatches) == 1
