"""`llm_judge`: an OpenAI-compatible chat endpoint (the config's `[judge]`) decides.

The judge reads the task, the agent's final answer and the check's `criteria`, and answers
`{"pass": bool, "reason": "..."}`; anything else, or no answer, fails the check.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

import requests

from evals_action.server.checks import base

JUDGE_SYSTEM = (
    "You grade an AI agent's work. Read the task, the agent's final answer and the criteria. "
    'Reply with only a JSON object: {"pass": true or false, "reason": "<one sentence>"}.'
)


@base.register
@dataclasses.dataclass(frozen=True, kw_only=True)
class LlmJudge(base.Check):
    type = "llm_judge"
    needs = "criteria"
    retargeted = ("criteria",)

    criteria: str = ""  # what the judge must decide

    @classmethod
    def default_name(cls, *, values: Mapping[str, Any]) -> str:
        return "judge: " + str(values.get("criteria", ""))[:60]

    def run(
        self, *, answer: str, result: Mapping[str, Any] | None, context: base.Context
    ) -> tuple[bool, str]:
        judge = context.judge
        if judge is None:
            return False, "no [judge] configured"
        headers = {"Authorization": f"Bearer {judge.api_key}"} if judge.api_key else {}
        body = {
            "model": judge.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": JUDGE_SYSTEM},
                {
                    "role": "user",
                    "content": f"Task:\n{context.prompt_text}\n\nFinal answer:\n"
                    f"{answer}\n\nCriteria:\n{self.criteria}",
                },
            ],
        }
        try:
            response = context.session.post(
                f"{judge.base_url}/chat/completions",
                json=body,
                headers=headers,
                timeout=judge.timeout_seconds,
            )
            response.raise_for_status()
            content = response.json()["choices"][0]["message"]["content"]
        except (requests.RequestException, ValueError, KeyError, IndexError, TypeError) as exc:
            return False, f"the judge could not be asked: {type(exc).__name__}"
        verdict = judge_verdict(str(content))
        if verdict is None:
            return False, "the judge's reply was not the JSON verdict asked for"
        return verdict


def judge_verdict(content: str) -> tuple[bool, str] | None:
    """The judge's `(pass, reason)` from its reply, or None when it is not the verdict asked for."""
    match = re.search(r"\{.*\}", content, re.DOTALL)
    if match is None:
        return None
    try:
        data = json.loads(match.group(0))
    except ValueError:
        return None
    if not isinstance(data, Mapping) or not isinstance(data.get("pass"), bool):
        return None
    return data["pass"], base.content_text(data.get("reason")) or (
        "passed" if data["pass"] else "failed"
    )
