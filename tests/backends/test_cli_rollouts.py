"""The github-workflow backend through `evals-action run --local`: wiring, outputs, cancel."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.fakes.github import FakeGitHub

from .conftest import MODEL_KEY, WORKFLOW_TOKEN, assert_no_secret

RESULT = {"schema": 1, "outcome": "goal_not_met", "score": 35, "summary": "no checkout button"}


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(owner="octo", repo="shop", token=WORKFLOW_TOKEN) as gh:
        yield gh
        assert gh.violations == []


def run_cli(*, fake: FakeGitHub, prompt_file: pathlib.Path, cwd: pathlib.Path, **extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALS_", "GITHUB_"))} | {
        "EVALS_API_KEY": "unused-key",
        "EVALS_PROMPT_ID": "prompt-123",
        "EVALS_BACKEND": "github-workflow",
        "EVALS_PROMPT_FILE": str(prompt_file),
        "EVALS_WORKFLOW": "rollout.yml",
        "EVALS_WORKFLOW_REPO": "octo/agents",
        "EVALS_WORKFLOW_TOKEN": WORKFLOW_TOKEN,
        "EVALS_MODEL_BASE_URL": "https://models.example.com/v1",
        "EVALS_MODEL_API_KEY": MODEL_KEY,
        "EVALS_TEMPLATE_VARS": json.dumps({"item": "socks"}),
        "EVALS_POLL_INTERVAL_SECONDS": "0.05",
        "EVALS_PR_NUMBER": "12",
        "EVALS_SHA": "a" * 40,
        "GITHUB_API_URL": fake.url,
        **extra,
    }
    done = subprocess.run(
        [sys.executable, "-m", "evals_action.cli", "run", "--local"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert_no_secret(output)
    return output


def test_workflow_rollout_through_the_cli(
    fake: FakeGitHub, prompt_file: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """Dispatch, find, poll, artifact: the comment shows the run link and the DNF reason."""
    fake.add_workflow(
        workflow_id="rollout.yml",
        numeric_id=7,
        repo_full_name="octo/agents",
        artifact_files={"rollout-result.json": json.dumps(RESULT)},
    )
    output = run_cli(fake=fake, prompt_file=prompt_file, cwd=tmp_path)
    (run,) = fake.workflow_runs()
    assert "### 2027 // Checkout works — Did not finish" in output
    assert "no checkout button" in output
    assert f"\nrollout-run-url: {run['html_url']}\n" in output
    assert f"\nrun-id: {run['id']}\n" in output
    assert "\nfinal-status: completed\n" in output
    assert "\nscore: 35\n" in output
    assert fake.cancelled_runs == []


def test_workflow_rollout_cancelled_on_our_timeout(
    fake: FakeGitHub, prompt_file: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """A run that never completes: at our deadline the run is cancelled and the eval times out."""
    fake.add_workflow(
        workflow_id="rollout.yml",
        numeric_id=7,
        repo_full_name="octo/agents",
        script=[("in_progress", None)],
    )
    output = run_cli(
        fake=fake, prompt_file=prompt_file, cwd=tmp_path, EVALS_WAIT_TIMEOUT_MINUTES="0.01"
    )
    (run,) = fake.workflow_runs()
    assert fake.cancelled_runs == [run["id"]]
    assert "\nfinal-status: running\n" in output
