"""The bundled example agent: fixed plan without a model, a real tool-calling loop with one."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evals_action import demo
from evals_action.server import rollout_clients, serving

from .conftest import Stack, running_server


class ScriptedModel:
    """An OpenAI-compatible `/chat/completions` that drives the agent's tool like a model would:
    sign up, create the project with the token it got back, try a foreign URL, then answer."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.auth: list[str | None] = []

    def app(self) -> Starlette:
        async def complete(request: Request) -> Response:
            body = await request.json()
            self.bodies.append(body)
            self.auth.append(request.headers.get("authorization"))
            return JSONResponse({"choices": [{"message": self.next(body["messages"])}]})

        return Starlette(routes=[Route("/v1/chat/completions", complete, methods=["POST"])])

    def next(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        preview = messages[0]["content"].split("web app at ")[1].split(".\n")[0]
        tools = [m for m in messages if m["role"] == "tool"]
        if not tools:
            return _call(
                "POST", f"{preview}/api/signup", {"email": "m@example.com", "password": "pw"}
            )
        if len(tools) == 1:
            token = json.loads(tools[0]["content"])["body"]["token"]
            return _call(
                "POST",
                f"{preview}/api/projects",
                {"name": "demo"},
                {"Authorization": f"Bearer {token}"},
            )
        if len(tools) == 2:
            return _call("GET", "https://elsewhere.example.com/steal", None)
        return {"role": "assistant", "content": 'Created the project "demo".'}


def _call(method: str, url: str, body: Any, headers: Any = None) -> dict[str, Any]:
    arguments = {"method": method, "url": url, "json": body, "headers": headers}
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"call-{method}-{len(url)}",
                "type": "function",
                "function": {"name": "http_request", "arguments": json.dumps(arguments)},
            }
        ],
    }


@pytest.fixture
def model() -> Iterator[tuple[ScriptedModel, str]]:
    scripted = ScriptedModel()
    with serving.Background(app=scripted.app()) as served:
        yield scripted, f"{served.url}/v1"


def test_with_a_model_the_agent_runs_a_tool_calling_loop(
    tmp_path: Path, example_stack: Stack, model: tuple[ScriptedModel, str]
) -> None:
    scripted, base_url = model
    options = demo.Options(model_base_url=base_url, model="scripted-1", model_api_key="sk-m")
    settings = dataclasses.replace(
        demo.demo_settings(agent_url=example_stack.agent, options=options),
        poll_interval_seconds=0.02,
    )
    with running_server(
        database=tmp_path / "db", settings_=settings, client_factory=rollout_clients.backend_clients
    ) as server:
        run_id = server.start(prompt_id="create-project", preview=example_stack.preview)
        body = server.until(run_id, lambda b: b["status"] == "completed")
    assert len(scripted.bodies) == 4
    first = scripted.bodies[0]
    assert first["model"] == "scripted-1"
    assert [t["function"]["name"] for t in first["tools"]] == ["http_request"]
    assert set(scripted.auth) == {"Bearer sk-m"}
    refused = json.loads(scripted.bodies[3]["messages"][-1]["content"])
    assert refused == {"error": "https://elsewhere.example.com/steal is not on the app under test"}
    report = body["report"]
    assert report["answer"] == 'Created the project "demo".'
    # Both required checks pass; the refused foreign URL counts as an error (optional check).
    assert [d["passed"] for d in report["dimensions"]] == [True, True, False]
    assert (report["outcome"], report["metrics"]["errors"]) == ("succeeded", 1)


def test_without_a_model_the_agent_follows_its_fixed_plan(
    tmp_path: Path, example_stack: Stack
) -> None:
    settings = dataclasses.replace(
        demo.demo_settings(agent_url=example_stack.agent, options=demo.Options()),
        poll_interval_seconds=0.02,
    )
    with running_server(
        database=tmp_path / "db", settings_=settings, client_factory=rollout_clients.backend_clients
    ) as server:
        run_id = server.start(
            prompt_id="create-project",
            preview=example_stack.preview,
            template_args={"project_name": "fixed-plan"},
        )
        body = server.until(run_id, lambda b: b["status"] == "completed")
    assert body["report"]["answer"].endswith(
        'created the project "fixed-plan"; GET /api/projects lists it.'
    )
    assert body["report"]["score"] == 100
