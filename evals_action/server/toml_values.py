"""Readers of the config file's TOML values: each returns the value, or adds a problem (naming
the key and what it must be) and returns a harmless default, so every problem is reported at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def table(raw: Mapping[str, Any], *, key: str, problems: list[str]) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        problems.append(f"[{key}] must be a table")
        return {}
    return value


def unknown(
    table: Mapping[str, Any], *, where: str, known: Iterable[str], problems: list[str]
) -> None:
    """A typo must not switch a setting off in silence: every key outside `known` is a
    problem, named with the keys that are known."""
    names = sorted(known)
    extra = sorted(set(table) - set(names))
    if extra:
        problems.append(f"{where}: unknown keys {', '.join(extra)} (known: {', '.join(names)})")


def positive(value: Any, *, where: str, problems: list[str]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        problems.append(f"{where} must be a positive number (got {value!r})")
        return 1.0
    return float(value)


def count(server: Mapping[str, Any], *, key: str, default: int, problems: list[str]) -> int:
    value = server.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        problems.append(f"server.{key} must be a whole number of at least 1 (got {value!r})")
        return default
    return value


def string(item: Mapping[str, Any], *, key: str, where: str, problems: list[str]) -> str:
    value = item.get(key, "")
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}.{key} is required and must be a non-empty string")
        return ""
    return value


def secret(env: Any, *, environ: Mapping[str, str]) -> str | None:
    """The value of the environment variable a config names for a secret; None when unset."""
    if not isinstance(env, str) or not env:
        return None
    return environ.get(env) or None
