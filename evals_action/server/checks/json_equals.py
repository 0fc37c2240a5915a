"""`json_equals`: a dotted path into the rollout result (`a.b.0.c`) equals a value."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from evals_action.server.checks import base


@base.register
@dataclasses.dataclass(frozen=True, kw_only=True)
class JsonEquals(base.Check):
    type = "json_equals"
    needs = "path"
    retargeted = ("expected",)

    path: str = ""
    expected: Any = None

    @classmethod
    def default_name(cls, *, values: Mapping[str, Any]) -> str:
        return f"result {values.get('path', '')} == {values.get('expected')!r}"

    def run(
        self, *, answer: str, result: Mapping[str, Any] | None, context: base.Context
    ) -> tuple[bool, str]:
        if result is None:
            return False, "the rollout sent no result"
        found, value = lookup(result, path=self.path)
        if not found:
            return False, f"the rollout result has no {self.path}"
        if value == self.expected:
            return True, f"{self.path} is {json.dumps(value)}"
        return False, f"{self.path} is {json.dumps(value)}, expected {json.dumps(self.expected)}"


def lookup(data: Any, *, path: str) -> tuple[bool, Any]:
    """`(found, value)` at a dotted path; list items by index."""
    for part in path.split("."):
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return False, None
    return True, data
