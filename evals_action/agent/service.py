"""The agent as an Eval Protocol remote rollout service (`rollout-contracts.md`, `remote`).

    POST /init     InitRequest → 200 {"rollout_id"}; 422 for a request it cannot run;
                   503 with Retry-After when `max_rollouts` are already running (the client
                   retries 5xx, so a load balancer can spread rollouts over several agents)
    GET  /status   ?rollout_id= → {"terminated", "status", "info": {"result"}}
    GET  /healthz  {"ok": true, "running": n}

Each rollout runs on its own thread. When a tracing gateway is configured
(`FW_TRACING_GATEWAY_BASE_URL`, as in Eval Protocol), the end of each rollout is also posted
there through `evals_action.rollout.StatusLogHandler`, so `rollout-status: gateway` works too.
Finished rollouts are kept for `keep` (the newest 500) so late status polls still find them.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evals_action import rollout
from evals_action.agent import rollouts

KEEP = 500
log = logging.getLogger("evals_action.agent")

Execute = Callable[[Mapping[str, Any]], rollouts.Finished]


class Board:
    """Rollout id → what `GET /status` answers; thread-safe, bounded."""

    def __init__(self, *, keep: int = KEEP) -> None:
        self._lock = threading.Lock()
        self._states: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        self._keep = keep
        self.running = 0

    def start(self, rollout_id: str, *, max_running: int) -> bool:
        with self._lock:
            if self.running >= max_running:
                return False
            self.running += 1
            self._states[rollout_id] = {
                "terminated": False,
                "status": rollout.Status.rollout_running().to_dict(),
            }
            return True

    def finish(self, rollout_id: str, finished: rollouts.Finished) -> None:
        with self._lock:
            self.running -= 1
            self._states[rollout_id] = {
                "terminated": True,
                "status": finished.status.to_dict(),
                "info": {"result": finished.result},
            }
            self._states.move_to_end(rollout_id)
            while len(self._states) > self._keep:
                self._states.popitem(last=False)

    def get(self, rollout_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._states.get(rollout_id)


def create_app(
    *, execute: Execute, max_rollouts: int = 4, gateway: rollout.StatusLogHandler | None = None
) -> Starlette:
    board = Board()
    reporter = logging.getLogger("evals_action.agent.status")
    if gateway is not None and gateway.gateway_url:
        gateway.attach(reporter)

    def work(request: Mapping[str, Any], rollout_id: str) -> None:
        try:
            finished = execute(request)
        except Exception as exc:  # noqa: BLE001 - the rollout must end, whatever broke
            log.exception("rollout %s: unexpected error", rollout_id)
            finished = rollouts.Finished(
                status=rollout.Status.rollout_error(f"agent error: {type(exc).__name__}"),
                result={"schema": 1, "rollout_id": rollout_id, "summary": "agent error"},
            )
        reporter.info(  # the gateway first, so both ways of reading the status agree
            finished.status.message,
            extra={"rollout_id": rollout_id, "status": finished.status, "result": finished.result},
        )
        board.finish(rollout_id, finished)

    async def init(request: Request) -> Response:
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        problem = rollouts.problem(body)
        if problem:
            return JSONResponse({"error": problem}, status_code=422)
        rollout_id = rollouts.rollout_id(body)
        assert rollout_id is not None
        if board.get(rollout_id) is not None:
            return JSONResponse({"rollout_id": rollout_id, "status": "already accepted"})
        if not board.start(rollout_id, max_running=max_rollouts):
            return JSONResponse(
                {"error": f"this agent runs {max_rollouts} rollouts already; retry later"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        threading.Thread(
            target=work, args=(body, rollout_id), daemon=True, name=f"rollout-{rollout_id}"
        ).start()
        return JSONResponse({"rollout_id": rollout_id, "status": "accepted"})

    async def status(request: Request) -> Response:
        rollout_id = request.query_params.get("rollout_id", "")
        state = board.get(rollout_id)
        if state is None:  # 404 would mean "no status endpoint" to the client
            state = {
                "terminated": True,
                "status": {"code": 5, "message": f"unknown rollout {rollout_id}", "details": []},
            }
        return JSONResponse(state)

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "running": board.running})

    return Starlette(
        routes=[
            Route("/init", init, methods=["POST"]),
            Route("/status", status, methods=["GET"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )
