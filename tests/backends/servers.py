"""Loopback fakes of a user's rollout service and of an Eval Protocol tracing gateway.

Both follow `rollout-contracts.md` to the letter and record a violation for anything else, so a
test that passes proves the client speaks the contract:

- `RolloutService`: `POST /init` (an `InitRequest` with all six keys), `GET /status?rollout_id=`
  (`{"terminated", "info"?, "status"?}`), each answer scripted per rollout.
- `TracingGateway`: `POST /logs` stores structured status logs; `GET /v1/status` derives a
  rollout's status from them (`null` until a status log arrives); `GET /logs` returns them
  filtered by tag. Either path family can be switched off (answering 404) to test fallbacks.
  It is also the tracing proxy: `POST [/v1]/rollout_id/…/row_id/…[/encoded_base_url/…]
  /chat/completions` answers `model_reply` and records a trace tagged with the path's ids (routed
  on the decoded path, as Eval Protocol's FastAPI proxy is), and `GET /v1/traces/pointwise`
  returns a rollout's traces.
"""

from __future__ import annotations

import collections
import logging
import threading
import urllib.parse
from typing import Any

import requests

from evals_action import rollout
from tests.fakes._http import FakeServer, RecordedRequest, Reply

INIT_KEYS = {"completion_params", "messages", "tools", "model_base_url", "metadata", "api_key"}
METADATA_KEYS = {"invocation_id", "experiment_id", "rollout_id", "run_id", "row_id"}
LOG_KEYS = {"program", "status", "message", "tags", "extras"}
LOGS_QUERY = {"limit": "100", "hours_back": "24", "program": "eval_protocol"}
TRACES_QUERY = {"limit": "100", "sleep_between_gets": "0.1", "max_retries": "5"}
PROXY_IDS = ("rollout_id", "invocation_id", "experiment_id", "run_id", "row_id")


class RolloutService(FakeServer):
    """A rollout service: records `/init` bodies and answers `/status` from a script."""

    server_header = "fake-rollout-service"

    def __init__(self, *, has_status: bool = True) -> None:
        super().__init__()
        self.has_status = has_status
        self.init_replies: collections.deque[Reply] = collections.deque()
        self.inits: list[dict[str, Any]] = []
        self.scripts: dict[str, collections.deque[dict[str, Any]]] = {}
        # what a rollout without a script answers (suites: ids are fresh per run)
        self.default_answer: dict[str, Any] = {"terminated": False}

    def script(self, rollout_id: str, *answers: dict[str, Any]) -> None:
        """`GET /status` answers for one rollout, in order; the last one repeats."""
        with self._lock:
            self.scripts[rollout_id] = collections.deque(answers)

    def _handle(self, request: RecordedRequest, raw: bytes) -> Reply:
        if request.method == "POST" and request.path == "/init":
            return self._init(request)
        if request.method == "GET" and request.path == "/status" and self.has_status:
            return self._status(request)
        return Reply(404, {"detail": "Not Found"})

    def _init(self, request: RecordedRequest) -> Reply:
        body = request.json
        if request.header("content-type") != "application/json":
            self._violate("/init without Content-Type: application/json")
        if not isinstance(body, dict) or set(body) != INIT_KEYS:
            self._violate(f"/init body keys {sorted(body) if isinstance(body, dict) else body}")
            return Reply(422, {"detail": "invalid InitRequest"})
        meta = body["metadata"]
        if not isinstance(meta, dict) or not set(meta) >= METADATA_KEYS:
            self._violate(f"/init metadata {meta!r}")
            return Reply(422, {"detail": "invalid metadata"})
        if self.init_replies:
            return self.init_replies.popleft()
        self.inits.append(body)
        return Reply(200, {"status": "accepted"})

    def _status(self, request: RecordedRequest) -> Reply:
        rollout_id = request.query.get("rollout_id", "")
        answers = self.scripts.get(rollout_id)
        if not answers:
            return Reply(200, self.default_answer)
        answer = answers.popleft() if len(answers) > 1 else answers[0]
        if "_reply" in answer:
            return Reply(**answer["_reply"])
        return Reply(200, answer)


