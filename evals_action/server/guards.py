"""What stands between a request and the routes: a body-size cap, JSON checks, JSON errors.

- `BodyLimit` (ASGI middleware): a `Content-Length` over the cap is answered 413 before a byte
  of the body is read; a body without one (chunked) is counted as it streams and cut off with
  413 at the first chunk over the cap, so the server never holds more than the cap in memory.
- `read_json`: a request body as JSON, refusing with 400 what the server could not store or show:
  nesting deeper than `MAX_DEPTH`, `NaN`/`Infinity`, lone surrogates (`"\\ud800"`).
- `EXCEPTION_HANDLERS`: every error the app answers is JSON `{"error": "..."}`: Starlette's own
  404 and 405, a body over the cap, a database that failed (503 with `Retry-After`, so the action
  retries), and anything unexpected (500; the traceback goes to the log only).
- `JSON`: the app's JSON response; it never fails to encode what is already stored (a lone
  surrogate becomes `?`, a non-finite number `null`), so one bad row cannot break a page forever.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evals_action.server import store

log = logging.getLogger("evals_action.server")

MAX_DEPTH = 32
STORAGE_RETRY_AFTER_SECONDS = 30


class JSON(JSONResponse):
    """`JSONResponse` that encodes whatever it is given (see the module docstring)."""

    def render(self, content: Any) -> bytes:
        try:
            text = _dumps(content)
        except ValueError:  # NaN or Infinity in a stored value
            text = _dumps(_finite(content))
        return text.encode("utf-8", "replace")


def error(message: str, *, status: int, headers: Mapping[str, str] | None = None) -> JSON:
    return JSON({"error": message}, status_code=status, headers=headers)


def too_large(*, max_bytes: int) -> str:
    return (
        f"Request body is larger than {max_bytes} bytes (the server's [server] max_body_bytes); "
        "send a smaller body"
    )


class BodyLimit:
    """Answers 413 for a body over `max_bytes`, without reading more of it than that."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await error(too_large(max_bytes=self.max_bytes), status=413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise HTTPException(413, detail=too_large(max_bytes=self.max_bytes))
            return message

        await self.app(scope, counted, send)


async def read_json(request: Request) -> Any:
    """The body as JSON; `HTTPException(400)` naming what is wrong with it."""
    body = await request.body()
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        raise HTTPException(400, detail=_too_deep()) from None
    except ValueError as exc:
        detail = str(exc) if isinstance(exc, _Refused) else "Request body must be a JSON object"
        raise HTTPException(400, detail=detail) from None
    problem = _problem(value)
    if problem:
        raise HTTPException(400, detail=problem)
    return value


class _Refused(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"Request body has {name}, which is not a JSON number; send a finite number")


def _too_deep() -> str:
    return f"Request body is nested more than {MAX_DEPTH} levels deep; send a flatter object"


def _problem(value: Any) -> str | None:
    """Why a decoded body cannot be stored: too deep, or a string that is not valid Unicode."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)) and depth > MAX_DEPTH:
            return _too_deep()
        if isinstance(item, dict):
            stack.extend((k, depth) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str) and not _is_unicode(item):
            return (
                "Request body has a lone surrogate (an unpaired \\ud800-\\udfff escape); "
                "send valid Unicode text"
            )
    return None


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _dumps(content: Any) -> str:
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"Not found: {request.url.path}"
    elif exc.status_code == 405:
        detail = f"Method {request.method} is not allowed on {request.url.path}"
    return error(detail, status=exc.status_code, headers=exc.headers)


async def _storage_error(request: Request, exc: Exception) -> Response:
    log.error("%s %s: %s", request.method, request.url.path, exc)
    return error(
        f"The evals server could not use its database ({exc}); try again later",
        status=503,
        headers={"Retry-After": str(STORAGE_RETRY_AFTER_SECONDS)},
    )


async def _internal_error(request: Request, exc: Exception) -> Response:
    return error("Internal error in the evals server; see the server log", status=500)


EXCEPTION_HANDLERS = {
    HTTPException: _http_error,
    store.StorageError: _storage_error,
    Exception: _internal_error,
}
