"""A stand-in model: a loopback OpenAI-compatible `/chat/completions` that replays a script.

`evals-action demo` drives the agent with `demo_script` (sign up and create a project in the
preview site's browser UI, check the API, answer), or with `demo_http_script` where there is no
Chromium (the same through the site's HTTP API), so the demo needs no model account; tests give
their own scripts. A script is called with each request's JSON body and returns a `Turn`:
an assistant message (tool calls or an answer), or an HTTP error with headers (a 429 with
`Retry-After`, say). Every request body is kept in `Model.seen`, in order.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEMO_EMAIL = "agent@example.com"
DEMO_PASSWORD = "correct-horse-battery"  # noqa: S105 - a made-up account on a throwaway site
URL = re.compile(r"https?://[^\s\"'<>)]+")
NAMED = re.compile(r'named "([^"]+)"')
TOKEN = re.compile(r'"token"\s*:\s*"([^"]+)"')


@dataclasses.dataclass(frozen=True)
class Turn:
    message: Mapping[str, Any] | None = None  # the assistant message
    status: int = 200
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    body: Any = None  # for errors: the raw body (str) or JSON
    usage: Mapping[str, int] = dataclasses.field(
        default_factory=lambda: {"prompt_tokens": 100, "completion_tokens": 20}
    )


Script = Callable[[Mapping[str, Any]], Turn]
_ids = itertools.count(1)


def call(name: str, arguments: Any = None, /, **args: Any) -> Turn:
    """A turn with one tool call; `arguments` (a raw string) wins over `args`."""
    raw = arguments if isinstance(arguments, str) else json.dumps(args)
    return Turn(
        message={
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_{next(_ids)}",
                    "type": "function",
                    "function": {"name": name, "arguments": raw},
                }
            ],
        }
    )


def answer(text: str) -> Turn:
    return Turn(message={"role": "assistant", "content": text})


def turn_number(body: Mapping[str, Any]) -> int:
    """How many assistant turns the conversation already has (0 for the first call)."""
    return sum(1 for m in body.get("messages") or [] if m.get("role") == "assistant")


def prompt_text(body: Mapping[str, Any]) -> str:
    return "\n".join(
        str(m.get("content") or "") for m in body.get("messages") or [] if m.get("role") == "user"
    )


def tool_results(body: Mapping[str, Any]) -> list[str]:
    """The texts of the tool results the conversation has so far, in order."""
    return [
        str(m.get("content") or "") for m in body.get("messages") or [] if m.get("role") == "tool"
    ]


def _task(body: Mapping[str, Any]) -> tuple[str, str]:
    """The site the prompt points at and the project it names."""
    prompt = prompt_text(body)
    found = URL.search(prompt)
    named = NAMED.search(prompt)
    site = found.group(0).rstrip("/.,:;") if found else "http://127.0.0.1"
    return site, named.group(1) if named else "demo"


def demo_script(body: Mapping[str, Any]) -> Turn:
    """Sign up and create the project the prompt names, in the browser; check; answer."""
    site, project = _task(body)
    steps = [
        call("browser_navigate", url=site),
        call("browser_type", selector="#email", text=DEMO_EMAIL),
        call("browser_type", selector="#password", text=DEMO_PASSWORD),
        call("browser_click", selector="role=button[name='Sign up']"),
        call("browser_type", selector="#project-name", text=project),
        call("browser_click", selector="role=button[name='Create project']"),
        call("http_request", method="GET", url=f"{site}/api/projects"),
        answer(
            f'I signed up as {DEMO_EMAIL} and created the project "{project}"; the page '
            "and GET /api/projects both list it."
        ),
    ]
    return steps[min(turn_number(body), len(steps) - 1)]


def demo_http_script(body: Mapping[str, Any]) -> Turn:
    """`demo_script` through the site's HTTP API: sign up, create the project with the token
    the sign-up answered, list projects, answer."""
    site, project = _task(body)
    token = next((m.group(1) for r in tool_results(body) if (m := TOKEN.search(r))), "")
    steps = [
        call(
            "http_request",
            method="POST",
            url=f"{site}/api/signup",
            json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD},
        ),
        call(
            "http_request",
            method="POST",
            url=f"{site}/api/projects",
            json={"name": project},
            headers={"Authorization": f"Bearer {token}"},
        ),
        call("http_request", method="GET", url=f"{site}/api/projects"),
        answer(
            f'I signed up as {DEMO_EMAIL} through the API and created the project "{project}"; '
            "GET /api/projects lists it."
        ),
    ]
    return steps[min(turn_number(body), len(steps) - 1)]


class Model:
    """The stand-in's state: the script and the requests it has seen."""

    def __init__(self, *, script: Script) -> None:
        self.script = script
        self.seen: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def app(self) -> Starlette:
        async def completions(request: Request) -> Response:
            body = await request.json()
            with self._lock:
                self.seen.append(body)
            turn = self.script(body)
            if turn.message is None:
                content = turn.body if isinstance(turn.body, str) else json.dumps(turn.body)
                return Response(content, status_code=turn.status, headers=dict(turn.headers))
            return JSONResponse(
                {
                    "id": f"chatcmpl-{len(self.seen)}",
                    "object": "chat.completion",
                    "model": str(body.get("model") or "scripted"),
                    "choices": [
                        {"index": 0, "message": dict(turn.message), "finish_reason": "stop"}
                    ],
                    "usage": {**turn.usage, "total_tokens": sum(turn.usage.values())},
                }
            )

        return Starlette(
            routes=[
                Route("/v1/chat/completions", completions, methods=["POST"]),
                Route("/chat/completions", completions, methods=["POST"]),
            ]
        )