class TracingGateway(FakeServer):
    """An Eval Protocol tracing gateway backed by the status logs posted to it."""

    server_header = "fake-tracing-gateway"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        v1_status: bool = True,
        logs_path: str = "/logs",
        model_reply: str = "Bought the socks.",
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.v1_status = v1_status
        self.logs_path = logs_path
        self.model_reply = model_reply
        self.entries: list[dict[str, Any]] = []
        self.traces: list[dict[str, Any]] = []

    def _handle(self, request: RecordedRequest, raw: bytes) -> Reply:
        if self.api_key and request.header("authorization") != f"Bearer {self.api_key}":
            return Reply(401, {"detail": "Invalid API key"})
        path = request.path
        if request.method == "POST" and path.endswith("/chat/completions"):
            return self._chat(request)
        if request.method == "GET" and path == "/v1/traces/pointwise":
            return self._get_traces(request)
        if request.method == "POST" and path == self.logs_path:
            return self._post_log(request)
        if request.method == "GET" and path == self.logs_path:
            return self._get_logs(request)
        status_path = "/v1/status" if self.v1_status else "/status"
        if request.method == "GET" and path == status_path:
            return self._get_status(request)
        return Reply(404, {"detail": "Not Found"})

    def _post_log(self, request: RecordedRequest) -> Reply:
        body = request.json
        if not isinstance(body, dict) or set(body) != LOG_KEYS:
            self._violate(f"log body keys {sorted(body) if isinstance(body, dict) else body}")
            return Reply(422, {"detail": "invalid log"})
        if body["program"] != "eval_protocol" or not any(
            isinstance(t, str) and t.startswith("rollout_id:") for t in body["tags"]
        ):
            self._violate(f"log without program/rollout tag: {body}")
        for key in ("logger_name", "level", "timestamp"):
            if key not in body["extras"]:
                self._violate(f"log extras without {key}: {body['extras']}")
        self.entries.append({**body, "severity": body["extras"].get("level", "INFO")})
        return Reply(200, {"ok": True})

    def _matching(self, rollout_id: str) -> list[dict[str, Any]]:
        tag = f"rollout_id:{rollout_id}"
        return [e for e in reversed(self.entries) if tag in e["tags"]]

    def _get_logs(self, request: RecordedRequest) -> Reply:
        query = dict(request.query)
        tags = query.pop("tags", "")
        if query != LOGS_QUERY or not tags.startswith("rollout_id:"):
            self._violate(f"logs query {request.query}")
        entries = self._matching(tags.removeprefix("rollout_id:"))
        return Reply(
            200,
            {
                "entries": [
                    {
                        "timestamp": e["extras"].get("timestamp"),
                        "message": e["message"],
                        "severity": e["severity"],
                        "tags": e["tags"],
                        "status": e["status"],
                        "extras": e["extras"],
                    }
                    for e in entries
                ]
            },
        )

    def _get_status(self, request: RecordedRequest) -> Reply:
        rollout_id = request.query.get("rollout_id", "")
        with_status = [e for e in self._matching(rollout_id) if e["status"] is not None]
        status = with_status[0]["status"] if with_status else None
        return Reply(
            200,
            {
                "rollout_id": rollout_id,
                "status": {"code": status["code"]} if status else None,
                "extras": None,
            },
        )

    def _chat(self, request: RecordedRequest) -> Reply:
        """Route on the decoded path, one value per segment, as FastAPI does; record a trace."""
        parts = urllib.parse.unquote(request.path).strip("/").split("/")
        parts = parts[1:] if parts[:1] == ["v1"] else parts
        names, values = parts[0:10:2], parts[1:10:2]
        rest = parts[10:]
        if rest[:1] == ["encoded_base_url"] and len(rest) == 4:
            rest = rest[2:]
        if tuple(names) != PROXY_IDS or len(values) != 5 or rest != ["chat", "completions"]:
            return Reply(404, {"detail": "Not Found"})
        body = request.json
        if not isinstance(body, dict) or not body.get("model") or not body.get("messages"):
            self._violate(f"chat completion body {body!r}")
            return Reply(400, {"error": {"message": "model and messages are required"}})
        answer = {"role": "assistant", "content": self.model_reply}
        self.traces.append(
            {
                "id": f"trace-{len(self.traces) + 1}",
                "tags": [f"{n}:{v}" for n, v in zip(names, values, strict=True)],
                "input": {"messages": body["messages"]},
                "output": answer,
            }
        )
        return Reply(
            200,
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [{"index": 0, "message": answer, "finish_reason": "stop"}],
            },
        )

    def _get_traces(self, request: RecordedRequest) -> Reply:
        query = dict(request.query)
        tag = query.pop("tags", "")
        if query != TRACES_QUERY or not tag.startswith("rollout_id:"):
            self._violate(f"traces query {request.query}")
        return Reply(200, {"traces": [t for t in self.traces if tag in t["tags"]]})

    def post(self, *, rollout_id: str, code: int | None, message: str, **extras: Any) -> None:
        """Store a log as an agent's handler would (for tests that need no agent)."""
        with self._lock:
            self.entries.append(
                {
                    "program": "eval_protocol",
                    "status": None
                    if code is None
                    else {"code": code, "message": message, "details": []},
                    "message": message,
                    "tags": [f"rollout_id:{rollout_id}"],
                    "extras": {"logger_name": "t", "level": "INFO", "timestamp": "t", **extras},
                    "severity": "INFO",
                }
            )


