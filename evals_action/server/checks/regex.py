"""`regex`: the agent's final answer matches a pattern (case-insensitive unless asked)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from evals_action.server.checks import base


@base.register
@dataclasses.dataclass(frozen=True, kw_only=True)
class Regex(base.Check):
    type = "regex"
    needs = "pattern"
    filled = ("pattern",)  # template vars only: a pattern is not a URL

    pattern: str = ""
    case_sensitive: bool = False

    @classmethod
    def default_name(cls, *, values: Mapping[str, Any]) -> str:
        return f"answer matches /{values.get('pattern', '')}/"

    @classmethod
    def config_problems(cls, *, values: Mapping[str, Any], where: str) -> list[str]:
        try:
            re.compile(str(values.get("pattern", "")))
        except re.error as exc:
            return [f"{where}.pattern is not a valid regular expression: {exc}"]
        return []

    def run(
        self, *, answer: str, result: Mapping[str, Any] | None, context: base.Context
    ) -> tuple[bool, str]:
        flags = 0 if self.case_sensitive else re.IGNORECASE
        if re.search(self.pattern, answer, flags):
            return True, "matched the final answer"
        return False, f"the final answer does not match /{self.pattern}/"
