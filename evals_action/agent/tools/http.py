"""`http_request`: one HTTP request to the app under test.

Only to the rollout's origins; redirects are not followed (the model sees the `Location` and may
ask for it, which is checked again). Bodies are read up to `MAX_BYTES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from evals_action.agent import tools

TIMEOUT = (5.0, 20.0)
MAX_BYTES = 200_000
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
PARAMETERS = {
    "type": "object",
    "properties": {
        "method": {"type": "string", "enum": list(METHODS)},
        "url": {"type": "string", "description": "Absolute URL on the app under test"},
        "json": {"description": "JSON body, if any"},
        "headers": {"type": "object", "description": "Extra headers, if any"},
    },
    "required": ["method", "url"],
}


def tool(*, session: requests.Session, scope: tools.Scope) -> tools.Tool:
    def run(args: Mapping[str, Any]) -> tools.Outcome:
        method = str(args.get("method") or "GET").upper()
        url = tools.text_arg(args, "url")
        if method not in METHODS:
            raise tools.BadArguments(f"method must be one of {', '.join(METHODS)}")
        headers = args.get("headers") or {}
        if not isinstance(headers, Mapping):
            raise tools.BadArguments("headers must be an object")
        scope.check(url)
        return send(
            session=session,
            method=method,
            url=url,
            headers={str(k): str(v) for k, v in headers.items()},
            body=args.get("json"),
        )

    return tools.Tool(
        name="http_request",
        description="Send an HTTP request to the app under test; returns status and body.",
        parameters=PARAMETERS,
        run=run,
    )


def send(
    *, session: requests.Session, method: str, url: str, headers: Mapping[str, str], body: Any
) -> tools.Outcome:
    try:
        with session.request(
            method,
            url,
            json=body,
            headers=dict(headers),
            timeout=TIMEOUT,
            allow_redirects=False,
            stream=True,
        ) as response:
            raw = response.raw.read(MAX_BYTES + 1, decode_content=True)
            status, location = response.status_code, response.headers.get("Location")
            encoding = response.encoding or "utf-8"
    except requests.RequestException as exc:
        return tools.Outcome(text=f"error: {method} {url} failed ({type(exc).__name__})", ok=False)
    text = raw[:MAX_BYTES].decode(encoding, "replace")
    head = f"HTTP {status}" + (f" (Location: {location})" if location else "")
    return tools.Outcome(text=f"{head}\n{text}", ok=status < 400)
