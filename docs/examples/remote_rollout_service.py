"""A minimal Eval Protocol remote rollout service for `evals-action` (`backend: remote`).

    python remote_rollout_service.py --port 8080      # needs only Python 3.10+ and requests

`POST /init` accepts an `InitRequest` and runs the agent in a background thread; `GET /status`
answers `{"terminated", "status", "info": {"result"}}` so the action can read the score. Replace
`run_agent` with your own agent. When `FW_TRACING_GATEWAY_BASE_URL` is set (and
`evals_action.rollout` is importable), every status is also posted to that tracing gateway.

The model key arrives as `api_key` in the request body: it is used for the model call and never
logged, echoed or stored beyond the rollout.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

log = logging.getLogger("rollout_service")

FINISHED, RUNNING, INTERNAL, NOT_FOUND = 100, 101, 13, 5


class Rollouts:
    """What the service knows about each rollout, by rollout_id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, dict[str, Any]] = {}

    def start(self, rollout_id: str) -> None:
        with self._lock:
            self._state[rollout_id] = {"terminated": False, "status": _status(RUNNING, "running")}

    def finish(self, rollout_id: str, *, code: int, message: str, result: Any = None) -> None:
        with self._lock:
            self._state[rollout_id] = {
                "terminated": True,
                "status": _status(code, message),
                "info": {"result": result} if result is not None else {},
            }

    def get(self, rollout_id: str) -> dict[str, Any]:
        with self._lock:
            found = self._state.get(rollout_id)
        if found is None:
            return {"terminated": True, "status": _status(NOT_FOUND, "unknown rollout_id")}
        return found


def run_agent(request: dict[str, Any]) -> dict[str, Any]:
    """The agent: ask the model once and grade the answer. Returns the rollout result."""
    started = time.monotonic()
    params = dict(request.get("completion_params") or {})
    base = (request.get("model_base_url") or "").rstrip("/")
    headers = {"Authorization": f"Bearer {request['api_key']}"} if request.get("api_key") else {}
    response = requests.post(
        f"{base}/chat/completions",
        json={**params, "messages": request.get("messages") or []},
        headers=headers,
        timeout=120,
    )
    response.raise_for_status()
    answer = response.json()["choices"][0]["message"]["content"] or ""
    succeeded = bool(answer.strip())
    return {
        "schema": 1,
        "rollout_id": request["metadata"]["rollout_id"],
        "outcome": "succeeded" if succeeded else "goal_not_met",
        "score": 100 if succeeded else 0,
        "summary": answer.strip().splitlines()[0][:200] if succeeded else "the model said nothing",
        "metrics": {"timeSeconds": round(time.monotonic() - started, 3), "errors": 0},
    }


def serve(*, host: str, port: int, rollouts: Rollouts | None = None) -> ThreadingHTTPServer:
    """The HTTP server (not yet serving); `serve_forever()` it, or run it in a thread."""
    state = rollouts or Rollouts()
    status_logger = _status_logger()

    def rollout(request: dict[str, Any]) -> None:
        rollout_id = request["metadata"]["rollout_id"]
        extra = {"rollout_id": rollout_id}
        status_logger.info("rollout started", extra={**extra, "status": _status(RUNNING, "")})
        try:
            result = run_agent(request)
        except Exception as exc:  # noqa: BLE001 - any agent failure ends the rollout with code 13
            message = f"agent failed: {type(exc).__name__}"
            state.finish(rollout_id, code=INTERNAL, message=message)
            status_logger.error(message, extra={**extra, "status": _status(INTERNAL, message)})
            return
        state.finish(rollout_id, code=FINISHED, message="Rollout finished", result=result)
        status_logger.info(
            "rollout finished",
            extra={**extra, "status": _status(FINISHED, "Rollout finished"), "result": result},
        )

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            if urlsplit(self.path).path != "/init":
                return self._send(404, {"detail": "Not Found"})
            try:
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length))
                rollout_id = str(request["metadata"]["rollout_id"])
            except (ValueError, KeyError, TypeError):
                return self._send(
                    422, {"detail": "expected an InitRequest with metadata.rollout_id"}
                )
            state.start(rollout_id)
            threading.Thread(target=rollout, args=(request,), daemon=True).start()
            return self._send(200, {"status": "accepted", "rollout_id": rollout_id})

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            url = urlsplit(self.path)
            if url.path != "/status":
                return self._send(404, {"detail": "Not Found"})
            rollout_id = (parse_qs(url.query).get("rollout_id") or [""])[0]
            return self._send(200, state.get(rollout_id))

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            log.info("%s %s", self.command, urlsplit(self.path).path)  # never the body

    return ThreadingHTTPServer((host, port), Handler)


def _status(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "details": []}


def _status_logger() -> logging.Logger:
    """A logger that also posts to the tracing gateway when one is configured."""
    status_log = logging.getLogger("rollout_service.status")
    try:
        from evals_action import rollout
    except ImportError:
        return status_log
    handler = rollout.StatusLogHandler()
    attached = any(isinstance(h, rollout.StatusLogHandler) for h in status_log.handlers)
    if handler.gateway_url and not attached:
        handler.attach(status_log)
    return status_log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server = serve(host=args.host, port=args.port)
    log.info("rollout service on http://%s:%s", *server.server_address[:2])
    server.serve_forever()


if __name__ == "__main__":
    main()
