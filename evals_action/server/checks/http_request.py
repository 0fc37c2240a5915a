"""`http`: a request against the preview answers as expected.

The check's production URL is rewritten to the preview through the url map; the answer must
have `expect_status` and, when asked, contain `body_contains` or be JSON with an item that has
every field of `json_contains`. It goes through `egress.fetch`: only to allowed hosts and
addresses, redirects re-checked.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import requests

from evals_action.server import egress
from evals_action.server.checks import base


@base.register
@dataclasses.dataclass(frozen=True, kw_only=True)
class Http(base.Check):
    type = "http"
    needs = "url"
    retargeted = ("url", "body_contains", "json_contains")

    url: str = ""  # the production URL, rewritten to the preview through the url map
    method: str = "GET"
    expect_status: int = 200
    body_contains: str = ""
    json_contains: Mapping[str, Any] | None = None

    @classmethod
    def default_name(cls, *, values: Mapping[str, Any]) -> str:
        return f"{values.get('method', 'GET')} {values.get('url', '')}"

    def run(
        self, *, answer: str, result: Mapping[str, Any] | None, context: base.Context
    ) -> tuple[bool, str]:
        if not self.url.startswith(("http://", "https://")):
            return False, f"not an http(s) URL: {self.url}"
        try:
            response = egress.fetch(
                guard=context.guard, method=self.method, url=self.url, timeout=context.http_timeout
            )
        except egress.Refused as exc:
            return False, f"refused: {exc}"
        except requests.RequestException as exc:
            return False, f"request failed: {type(exc).__name__}"
        if response.status_code != self.expect_status:
            return False, f"answered {response.status_code}, expected {self.expect_status}"
        if self.body_contains and self.body_contains not in response.text:
            return False, f"the response does not contain {self.body_contains!r}"
        if self.json_contains is not None:
            try:
                body = response.json()
            except ValueError:
                return False, "the response is not JSON"
            if not json_has(body, wanted=self.json_contains):
                return False, f"no item has {json.dumps(self.json_contains, sort_keys=True)}"
        return True, f"answered {response.status_code} as expected"


def json_has(body: Any, *, wanted: Mapping[str, Any]) -> bool:
    """True when `body` (or, for a list or a wrapper object, any item in it) has `wanted`."""
    if isinstance(body, Mapping):
        if all(body.get(k) == v for k, v in wanted.items()):
            return True
        return any(json_has(v, wanted=wanted) for v in body.values() if isinstance(v, list))
    if isinstance(body, list):
        return any(json_has(item, wanted=wanted) for item in body)
    return False
