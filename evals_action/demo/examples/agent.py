"""An example agent behind Eval Protocol's remote rollout contract (`POST /init`, `GET /status`).

Two modes, chosen per rollout by the `InitRequest`:
- **Fixed plan** (no `model_base_url`): no model is called. The agent signs up on the preview,
  creates the project the prompt names (template var `project_name`) and lists projects, with
  plain HTTP requests in a fixed order. It shows the wiring, not intelligence.
- **Model** (`model_base_url` set): a real tool-calling loop against that OpenAI-compatible
  `/chat/completions` endpoint, with one tool, `http_request`, limited to the preview's origins.

Either way the rollout ends with Eval Protocol status 100 (finished) or 13 (error), and
`GET /status` returns the rollout result (`info.result`) the server grades.
Run it alone with `python -m evals_action.demo.examples.agent --port 8700`.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any

import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MAX_TURNS = 12
HTTP_TIMEOUT = 10.0
MODEL_TIMEOUT = 60.0
URL = re.compile(r"https?://[^\s\"'<>)]+")
TOOL = {
    "type": "function",
    "function": {
        "name": "http_request",
        "description": "Send an HTTP request to the app under test and get status and body.",
        "parameters": {
            "type": "object",
            "properties": {
                "method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
                "url": {"type": "string", "description": "Absolute URL on the app under test"},
                "json": {"type": "object", "description": "JSON body, if any"},
                "headers": {"type": "object", "description": "Extra headers, if any"},
            },
            "required": ["method", "url"],
        },
    },
}


class Rollouts:
    """The agent's memory of rollouts: id → what `GET /status` answers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, dict[str, Any]] = {}

    def set(self, rollout_id: str, state: dict[str, Any]) -> None:
        with self._lock:
            self._states[rollout_id] = state

    def get(self, rollout_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._states.get(rollout_id)


def create_app() -> Starlette:
    rollouts = Rollouts()

    async def init(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        metadata = body.get("metadata") if isinstance(body, dict) else None
        rollout_id = metadata.get("rollout_id") if isinstance(metadata, dict) else None
        if not isinstance(rollout_id, str) or not rollout_id:
            return JSONResponse({"error": "metadata.rollout_id is required"}, status_code=422)
        rollouts.set(
            rollout_id, {"terminated": False, "status": {"code": 101, "message": "running"}}
        )
        assert isinstance(body, dict)
        threading.Thread(
            target=work, args=(body, rollouts), daemon=True, name=f"rollout-{rollout_id}"
        ).start()
        return JSONResponse({"status": "accepted", "rollout_id": rollout_id})

    async def status(request: Request) -> Response:
        rollout_id = request.query_params.get("rollout_id", "")
        state = rollouts.get(rollout_id)
        if state is None:  # 404 would mean "no status endpoint" to the client
            state = {
                "terminated": True,
                "status": {"code": 5, "message": f"unknown rollout {rollout_id}"},
            }
        return JSONResponse(state)

    return Starlette(
        routes=[Route("/init", init, methods=["POST"]), Route("/status", status, methods=["GET"])]
    )


def work(request: Mapping[str, Any], rollouts: Rollouts) -> None:
    """Do the rollout and record how it ended."""
    metadata = request["metadata"]
    rollout_id = metadata["rollout_id"]
    started = time.monotonic()
    session = requests.Session()
    tool = HttpTool(session=session, allowed=allowed_origins(request))
    try:
        if request.get("model_base_url"):
            messages = model_loop(request=request, tool=tool, session=session)
        else:
            messages = fixed_plan(request=request, tool=tool)
    except Exception as exc:  # noqa: BLE001 - any failure ends the rollout with status 13
        rollouts.set(
            rollout_id,
            {"terminated": True, "status": {"code": 13, "message": f"agent error: {exc}"}},
        )
        return
    finally:
        session.close()
    answer = next(
        (
            str(m.get("content") or "")
            for m in reversed(messages)
            if m.get("role") == "assistant" and m.get("content")
        ),
        "",
    )
    result = {
        "schema": 1,
        "rollout_id": rollout_id,
        "summary": answer.splitlines()[0] if answer else "no answer",
        "metrics": {
            "timeSeconds": round(time.monotonic() - started, 2),
            "errors": tool.errors,
            "interruptions": 0,
        },
        "messages": messages,
    }
    rollouts.set(
        rollout_id,
        {
            "terminated": True,
            "status": {"code": 100, "message": "finished"},
            "info": {"result": result},
        },
    )


class HttpTool:
    """`http_request`, only towards the preview's origins; counts 4xx/5xx answers as errors."""

    def __init__(self, *, session: requests.Session, allowed: set[str]) -> None:
        self._session = session
        self._allowed = allowed
        self.errors = 0

    def __call__(
        self,
        *,
        method: str,
        url: str,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        if _origin(url) not in self._allowed:
            self.errors += 1
            return {"error": f"{url} is not on the app under test"}
        response = self._session.request(
            method, url, json=json_body, headers=dict(headers or {}), timeout=HTTP_TIMEOUT
        )
        if response.status_code >= 400:
            self.errors += 1
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text[:2000]
        return {"status": response.status_code, "body": body}


def allowed_origins(request: Mapping[str, Any]) -> set[str]:
    """The previews in `metadata.url_map`, else the URLs the prompt mentions."""
    url_map = request["metadata"].get("url_map") or {}
    origins = {_origin(u) for u in url_map.values() if isinstance(u, str)}
    if not origins:
        origins = {_origin(u) for u in URL.findall(_prompt(request))}
    return origins


def fixed_plan(*, request: Mapping[str, Any], tool: HttpTool) -> list[dict[str, Any]]:
    """Sign up, create the project, list projects. No model: the same steps every time."""
    prompt = _prompt(request)
    base = sorted(allowed_origins(request))[0] if allowed_origins(request) else ""
    name = _project_name(request, prompt)
    email = f"agent-{uuid.uuid4().hex[:8]}@example.com"
    steps: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    signup = tool(
        method="POST",
        url=f"{base}/api/signup",
        json_body={"email": email, "password": uuid.uuid4().hex},
    )
    steps.append(_step("POST /api/signup", signup))
    token = signup.get("body", {}).get("token") if isinstance(signup.get("body"), dict) else None
    created = tool(
        method="POST",
        url=f"{base}/api/projects",
        json_body={"name": name},
        headers={"Authorization": f"Bearer {token}"},
    )
    steps.append(_step("POST /api/projects", created))
    listed = tool(method="GET", url=f"{base}/api/projects")
    steps.append(_step("GET /api/projects", listed))
    names = [p.get("name") for p in listed.get("body") or [] if isinstance(p, dict)]
    if name in names:
        answer = (
            f'Signed up as {email} and created the project "{name}"; GET /api/projects lists it.'
        )
    else:
        answer = f'I could not create the project "{name}" (the list shows {names}).'
    steps.append({"role": "assistant", "content": answer})
    return steps


def model_loop(
    *, request: Mapping[str, Any], tool: HttpTool, session: requests.Session
) -> list[dict[str, Any]]:
    """A real tool-calling loop against the OpenAI-compatible endpoint in the request."""
    base_url = str(request["model_base_url"]).rstrip("/")
    params = dict(request.get("completion_params") or {})
    api_key = request.get("api_key")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    messages: list[dict[str, Any]] = [dict(m) for m in request.get("messages") or []]
    for _ in range(MAX_TURNS):
        response = session.post(
            f"{base_url}/chat/completions",
            json={**params, "messages": messages, "tools": [TOOL]},
            headers=headers,
            timeout=MODEL_TIMEOUT,
        )
        response.raise_for_status()
        message = response.json()["choices"][0]["message"]
        messages.append({k: v for k, v in message.items() if v is not None})
        calls = message.get("tool_calls") or []
        if not calls:
            return messages
        for call in calls:
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call.get("id"),
                    "content": json.dumps(_run_tool(tool, call)),
                }
            )
    messages.append(
        {"role": "assistant", "content": f"Stopped after {MAX_TURNS} turns without finishing."}
    )
    return messages


def _run_tool(tool: HttpTool, call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    if function.get("name") != "http_request":
        return {"error": f"unknown tool {function.get('name')!r}"}
    try:
        args = json.loads(function.get("arguments") or "{}")
        return tool(
            method=str(args.get("method", "GET")).upper(),
            url=str(args["url"]),
            json_body=args.get("json"),
            headers=args.get("headers"),
        )
    except (ValueError, KeyError, TypeError, requests.RequestException) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def _step(what: str, outcome: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "role": "tool",
        "name": "http_request",
        "content": f"{what} → {json.dumps(outcome)[:500]}",
    }


def _prompt(request: Mapping[str, Any]) -> str:
    return "\n\n".join(
        str(m.get("content") or "")
        for m in request.get("messages") or []
        if isinstance(m, Mapping) and m.get("role") == "user"
    )


def _project_name(request: Mapping[str, Any], prompt: str) -> str:
    args = request["metadata"].get("template_args") or {}
    if isinstance(args.get("project_name"), str) and args["project_name"]:
        return str(args["project_name"])
    match = re.search(r'named "([^"]+)"', prompt)
    return match.group(1) if match else "demo"


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def main() -> None:  # pragma: no cover - a manual entry point
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    args = parser.parse_args()
    from evals_action.server import serving

    serving.run(app=create_app(), host=args.host, port=args.port)


if __name__ == "__main__":  # pragma: no cover
    main()