class ModelServer(FakeServer):
    """An OpenAI-compatible `POST /v1/chat/completions` that answers `reply` (and records keys)."""

    server_header = "fake-model"

    def __init__(self, *, reply: str = "Bought the socks.", api_key: str | None = None) -> None:
        super().__init__()
        self.reply = reply
        self.api_key = api_key

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def _handle(self, request: RecordedRequest, raw: bytes) -> Reply:
        if request.method != "POST" or request.path != "/v1/chat/completions":
            return Reply(404, {"error": {"message": "not found"}})
        if self.api_key and request.header("authorization") != f"Bearer {self.api_key}":
            return Reply(401, {"error": {"message": "invalid api key"}})
        body = request.json
        if not isinstance(body, dict) or not body.get("model") or not body.get("messages"):
            self._violate(f"chat completion body {body!r}")
            return Reply(400, {"error": {"message": "model and messages are required"}})
        return Reply(
            200,
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": self.reply},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            },
        )


class EvalProtocolAgent(FakeServer):
    """An unchanged Eval Protocol remote agent, as its hello-world server behaves.

    `POST /init` starts the rollout in the background: one chat completion at the request's
    `model_base_url` with its `api_key`, then an INFO "finished" status log to the gateway it was
    configured with (`FW_TRACING_GATEWAY_BASE_URL`). No `/status` (404), and no result: its answer
    lives only in the trace its model call left on the tracing proxy.
    """

    server_header = "fake-eval-protocol-agent"

    def __init__(self, *, gateway_url: str, gateway_key: str) -> None:
        super().__init__()
        self.gateway_url = gateway_url
        self.gateway_key = gateway_key
        self.failures: list[str] = []

    def _handle(self, request: RecordedRequest, raw: bytes) -> Reply:
        if request.method != "POST" or request.path != "/init":
            return Reply(404, {"detail": "Not Found"})
        body = request.json
        if not isinstance(body, dict) or set(body) != INIT_KEYS:
            self._violate(f"/init body {body!r}")
            return Reply(422, {"detail": "invalid InitRequest"})
        threading.Thread(target=self._rollout, args=(body,), daemon=True).start()
        return Reply(200, {"status": "accepted"})

    def _rollout(self, body: dict[str, Any]) -> None:
        rollout_id = body["metadata"]["rollout_id"]
        log = logging.getLogger(f"tests.ep_agent.{rollout_id}")
        log.propagate = False
        rollout.StatusLogHandler(self.gateway_url, self.gateway_key).attach(log)
        log.addFilter(rollout.RolloutIdFilter(rollout_id))
        try:
            response = requests.post(
                body["model_base_url"].rstrip("/") + "/chat/completions",
                json={**body["completion_params"], "messages": body["messages"]},
                headers={"Authorization": f"Bearer {body['api_key']}"},
                timeout=10,
            )
            response.raise_for_status()
        except requests.RequestException as exc:
            self.failures.append(str(exc))
            log.error("failed", extra={"status": rollout.Status.rollout_error(str(exc))})
            return
        log.info("Rollout finished", extra={"status": rollout.Status.rollout_finished()})
