"""`trace`: a fact of the agent's trace (`traces.facts`) contains a text or equals a value.

`path` names the fact: `last_page` (the last browser page's URL and text), `last_url`,
`last_exit_code` (the last shell command's), `refused`, `errors`, `steps`. With `value` the
fact must contain it (case-insensitive unless asked); without, it must equal `expected`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from evals_action.server import traces
from evals_action.server.checks import base


@base.register
@dataclasses.dataclass(frozen=True, kw_only=True)
class Trace(base.Check):
    type = "trace"
    needs = "path"
    retargeted = ("value", "expected")

    path: str = ""
    value: str = ""
    expected: Any = None
    case_sensitive: bool = False

    @classmethod
    def default_name(cls, *, values: Mapping[str, Any]) -> str:
        return f"trace {values.get('path', '')}"

    @classmethod
    def config_problems(cls, *, values: Mapping[str, Any], where: str) -> list[str]:
        if values.get("path") in traces.FACTS:
            return []
        return [f"{where}.path must be one of {', '.join(traces.FACTS)} for a trace check"]

    def run(
        self, *, answer: str, result: Mapping[str, Any] | None, context: base.Context
    ) -> tuple[bool, str]:
        trace = traces.for_report(result)
        if not trace:
            return False, "the rollout sent no trace"
        found = traces.facts(trace).get(self.path)
        if found is None:
            return False, f"the trace has no {self.path}"
        if self.value:
            haystack, needle = (
                (str(found), self.value)
                if self.case_sensitive
                else (str(found).lower(), self.value.lower())
            )
            if needle in haystack:
                return True, f"{self.path} contains {self.value!r}"
            return False, f"{self.path} does not contain {self.value!r}"
        if found == self.expected:
            return True, f"{self.path} is {found!r}"
        return False, f"{self.path} is {found!r}, expected {self.expected!r}"
