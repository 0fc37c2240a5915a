"""The agent as a remote rollout service: `/init`, `/status`, capacity, the gateway."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import requests

from evals_action import rollout
from evals_action.agent import rollouts, service
from evals_action.server import serving
from tests.backends.servers import TracingGateway

RESULT = {"schema": 1, "rollout_id": "ro-1", "summary": "done"}


class Gate:
    """An `execute` that finishes a rollout only when the test says so."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls: list[str] = []

    def __call__(self, request: Mapping[str, Any]) -> rollouts.Finished:
        self.calls.append(request["metadata"]["rollout_id"])
        self.release.wait(30)
        return rollouts.Finished(
            status=rollout.Status.rollout_finished(),
            result={**RESULT, "rollout_id": request["metadata"]["rollout_id"]},
        )


def body(rollout_id: str) -> dict[str, Any]:
    return {
        "completion_params": {"model": "m"},
        "messages": [{"role": "user", "content": "hi"}],
        "tools": None,
        "model_base_url": "http://127.0.0.1:9/v1",
        "metadata": {"rollout_id": rollout_id},
        "api_key": None,
    }


@pytest.fixture
def gate() -> Iterator[Gate]:
    gate = Gate()
    yield gate
    gate.release.set()


def _until_terminated(url: str, rollout_id: str) -> dict[str, Any]:
    for _ in range(500):
        state: dict[str, Any] = requests.get(
            f"{url}/status", params={"rollout_id": rollout_id}, timeout=5
        ).json()
        if state["terminated"]:
            return state
        threading.Event().wait(0.01)
    raise AssertionError("the rollout never ended")


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ([1, 2], "the body must be a JSON object (an Eval Protocol InitRequest)"),
        ({"metadata": {}}, "metadata.rollout_id is required"),
        (
            {**body("ro-x"), "model_base_url": None},
            "model_base_url is required: an OpenAI-compatible endpoint the agent can call",
        ),
        ({**body("ro-x"), "messages": []}, "messages must be a non-empty list"),
    ],
)
def test_a_request_it_cannot_run_gets_422_saying_why(gate: Gate, payload: Any, error: str) -> None:
    with serving.Background(app=service.create_app(execute=gate)) as agent:
        response = requests.post(f"{agent.url}/init", json=payload, timeout=5)
    assert (response.status_code, response.json()) == (422, {"error": error})
    assert gate.calls == []


def test_init_then_status_running_then_finished_with_the_result(gate: Gate) -> None:
    with serving.Background(app=service.create_app(execute=gate)) as agent:
        accepted = requests.post(f"{agent.url}/init", json=body("ro-1"), timeout=5)
        again = requests.post(f"{agent.url}/init", json=body("ro-1"), timeout=5)
        running = requests.get(f"{agent.url}/status", params={"rollout_id": "ro-1"}, timeout=5)
        gate.release.set()
        done = _until_terminated(agent.url, "ro-1")
        unknown = requests.get(f"{agent.url}/status", params={"rollout_id": "nope"}, timeout=5)
    assert accepted.json() == {"rollout_id": "ro-1", "status": "accepted"}
    assert again.json() == {"rollout_id": "ro-1", "status": "already accepted"}
    assert gate.calls == ["ro-1"]  # a repeated /init does not run the agent twice
    assert running.json() == {
        "terminated": False,
        "status": {"code": 101, "message": "Rollout running", "details": []},
    }
    assert done == {
        "terminated": True,
        "status": {"code": 100, "message": "Rollout finished", "details": []},
        "info": {"result": RESULT},
    }
    assert unknown.json()["status"]["code"] == 5


def test_past_max_rollouts_init_answers_503_with_retry_after(gate: Gate) -> None:
    with serving.Background(app=service.create_app(execute=gate, max_rollouts=1)) as agent:
        first = requests.post(f"{agent.url}/init", json=body("ro-1"), timeout=5)
        second = requests.post(f"{agent.url}/init", json=body("ro-2"), timeout=5)
        gate.release.set()
        _until_terminated(agent.url, "ro-1")
        third = requests.post(f"{agent.url}/init", json=body("ro-3"), timeout=5)
    assert first.status_code == 200
    assert (second.status_code, second.headers["Retry-After"]) == (503, "5")
    assert second.json() == {"error": "this agent runs 1 rollouts already; retry later"}
    assert third.status_code == 200


def test_the_end_of_each_rollout_is_posted_to_the_tracing_gateway(gate: Gate) -> None:
    gate.release.set()
    with TracingGateway(api_key="fw-key") as gateway:
        handler = rollout.StatusLogHandler(gateway_url=gateway.url, api_key="fw-key")
        app = service.create_app(execute=gate, gateway=handler)
        with serving.Background(app=app) as agent:
            requests.post(f"{agent.url}/init", json=body("ro-1"), timeout=5)
            _until_terminated(agent.url, "ro-1")
            status = requests.get(
                f"{gateway.url}/v1/status",
                params={"rollout_id": "ro-1"},
                headers={"Authorization": "Bearer fw-key"},
                timeout=5,
            ).json()
        (entry,) = gateway.entries
        assert gateway.violations == []
    assert status["status"] == {"code": 100}
    assert entry["tags"] == ["rollout_id:ro-1"]
    assert entry["extras"]["result"] == RESULT
