"""docs/examples/agent-rollout-workflow.yml, unchanged, through act: one `evals-action agent --once`
rollout per dispatch, against a loopback scripted model and the demo preview site.

What is mapped, without touching the documented workflow:

- `actions/checkout` and `actions/upload-artifact` are the local stand-ins (`--local-repository`).
- "Install the agent" runs as written (`python3 -m venv`, `pip install 'evals-action[agent] @
  git+https://github.com/evals-action/evals-action@v1'`). GitHub cannot be reached here, so
  git's own `url.<base>.insteadOf` (given through `GIT_CONFIG_COUNT`, `GIT_CONFIG_KEY_0` and
  `GIT_CONFIG_VALUE_0` in the job's environment) points that URL at a local git snapshot of this
  work tree tagged `v1`;
  pip clones it, builds it and installs the dependencies from the package index as usual.
- `EVALS_AGENT_TOOLS=http` in the job's environment: the HTTP tool only (the step does not set it),
  so no browser is started; the model follows `scripted.demo_http_script`.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
from collections.abc import Iterator

import pytest
import requests

from evals_action.agent import scripted
from evals_action.demo.examples import preview_site
from evals_action.server import serving

from .test_examples import act_binary

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "docs" / "examples" / "agent-rollout-workflow.yml"
STANDINS = {
    "actions/checkout": ROOT / "tests" / "e2e" / "standins" / "checkout",
    "actions/upload-artifact": ROOT / "tests" / "backends" / "standins" / "upload-artifact",
}
USES = re.compile(r"uses:\s*([\w.-]+/[\w.-]+)@([0-9a-f]{40})")
INSTALL_URL = re.compile(r"git\+(https://github\.com/[\w.-]+/[\w.-]+)@(v\d+)")
API_KEY = "sk-agent-act-0123456789abcdef"
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]


def git(*args: str, cwd: pathlib.Path) -> str:
    done = subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout


@pytest.fixture
def preview() -> Iterator[str]:
    with serving.Background(app=preview_site.create_app()) as site:
        yield site.url


@pytest.fixture
def model() -> Iterator[tuple[str, scripted.Model]]:
    stand_in = scripted.Model(script=scripted.demo_http_script)
    with serving.Background(app=stand_in.app()) as served:
        yield f"{served.url}/v1", stand_in


def agent_snapshot(root: pathlib.Path, tag: str) -> pathlib.Path:
    """A git repository holding this work tree's files (tracked and new, not ignored), tagged
    `tag`: what the workflow's `git+https://…@v1` resolves to here."""
    snapshot = root / "evals-action"
    snapshot.mkdir()
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = snapshot / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git("init", "-q", "-b", "main", cwd=snapshot)
    git("add", "-A", cwd=snapshot)
    git("commit", "-q", "-m", "snapshot", cwd=snapshot)
    git("tag", tag, cwd=snapshot)
    return snapshot


def prompt_repo(root: pathlib.Path) -> pathlib.Path:
    """The repository the workflow lives in: the workflow, unchanged, and one prompt file."""
    repo = root / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(WORKFLOW, repo / ".github" / "workflows" / "agent-rollout.yml")
    prompts = repo / "evals" / "prompts"
    prompts.mkdir(parents=True)
    prompt = {
        "title": "Sign up and create a project",
        "messages": [
            {
                "role": "user",
                "content": "You are testing the web app at http://app.example.com. Sign up, then "
                'create a project named "{{project_name}}".',
            }
        ],
    }
    (prompts / "create-project.json").write_text(json.dumps(prompt), encoding="utf-8")
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "prompts", cwd=repo)
    return repo


@pytest.mark.e2e
def test_agent_rollout_workflow_example_through_act(
    tmp_path: pathlib.Path, preview: str, model: tuple[str, scripted.Model]
) -> None:
    """Dispatch inputs → act runs the example → the agent signs up and creates the project on the
    preview through HTTP → `rollout-result` is uploaded; the key is masked and nowhere."""
    model_url, stand_in = model
    text = WORKFLOW.read_text(encoding="utf-8")
    ((url, tag),) = INSTALL_URL.findall(text)
    snapshot = agent_snapshot(tmp_path, tag)
    repo = prompt_repo(tmp_path)
    metadata = {
        "invocation_id": "gh-1-1",
        "experiment_id": "octo/shop#12",
        "rollout_id": "ro-act-1",
        "run_id": "run-1",
        "row_id": "create-project",
        "url_map": {"app.example.com": preview},
        "template_args": {"project_name": "demo"},
    }
    inputs = {
        "completion_params": json.dumps({"model": "scripted"}),
        "metadata": json.dumps(metadata, separators=(",", ":")),
        "model_base_url": model_url,
        "api_key": API_KEY,
    }
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"inputs": inputs, "ref": "refs/heads/main"}), encoding="utf-8")
    artifacts = tmp_path / "artifacts"
    uses = dict(USES.findall(text))
    assert sorted(uses) == sorted(STANDINS)
    command = [
        act_binary(),
        "workflow_dispatch",
        "--eventpath",
        str(event),
        "--workflows",
        str(repo / ".github" / "workflows" / "agent-rollout.yml"),
        "-P",
        "ubuntu-latest=-self-hosted",
        "--action-cache-path",
        str(tmp_path / "act-cache"),
        "--no-cache-server",
    ]
    for name, ref in uses.items():
        command += ["--local-repository", f"{name}@{ref}={STANDINS[name]}"]
    env = {
        "ROLLOUT_ARTIFACT_DIR": str(artifacts),
        "E2E_CHECKOUT_SOURCE": str(repo),
        "EVALS_AGENT_TOOLS": "http",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{snapshot.as_uri()}.insteadOf",
        "GIT_CONFIG_VALUE_0": url,
    }
    for key, value in env.items():
        command += ["--env", f"{key}={value}"]
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        command,
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(home), "LANG": "C.UTF-8"},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Job succeeded" in output, output

    # The key: masked by the first step, absent from act's output and from the result.
    assert API_KEY not in output
    assert "***" in output
    written = (artifacts / "rollout-result" / "rollout-result.json").read_text(encoding="utf-8")
    assert API_KEY not in written

    # The rollout ran to its end and says so.
    assert "rollout ro-act-1: Rollout finished; " in output
    result = json.loads(written)
    assert (result["schema"], result["rollout_id"]) == (1, "ro-act-1")
    assert [s["name"] for s in result["trace"]["steps"]] == [
        "model",
        "http_request",
        "model",
        "http_request",
        "model",
        "http_request",
        "model",
    ]

    # The model was called for every turn, the prompt filled and pointed at the preview.
    assert all(body["model"] == "scripted" for body in stand_in.seen)
    first = stand_in.seen[0]["messages"][-1]["content"]
    assert first == (
        f'You are testing the web app at {preview}. Sign up, then create a project named "demo".'
    )

    # The task was done: the preview site itself now lists the project.
    projects = requests.get(f"{preview}/api/projects", timeout=10).json()
    assert [p["name"] for p in projects] == ["demo"]
