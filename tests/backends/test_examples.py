"""The documented examples, end to end: the remote rollout service behind our backend and CLI,
and the rollout workflow run by act and read back by the github-workflow backend."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from evals_action import models, settings
from evals_action.backends import remote

from . import servers
from .conftest import MODEL_KEY, TARGET, assert_no_secret, no_github, no_sleep, start_request

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
        "EVALS_API_KEY": "unused",
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
