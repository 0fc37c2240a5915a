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


# The Eval Protocol hello-world rollout workflow's step, as GitHub writes it into a script: the
# `${{ inputs.* }}` expressions are pasted as text, inside single quotes.
HELLO_WORLD_STEP = """\
python3 -c 'import json, sys; json.dump(sys.argv[1:], open(sys.argv[1], "w"))' "$OUT" \\
  --completion-params '${{ inputs.completion_params }}' \\
  --metadata '${{ inputs.metadata }}'
"""
HOSTILE = "x'; touch $CANARY; echo '$(touch $CANARY) `touch $CANARY` \\ \" é\n<&>!"


def test_hostile_values_cannot_break_out_of_a_single_quoted_paste(
    fake: FakeGitHub, prompt_file: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """A template var holding `'` (and every other shell character) stays one argument in bash."""
    fake.add_workflow(workflow_id="rollout.yml", numeric_id=7, repo_full_name="octo/agents")
    url_map = {"shop.example.com": "https://pr-12.preview.dev/?a=1&b='2'"}
    run_cli(
        fake=fake,
        prompt_file=prompt_file,
        cwd=tmp_path,
        EVALS_TEMPLATE_VARS=json.dumps({"item": HOSTILE}),
        EVALS_URL_MAP=json.dumps(url_map),
        EVALS_COMPLETION_PARAMS=json.dumps({"model": "m", "stop": [HOSTILE]}),
    )
    (dispatch,) = fake.dispatches
    inputs = dispatch["inputs"]
    script = HELLO_WORLD_STEP.replace(
        "${{ inputs.completion_params }}", inputs["completion_params"]
    ).replace("${{ inputs.metadata }}", inputs["metadata"])
    canary, out = tmp_path / "injected", tmp_path / "argv.json"
    done = subprocess.run(
        ["bash", "-e", "-c", script],
        env={"PATH": os.environ["PATH"], "CANARY": str(canary), "OUT": str(out)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert not canary.exists()
    assert done.returncode == 0, done.stderr
    _, flag_cp, params, flag_meta, meta = json.loads(out.read_text(encoding="utf-8"))
    assert (flag_cp, flag_meta) == ("--completion-params", "--metadata")
    assert json.loads(params)["stop"] == [HOSTILE]
    assert json.loads(meta)["template_args"] == {"item": HOSTILE}
    assert json.loads(meta)["url_map"] == url_map


def test_row_id_input_lets_the_unchanged_hello_world_parse_it_as_a_number(
    fake: FakeGitHub, prompt_file: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """`row-id: 0` reaches `metadata.row_id` (hello-world does `int(row_id)`); else prompt-id."""
    fake.add_workflow(workflow_id="rollout.yml", numeric_id=7, repo_full_name="octo/agents")
    output = run_cli(fake=fake, prompt_file=prompt_file, cwd=tmp_path, EVALS_ROW_ID="0")
    run_cli(fake=fake, prompt_file=prompt_file, cwd=tmp_path)
    numbered, default = (json.loads(d["inputs"]["metadata"]) for d in fake.dispatches)
    assert "\nrow-id: 0\n" in output
    assert (numbered["row_id"], default["row_id"]) == ("0", "prompt-123")
    parse = "import json, sys; print(int(json.loads(sys.argv[1])['row_id']))"
    done = subprocess.run(
        [sys.executable, "-c", parse, fake.dispatches[0]["inputs"]["metadata"]],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == "0\n"


def test_dispatched_model_base_url_carries_the_ids_for_a_tracing_proxy(
    fake: FakeGitHub, prompt_file: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """`model_base_url` input: the five ids in the path of a tracing proxy, as Eval Protocol."""
    fake.add_workflow(workflow_id="rollout.yml", numeric_id=7, repo_full_name="octo/agents")
    run_cli(
        fake=fake,
        prompt_file=prompt_file,
        cwd=tmp_path,
        EVALS_MODEL_BASE_URL="https://tracing.fireworks.ai",
        EVALS_ROLLOUT_ID="ro-1",
        EVALS_INVOCATION_ID="inv-1",
        EVALS_CORRELATION_RUN_ID="run-1",
        EVALS_EXPERIMENT_ID="octo/shop#12",
    )
    (dispatch,) = fake.dispatches
    assert dispatch["inputs"]["model_base_url"] == (
        "https://tracing.fireworks.ai/rollout_id/ro-1/invocation_id/inv-1"
        "/experiment_id/octo%252Fshop%2312/run_id/run-1/row_id/prompt-123"
    )
