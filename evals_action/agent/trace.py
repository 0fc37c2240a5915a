"""The trace of one rollout: every model call and tool call, with timings and screenshots.

It travels in the rollout result (`trace`, `files`) to the evals server, which stores it, shows
it step by step on the run page and lets checks read it (`server/traces.py`). Shape:

    "trace": {"steps": [{"index": 1, "kind": "model" | "tool", "name": "browser_click",
                         "args": {...}, "summary": "one short text", "ok": true,
                         "error": null, "refused": false, "at": 0.12, "seconds": 0.05,
                         "screenshot": "step-3.jpg" | null,
                         "page": {"url", "text"} | null, "exitCode": 0 | null}, ...],
              "stopReason": "step limit reached (30 model calls)" | null,
              "failedStep": 7 | null},
    "files": {"step-3.jpg": {"contentType": "image/jpeg", "base64": "..."}}

Everything is cut to size so a whole result stays far below the 1 MB every answer may have:
texts to `TEXT_LIMIT` characters, screenshots to `SCREENSHOT_BUDGET` bytes in all (the oldest
are dropped first, their steps keep `screenshot: null`).
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

TEXT_LIMIT = 2000
ARGS_LIMIT = 1000
SCREENSHOT_BUDGET = 400_000
MAX_STEPS = 400


def cut(text: str, *, limit: int = TEXT_LIMIT) -> str:
    """`text`, at most `limit` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    keep = max(0, limit - 40)
    return f"{text[:keep]}… [{len(text) - keep} more characters cut]"


@dataclasses.dataclass
class Step:
    index: int
    kind: str
    name: str
    args: Mapping[str, Any]
    at: float
    summary: str = ""
    ok: bool = True
    error: str | None = None
    refused: bool = False
    seconds: float = 0.0
    screenshot: str | None = None
    page: Mapping[str, str] | None = None
    exit_code: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind,
            "name": self.name,
            "args": self.args,
            "summary": self.summary,
            "ok": self.ok,
            "error": self.error,
            "refused": self.refused,
            "at": round(self.at, 3),
            "seconds": round(self.seconds, 3),
            "screenshot": self.screenshot,
            "page": dict(self.page) if self.page else None,
            "exitCode": self.exit_code,
        }


class Trace:
    """Records steps in order; `clock` is monotonic seconds (injected)."""

    def __init__(self, *, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._started = clock()
        self.steps: list[Step] = []
        self._files: dict[str, bytes] = {}
        self.stop_reason: str | None = None
        self.failed_step: int | None = None

    def begin(self, *, kind: str, name: str, args: Mapping[str, Any]) -> Step:
        step = Step(
            index=len(self.steps) + 1,
            kind=kind,
            name=name,
            args=_small_args(args),
            at=self._clock() - self._started,
        )
        if len(self.steps) < MAX_STEPS:
            self.steps.append(step)
        return step

    def end(self, step: Step, *, summary: str, ok: bool = True, error: str | None = None) -> None:
        step.seconds = max(0.0, self._clock() - self._started - step.at)
        step.summary = cut(summary)
        step.ok = ok and error is None
        step.error = cut(error, limit=500) if error else None

    def attach_screenshot(self, step: Step, *, data: bytes, extension: str = "jpg") -> None:
        name = f"step-{step.index}.{extension}"
        self._files[name] = data
        step.screenshot = name
        while sum(len(d) for d in self._files.values()) > SCREENSHOT_BUDGET and self._files:
            oldest = next(iter(self._files))
            del self._files[oldest]
            for other in self.steps:
                if other.screenshot == oldest:
                    other.screenshot = None

    def stop(self, *, reason: str, step: int | None = None) -> None:
        """The rollout ended early; `step` is where it went wrong (default: the last step)."""
        self.stop_reason = reason
        self.failed_step = (
            step if step is not None else (self.steps[-1].index if self.steps else None)
        )

    def to_result(self) -> dict[str, Any]:
        """The `trace` and `files` keys of the rollout result."""
        return {
            "trace": {
                "steps": [s.to_json() for s in self.steps],
                "stopReason": self.stop_reason,
                "failedStep": self.failed_step,
            },
            "files": {
                name: {
                    "contentType": "image/png" if name.endswith(".png") else "image/jpeg",
                    "base64": base64.b64encode(data).decode("ascii"),
                }
                for name, data in self._files.items()
            },
        }


def _small_args(args: Mapping[str, Any]) -> Mapping[str, Any]:
    text = json.dumps(args, default=str)
    if len(text) <= ARGS_LIMIT:
        return dict(args)
    return {"truncated": cut(text, limit=ARGS_LIMIT)}
