"""`evals-action agent --once`: one rollout from a dispatched workflow's four inputs.

The CLI runs as a child process with exactly the environment the example workflow's "Run one
rollout" step gives it (read from `docs/examples/agent-rollout-workflow.yml`, not copied)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from evals_action.agent import scripted

from .conftest import API_KEY, ModelStandIn, script_of

WORKFLOW = Path(__file__).resolve().parents[2] / "docs" / "examples" / "agent-rollout-workflow.yml"
RUN_STEP = "Run one rollout"


def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return data


def step_env(inputs: dict[str, str]) -> dict[str, str]:
    """The run step's `env:`, with `${{ inputs.x }}` filled as GitHub would."""
    (step,) = [s for s in workflow()["jobs"]["rollout"]["steps"] if s.get("name") == RUN_STEP]
    env = {}
    for key, value in step["env"].items():
        for name, given in inputs.items():
            value = value.replace(f"${{{{ inputs.{name} }}}}", given)
        env[key] = value
    return env


def run_once(
    tmp_path: Path, inputs: dict[str, str], *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("EVALS_")}
    return subprocess.run(
        [sys.executable, "-m", "evals_action", "agent", "--once", "--tools", "http", *args],
        cwd=tmp_path,
        env={**base, **step_env(inputs), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def inputs(*, model_url: str, preview: str) -> dict[str, str]:
    metadata = {
        "invocation_id": "gh-1-1",
        "experiment_id": "octo/shop#12",
        "rollout_id": "ro-once",
        "run_id": "run-1",
        "row_id": "create-project",
        "url_map": {"app.example.com": preview},
        "template_args": {"project_name": "demo"},
    }
    return {
        "completion_params": json.dumps({"model": "scripted"}),
        "metadata": json.dumps(metadata, separators=(",", ":")),
        "model_base_url": model_url,
        "api_key": API_KEY,
    }


def write_prompt(tmp_path: Path) -> None:
    folder = tmp_path / "evals" / "prompts"
    folder.mkdir(parents=True)
    prompt = {
        "title": "Sign up and create a project",
        "messages": [
            {"role": "user", "content": 'On http://app.example.com create "{{project_name}}".'}
        ],
    }
    (folder / "create-project.json").write_text(json.dumps(prompt), encoding="utf-8")


def test_the_workflow_step_runs_one_rollout_and_writes_the_result_file(
    tmp_path: Path, preview: str, model_factory: Any
) -> None:
    model: ModelStandIn = model_factory(
        script_of(
            scripted.call("http_request", method="GET", url=f"{preview}/api/projects"),
            scripted.answer("The project list is empty."),
        )
    )
    write_prompt(tmp_path)
    done = run_once(tmp_path, inputs(model_url=model.url, preview=preview))
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "rollout ro-once: Rollout finished; The project list is empty. → rollout-result.json\n"
    )
    result = json.loads((tmp_path / "rollout-result.json").read_text(encoding="utf-8"))
    assert (result["schema"], result["rollout_id"]) == (1, "ro-once")
    assert [s["name"] for s in result["trace"]["steps"]] == ["model", "http_request", "model"]
    first = model.model.seen[0]["messages"][-1]["content"]
    assert first == f'On {preview} create "demo".'  # template var filled, host pointed
    assert API_KEY not in done.stdout + done.stderr + json.dumps(result)


def test_bad_inputs_are_reported_together_in_one_line_with_exit_code_2(tmp_path: Path) -> None:
    bad = {
        "completion_params": "{not json",
        "metadata": json.dumps({"row_id": "x"}),
        "model_base_url": "",
        "api_key": API_KEY,
    }
    done = run_once(tmp_path, bad)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "Error: completion_params: not valid JSON; pass the workflow input unchanged; "
        "metadata: needs a rollout_id string (the contract's correlation ids); "
        "model_base_url: must be the http(s) URL of an OpenAI-compatible API; "
        "--prompt-file: cannot read evals/prompts/x.json (No such file or directory)\n"
    )
    assert not (tmp_path / "rollout-result.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--tools", "http,robot"),
            "--tools: unknown tool group robot; use a comma list of browser, http, shell",
        ),
        (
            ("--tools", "http", "--prices", "prices.json"),
            "--prices: prices.json: 'm' needs input and output, US dollars per million tokens, "
            'e.g. {"input": 0.15, "output": 0.6}',
        ),
        (
            ("--tools", "browser", "--chromium", "/nonexistent/chrome"),
            "--chromium: /nonexistent/chrome is not an executable file; point it at Chromium",
        ),
    ],
)
def test_bad_options_say_which_in_one_line(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    (tmp_path / "prices.json").write_text('{"m": {"input": -1}}', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "evals_action", "agent", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("EVALS_")},
    )
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"Error: {message}\n")


def test_the_example_workflow_declares_the_contract() -> None:
    """Exactly the four required string inputs, run-name rollout:<id>, key masked first, no
    expression inside a script, the result uploaded as `rollout-result`."""
    data = workflow()
    declared = data[True]["workflow_dispatch"]["inputs"]
    assert sorted(declared) == ["api_key", "completion_params", "metadata", "model_base_url"]
    assert all(i["type"] == "string" and i["required"] is True for i in declared.values())
    assert data["run-name"] == "rollout:${{ fromJSON(inputs.metadata).rollout_id }}"
    steps = data["jobs"]["rollout"]["steps"]
    assert steps[0]["run"].startswith('if [ -n "$API_KEY" ]; then echo "::add-mask::$API_KEY"')
    assert all("${{" not in s.get("run", "") for s in steps)
    assert steps[-1]["with"]["name"] == "rollout-result"
    assert set(step_env({})) >= {
        "EVALS_AGENT_COMPLETION_PARAMS",
        "EVALS_AGENT_METADATA",
        "EVALS_AGENT_MODEL_BASE_URL",
        "EVALS_AGENT_API_KEY",
    }
