"""A rollout's limits (steps, wall-clock seconds, tokens, cost) and what it has used so far.

`Budget` is fed each model reply's `usage`; `Budget.stop_reason` says, before each step,
whether the rollout must stop and why. Prices are US dollars per million tokens, per model, from
a JSON file (`--prices`): `{"gpt-4o-mini": {"input": 0.15, "output": 0.6}}`. A model without a
price has no cost (`costUsd` null), and a cost limit then stops nothing, which `describe` says.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from evals_action import errors


@dataclasses.dataclass(frozen=True)
class Limits:
    """Per rollout. `None` means no limit."""

    max_steps: int = 30
    max_seconds: float = 600.0
    max_tokens: int | None = None
    max_cost_usd: float | None = None


@dataclasses.dataclass(frozen=True)
class Price:
    input_per_mtok: float
    output_per_mtok: float

    def cost(self, *, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_per_mtok + completion_tokens * self.output_per_mtok
        ) / 1e6


def load_prices(*, path: Path) -> dict[str, Price]:
    """The prices file; `ConfigError` (exit 2) naming the file and the bad entry."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise errors.ConfigError([f"--prices: cannot read {path} ({exc.strerror})"]) from None
    except ValueError as exc:
        raise errors.ConfigError([f"--prices: {path} is not valid JSON ({exc})"]) from None
    return parse_prices(data=data, where=str(path))


def parse_prices(*, data: Any, where: str) -> dict[str, Price]:
    if not isinstance(data, Mapping):
        raise errors.ConfigError([f"--prices: {where} must be a JSON object of model → prices"])
    prices, problems = {}, []
    for model, entry in data.items():
        numbers = [
            entry.get(k) if isinstance(entry, Mapping) else None for k in ("input", "output")
        ]
        if all(_price(n) for n in numbers):
            prices[str(model)] = Price(
                input_per_mtok=float(numbers[0] or 0), output_per_mtok=float(numbers[1] or 0)
            )
        else:
            problems.append(
                f"--prices: {where}: {model!r} needs input and output, US dollars per million "
                'tokens, e.g. {"input": 0.15, "output": 0.6}'
            )
    if problems:
        raise errors.ConfigError(problems)
    return prices


def _price(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


class Budget:
    """What one rollout has used; `clock` is injected (monotonic seconds)."""

    def __init__(self, *, limits: Limits, price: Price | None, clock: Callable[[], float]) -> None:
        self.limits = limits
        self._price = price
        self._clock = clock
        self._started = clock()
        self.steps = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0

    @property
    def seconds(self) -> float:
        return max(0.0, self._clock() - self._started)

    @property
    def cost_usd(self) -> float | None:
        if self._price is None:
            return None
        return self._price.cost(
            prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens
        )

    def charge(self, *, usage: Mapping[str, Any]) -> None:
        """Add one model reply's `usage` (missing or odd numbers count as 0)."""
        self.prompt_tokens += _count(usage.get("prompt_tokens"))
        self.completion_tokens += _count(usage.get("completion_tokens"))

    def stop_reason(self) -> str | None:
        """Why the rollout must stop before its next model call, or None."""
        limits = self.limits
        if self.steps >= limits.max_steps:
            return f"step limit reached ({limits.max_steps} model calls)"
        if self.seconds >= limits.max_seconds:
            return f"time limit reached ({limits.max_seconds:g} s)"
        tokens = self.prompt_tokens + self.completion_tokens
        if limits.max_tokens is not None and tokens >= limits.max_tokens:
            return f"token budget spent ({tokens} of {limits.max_tokens} tokens)"
        cost = self.cost_usd
        if limits.max_cost_usd is not None and cost is not None and cost >= limits.max_cost_usd:
            return f"cost budget spent (${cost:.4f} of ${limits.max_cost_usd:g})"
        return None

    def metrics(self, *, errors_seen: int) -> dict[str, Any]:
        """The rollout result's `metrics` (the evals API's names, plus tokens)."""
        seconds = round(self.seconds, 2)
        cost = self.cost_usd
        return {
            "time": _duration(seconds),
            "timeSeconds": seconds,
            "cost": None if cost is None else f"${cost:.2f}",
            "costUsd": None if cost is None else round(cost, 6),
            "errors": errors_seen,
            "interruptions": 0,
            "steps": self.steps,
            "promptTokens": self.prompt_tokens,
            "completionTokens": self.completion_tokens,
            "totalTokens": self.prompt_tokens + self.completion_tokens,
        }


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return value


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest}s" if minutes else f"{rest}s"
