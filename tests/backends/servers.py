"""Loopback fakes of a user's rollout service and of an Eval Protocol tracing gateway.

Both follow `rollout-contracts.md` to the letter and record a violation for anything else, so a
test that passes proves the client speaks the contract:

- `RolloutService`: `POST /init` (an `InitRequest` with all six keys), `GET /status?rollout_id=`
  (`{"terminated", "info"?, "status"?}`), each answer scripted per rollout.
- `TracingGateway`: `POST /logs` stores structured status logs; `GET /v1/status` derives a
  rollout's status from them (`null` until a status log arrives); `GET /logs` returns them
  filtered by tag. Either path family can be switched off (answering 404) to test fallbacks.
"""

from __future__ import annotations

import collections
from typing import Any

from tests.fakes._http import FakeServer, RecordedRequest, Reply

INIT_KEYS = {"completion_params", "messages", "tools", "model_base_url", "metadata", "api_key"}
METADATA_KEYS = {"invocation_id", "experiment_id", "rollout_id", "run_id", "row_id"}
LOG_KEYS = {"program", "status", "message", "tags", "extras"}
LOGS_QUERY = {"limit": "100", "hours_back": "24", "program": "eval_protocol"}


class RolloutService(FakeServer):
    """A rollout service: records `/init` bodies and answers `/status` from a script."""

    server_header = "fake-rollout-service"

    def __init__(self, *, has_status: bool = True) -> None:
        super().__init__()
        self.has_status = has_status
        self.init_replies: collections.deque[Reply] = collections.deque()
        self.inits: list[dict[str, Any]] = []
        self.scripts: dict[str, collections.deque[dict[str, Any]]] = {}

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
            return Reply(200, {"terminated": False})
        answer = answers.popleft() if len(answers) > 1 else answers[0]
        if "_reply" in answer:
            return Reply(**answer["_reply"])
        return Reply(200, answer)


class TracingGateway(FakeServer):
    """An Eval Protocol tracing gateway backed by the status logs posted to it."""

    server_header = "fake-tracing-gateway"

    def __init__(
        self, *, api_key: str | None = None, v1_status: bool = True, logs_path: str = "/logs"
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.v1_status = v1_status
        self.logs_path = logs_path
        self.entries: list[dict[str, Any]] = []

    def _handle(self, request: RecordedRequest, raw: bytes) -> Reply:
        if self.api_key and request.header("authorization") != f"Bearer {self.api_key}":
            return Reply(401, {"detail": "Invalid API key"})
        path = request.path
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
