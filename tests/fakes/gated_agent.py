"""A remote rollout service (`POST /init`, `GET /status`) whose rollouts run until the test
opens the gate, then succeed with score 77. Serve it with `serving.Background(app=agent.app())`."""

from __future__ import annotations

import threading

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class GatedAgent:
    """A remote rollout service whose rollouts run until the test opens the gate."""

    def __init__(self) -> None:
        self.inits: list[str] = []
        self.gate = threading.Event()

    def app(self) -> Starlette:
        async def init(request: Request) -> Response:
            self.inits.append((await request.json())["metadata"]["rollout_id"])
            return JSONResponse({})

        async def status(request: Request) -> Response:
            if not self.gate.is_set():
                return JSONResponse({"terminated": False})
            return JSONResponse(
                {
                    "terminated": True,
                    "status": {"code": 100},
                    "info": {"result": {"outcome": "succeeded", "score": 77}},
                }
            )

        return Starlette(routes=[Route("/init", init, methods=["POST"]), Route("/status", status)])
