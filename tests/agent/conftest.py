"""Loopback pieces for the agent's tests: the demo preview site, a scripted model, a counter of
requests that must never arrive, and rollouts run through `rollouts.execute` for real."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from evals_action.agent import rollouts, scripted
from evals_action.demo.examples import preview_site
from evals_action.server import serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Chromium on PATH (Debian: apt-get install chromium)"
)
API_KEY = "sk-model-key-0123456789"


class Hits:
    """A loopback site outside the rollout's origins that counts what reaches it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def app(self) -> Starlette:
        async def any_path(request: Request) -> Response:
            self.paths.append(request.url.path)
            return PlainTextResponse("outside")

        return Starlette(routes=[Route("/{path:path}", any_path, methods=["GET", "POST"])])


@pytest.fixture
def preview() -> Iterator[str]:
    with serving.Background(app=preview_site.create_app()) as site:
        yield site.url


@pytest.fixture
def outside() -> Iterator[tuple[str, Hits]]:
    hits = Hits()
    with serving.Background(app=hits.app()) as site:
        yield site.url, hits


@dataclasses.dataclass
class ModelStandIn:
    url: str
    model: scripted.Model


@pytest.fixture
def model_factory() -> Iterator[Callable[[scripted.Script], ModelStandIn]]:
    """Start a scripted stand-in model on loopback (stopped after the test)."""
    started: list[serving.Background] = []

    def start(script: scripted.Script) -> ModelStandIn:
        model = scripted.Model(script=script)
        server = serving.Background(app=model.app())
        started.append(server)
        return ModelStandIn(url=f"{server.__enter__().url}/v1", model=model)

    yield start
    for server in started:
        server.__exit__(None, None, None)


def init_request(
    *, model_url: str, preview: str, prompt: str = "", rollout_id: str = "ro-test", **extra: Any
) -> dict[str, Any]:
    """An Eval Protocol InitRequest as the evals server sends it."""
    return {
        "completion_params": {"model": "scripted"},
        "messages": [
            {
                "role": "user",
                "content": prompt
                or f"You are testing the web app at {preview}. Sign up, then create a project "
                'named "demo".',
            }
        ],
        "tools": None,
        "model_base_url": model_url,
        "metadata": {
            "invocation_id": "inv",
            "experiment_id": "exp",
            "rollout_id": rollout_id,
            "run_id": "run",
            "row_id": "create-project",
            "url_map": {"app.example.com": preview},
            "template_args": {"project_name": "demo"},
        },
        "api_key": API_KEY,
        **extra,
    }


def script_of(*turns: scripted.Turn) -> scripted.Script:
    """Replay `turns` in order, one per model call; the last one repeats."""

    def script(body: Mapping[str, Any]) -> scripted.Turn:
        calls = script.calls  # type: ignore[attr-defined]
        script.calls += 1  # type: ignore[attr-defined]
        return turns[min(calls, len(turns) - 1)]

    script.calls = 0  # type: ignore[attr-defined]
    return script


def steps_named(result: Mapping[str, Any]) -> list[str]:
    return [s["name"] for s in result["trace"]["steps"]]


def settings(**overrides: Any) -> rollouts.Settings:
    """Agent settings with no real sleeping (waits are recorded by the tests that care)."""
    values: dict[str, Any] = {"chromium": CHROMIUM, "sleep": lambda seconds: None}
    values.update(overrides)
    return rollouts.Settings(**values)
