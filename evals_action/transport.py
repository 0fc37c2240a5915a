"""JSON over HTTP with `requests`, and the one place its errors become ours.

`send` performs one request (never retries: timing belongs to `polling`) and classifies every
outcome: 2xx is returned; 5xx, 429, resets and timeouts raise `TransientAPIError` carrying the
server's `Retry-After`; 401/403/404 raise `FatalAPIError`; other 4xx raise `ClientAPIError`.
Messages name the call, the status and the URL, and never contain a secret.

`request` is for callers that word their own messages (the rollout client's `POST /init`, the
signed artifact download): it turns `requests`' exceptions into `Unanswered`. Only this module
(and `transport_limits`, below it) catches `requests` exceptions.

Every request made through a `Session` (`new_session`) has two transport limits, whoever makes
it (`send`, `request`):
- time: it ends within connect + read timeout seconds in total (a server that drips its answer a
  byte at a time resets a read timeout forever), and never after the session's `deadline`; past
  either, its socket is shut down and it raises `TransientAPIError` (see `transport_limits`);
- size: at most `max_bytes` of the body are read (`MAX_BODY_BYTES` by default); a 2xx answer that
  is longer raises `ClientAPIError` (an unreadable body), an error answer is cut to that size.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from evals_action import __version__, errors, text, transport_limits

USER_AGENT = f"evals-action/{__version__}"
# (connect, read) seconds. Every call has both, and their sum is its overall time limit.
DEFAULT_TIMEOUT = (10.0, 30.0)
# The evals API answers with a few KB of JSON; 1 MiB is hundreds of times that, and keeps what
# the action copies into step outputs (report-json) near GitHub's 1 MB limit per output.
MAX_BODY_BYTES = 1024 * 1024
# A Run object is about five levels deep; anything past this is not an evals API answer.
MAX_JSON_DEPTH = 64


def new_session(
    *, max_bytes: int = MAX_BODY_BYTES, accept: str | None = "application/json"
) -> transport_limits.Session:
    session = transport_limits.Session(max_bytes=max_bytes)
    session.headers["User-Agent"] = USER_AGENT
    if accept:
        session.headers["Accept"] = accept
    return session


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP-date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now())


def send(
    session: requests.Session,
    *,
    method: str,
    url: str,
    what: str,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    params: Mapping[str, Any] | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    fatal_statuses: frozenset[int] = frozenset({401, 403, 404}),
) -> requests.Response:
    """One request; returns a 2xx response or raises from `errors`."""
    try:
        response = session.request(
            method,
            url,
            headers=dict(headers or {}),
            json=body,
            params=params,
            timeout=timeout,
            allow_redirects=False,
        )
    except errors.APIError as exc:  # a limit (time or size) of `transport_limits.Session`
        raise type(exc)(f"{what}: {exc.message}", status=exc.status) from None
    except requests.Timeout as exc:
        raise errors.TransientAPIError(f"{what}: timed out ({_where(url)})") from exc
    except requests.ConnectionError as exc:
        raise errors.TransientAPIError(
            f"{what}: connection failed ({_where(url)}): {reason(exc)}"
        ) from exc
    except requests.RequestException as exc:
        raise errors.TransientAPIError(
            f"{what}: request failed ({_where(url)}): {reason(exc)}"
        ) from exc
    status = response.status_code
    if 200 <= status < 300:
        return response
    detail = error_detail(response)
    message = f"{what}: HTTP {status} from {_where(url)}" + (f": {detail}" if detail else "")
    if status == 429 or status >= 500:
        raise errors.TransientAPIError(
            message,
            status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if status in fatal_statuses:
        raise errors.FatalAPIError(message + _hint(status), status=status)
    raise errors.ClientAPIError(message, status=status)


class Unanswered(errors.TransientAPIError):
    """`requests` gave up before an answer (`request`): `timed_out`, or not reached at all.

    `reason` is a short, secret-free cause (`reason`), `kind` the exception's class name.
    """

    def __init__(self, message: str, *, timed_out: bool, reason: str, kind: str) -> None:
        super().__init__(message)
        self.timed_out = timed_out
        self.reason = reason
        self.kind = kind


def request(
    session: requests.Session, *, method: str, url: str, **kwargs: Any
) -> requests.Response:
    """One request, whatever its status; `requests`' own exceptions become `Unanswered`.

    The cause is dropped (`from None`): it holds the prepared request, secrets included.
    """
    try:
        return session.request(method, url, **kwargs)
    except requests.RequestException as exc:
        raise Unanswered(
            f"{method} {_where(url)}: {reason(exc)}",
            timed_out=isinstance(exc, requests.Timeout),
            reason=reason(exc),
            kind=type(exc).__name__,
        ) from None


def json_body(response: requests.Response, *, what: str) -> Any:
    """The response's JSON, or `ClientAPIError` (fatal after three in a row) when it is not JSON
    or is nested deeper than `MAX_JSON_DEPTH`."""
    try:
        data = response.json()
    except RecursionError:
        raise _too_deep_error(response, what=what) from None
    except ValueError as exc:
        snippet = response.text[:80].replace("\n", " ")
        raise errors.ClientAPIError(
            f"{what}: the server sent a body that is not JSON (HTTP {response.status_code}, "
            f"starts {json.dumps(snippet)})",
            status=response.status_code,
        ) from exc
    if too_deep(data):
        raise _too_deep_error(response, what=what)
    return data


def too_deep(value: Any, *, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether decoded JSON nests more than `limit` arrays/objects (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list[Any] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _too_deep_error(response: requests.Response, *, what: str) -> errors.ClientAPIError:
    return errors.ClientAPIError(
        f"{what}: the server sent JSON nested deeper than {MAX_JSON_DEPTH} levels "
        f"(HTTP {response.status_code} from {_where(response.url)}); check the API URL",
        status=response.status_code,
    )


def error_detail(response: requests.Response, *, limit: int = 300) -> str:
    """A short, one-line description of an error body (`error`/`message` field, else text)."""
    try:
        data = response.json()
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        for key in ("error", "message", "detail"):
            if isinstance(data.get(key), str):
                return text.one_line(data[key], limit=limit)
    return text.one_line(response.text or "", limit=limit)


def _where(url: str) -> str:
    return url.split("?", 1)[0]


def reason(exc: Exception) -> str:
    """A short, secret-free cause of a connection error."""
    text = str(exc)
    for marker in (
        "Connection refused",
        "Connection reset",
        "Name or service not known",
        "RemoteDisconnected",
        "Connection aborted",
    ):
        if marker in text:
            return marker
    return type(exc).__name__


def _hint(status: int) -> str:
    if status == 401:
        return " (check the api-key: it is missing, wrong or revoked)"
    if status == 403:
        return " (the api-key is not allowed to do this)"
    return " (check the URL and the id)"
