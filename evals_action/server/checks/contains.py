"""`contains`: the agent's final answer mentions a text (case-insensitive unless asked)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from evals_action.server.checks import base


@base.register
@dataclasses.dataclass(frozen=True, kw_only=True)
class Contains(base.Check):
    type = "contains"
    needs = "value"
    retargeted = ("value",)

    value: str = ""
    case_sensitive: bool = False

    @classmethod
    def default_name(cls, *, values: Mapping[str, Any]) -> str:
        return f"answer contains {values.get('value', '')!r}"

    def run(
        self, *, answer: str, result: Mapping[str, Any] | None, context: base.Context
    ) -> tuple[bool, str]:
        haystack, needle = (
            (answer, self.value) if self.case_sensitive else (answer.lower(), self.value.lower())
        )
        if needle in haystack:
            return True, "found in the final answer"
        return False, f"the final answer does not mention {self.value!r}"
