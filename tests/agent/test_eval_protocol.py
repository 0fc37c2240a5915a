"""Eval Protocol's own `RemoteRolloutProcessor` (PyPI `eval-protocol`, test-only) drives the agent
to completion: the agent is a citizen of that ecosystem, not only of ours.

The SDK is heavy (litellm and friends, ~490 MB), so it lives in its own virtualenv, made once from
`requirements-eval-protocol.txt` under `~/.cache/evals-action/` (or `EVALS_EP_VENV`); when it
cannot be installed (no package index), the test skips and says why. Its processor posts `/init`
to the agent service, reads the status from the tracing gateway (the loopback fake of
`tests/backends/servers.py`, which also proxies the model) and rebuilds the conversation from the
gateway's traces; the agent reports its end there through `evals_action.rollout`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from evals_action import rollout
from evals_action.agent import rollouts, service
from evals_action.server import serving
from tests.backends.servers import TracingGateway

from .conftest import settings

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-eval-protocol.txt"
GATEWAY_KEY = "fw-gateway-key-for-tests"


@pytest.fixture(scope="session")
def ep_python() -> Path:
    venv = Path(
        os.environ.get("EVALS_EP_VENV")
        or Path.home() / ".cache" / "evals-action" / "eval-protocol-0.3.33"
    )
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if stamp.exists() and stamp.read_text() == REQUIREMENTS.read_text():
        return python
    made = subprocess.run(
        [sys.executable, "-m", "venv", str(venv)], capture_output=True, check=False
    )
    installed = made.returncode == 0 and (
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
            capture_output=True,
            timeout=900,
            check=False,
        ).returncode
        == 0
    )
    if not installed:
        pytest.skip(f"could not install {REQUIREMENTS.name} into {venv} (no package index?)")
    stamp.write_text(REQUIREMENTS.read_text())
    return python


@pytest.fixture
def gateway() -> Iterator[TracingGateway]:
    with TracingGateway(api_key=GATEWAY_KEY, model_reply="The preview works.") as fake:
        yield fake


def test_eval_protocols_remote_rollout_processor_drives_the_agent_to_completion(
    ep_python: Path, gateway: TracingGateway, preview: str
) -> None:
    handler = rollout.StatusLogHandler(gateway_url=gateway.url, api_key=GATEWAY_KEY)
    app = service.create_app(
        execute=lambda request: rollouts.execute(
            request=request, settings=settings(groups=("http",))
        ),
        gateway=handler,
    )
    # Eval Protocol encodes the rollout's ids into the model URL only for its own gateway's host
    # or `http://localhost…`, so the fake gateway is named that way.
    tracing = gateway.url.replace("127.0.0.1", "localhost")
    with serving.Background(app=app) as agent:
        done = subprocess.run(
            [str(ep_python), str(HERE / "ep_driver.py"), agent.url, tracing, f"Test {preview}"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env={**os.environ, "FIREWORKS_API_KEY": GATEWAY_KEY},
        )
    assert done.returncode == 0, done.stdout + done.stderr
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert gateway.violations == []
    assert (row["code"], row["message"]) == (100, "Rollout finished")
    assert row["messages"][-1] == {"role": "assistant", "content": "The preview works."}
    assert row["extra"]["result"]["summary"] == "The preview works."
    (trace,) = gateway.traces  # the agent's one model call went through the gateway's proxy
    assert "rollout_id:ro-ep-1" in trace["tags"]
