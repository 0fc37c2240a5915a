"""GitHub's OpenAPI description as a checker for the requests and responses FakeGitHub sees.

The descriptions (`tests/data/github/openapi-*.json`) are parsed once per process. Their `servers`
entry is replaced by `/` so path templates match whatever loopback port the fake listens on; the
caller strips the GHES `/api/v3` prefix first. Errors come back as one-line strings.

One documented deviation of the description from GitHub is allowed: `created` on the workflow
run listings is declared `format: date-time`, but GitHub takes its search syntax there
(`>=2024-05-01T00:00:00Z`, `2024-05-01..2024-05-02`, plain dates), which the rollout finder
sends. Such a value is checked as the first date-time it contains.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

DATA = Path(__file__).resolve().parents[1] / "data" / "github"
SPEC_FILES = {
    "api.github.com": "openapi-api.github.com.json",
    "ghes-3.19": "openapi-ghes-3.19.json",
}
_HOST = "http://127.0.0.1"
_LOCK = threading.Lock()  # openapi-core caches validators lazily; keep that single-threaded
_SEARCH_DATE = re.compile(r"^(?:>=|<=|>|<)?(\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?)")


@functools.cache
def spec(name: str) -> OpenAPI:
    """The parsed description `name` (a key of SPEC_FILES), parsed once per process."""
    data = json.loads((DATA / SPEC_FILES[name]).read_text(encoding="utf-8"))
    data["servers"] = [{"url": "/"}]
    # The description itself is trusted (it is GitHub's); skip the slow meta-validation.
    return OpenAPI.from_dict(data, config=Config(spec_validator_cls=None))


def request_errors(
    name: str, *, method: str, path: str, query: Mapping[str, str], body: bytes, content_type: str
) -> list[str]:
    """Why GitHub's description rejects this request (path without any GHES prefix)."""
    request = _request(method=method, path=path, query=query, body=body, content_type=content_type)
    with _LOCK:
        return [_describe(e) for e in spec(name).iter_request_errors(request)]


def response_errors(
    name: str,
    *,
    method: str,
    path: str,
    query: Mapping[str, str],
    status: int,
    body: bytes,
    headers: Mapping[str, str],
) -> list[str]:
    """Why the description rejects a response; statuses it does not document are skipped."""
    request = _request(method=method, path=path, query=query, body=b"", content_type="")
    response = MockResponse(body, status_code=status, headers=dict(headers))
    with _LOCK:
        errors = list(spec(name).iter_response_errors(request, response))
    return [_describe(e) for e in errors if type(e).__name__ != "ResponseNotFound"]


def _request(
    *, method: str, path: str, query: Mapping[str, str], body: bytes, content_type: str
) -> MockRequest:
    args = {k: _search_date(v) if k == "created" else v for k, v in query.items()}
    return MockRequest(
        _HOST,
        method.lower(),
        path,
        args=args,
        data=body or None,
        content_type=content_type or "application/json",
    )


def _search_date(value: str) -> str:
    match = _SEARCH_DATE.match(value)
    if not match:
        return value
    date = match.group(1)
    return date if "T" in date else f"{date}T00:00:00Z"


def _describe(error: Exception) -> str:
    parts = [str(error)]
    cause = error.__cause__
    schema_errors: Any = getattr(cause, "schema_errors", None)
    if schema_errors:
        for e in schema_errors:
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            parts.append(f"at {where}: {_short(e.message)}")
    elif cause is not None and str(cause) not in parts[0]:
        parts.append(_short(str(cause)))
    return "; ".join(parts)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
