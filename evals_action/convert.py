"""Converters: each turns one raw input string into a value, or raises `ValueError(message)`.

The message names the input as the caller worded it (`name`: `url-map`, `--url-map` or
`EVALS_SKIP_STATUS`, see `settings.Names`); `""` (or only spaces) means unset. First the generic
converters (`clean_url`, `clean_secret`, ...), then one `clean_<input>` for each input that needs
its own default or rule, with the defaults themselves. Pure functions, nothing of ours imported:
`inputs.TABLE` says which input uses which.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.parse
from typing import Any

# A shorter secret would be masked everywhere it happens to occur in the log ("skip-comment"
# becoming "s***ip-comment" for a key `k`), and no real key or token is that short.
MIN_SECRET_LENGTH = 8

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})

DEFAULT_API_BASE_URL = "https://2027.dev/evals"
DEFAULT_WAIT_MINUTES = 20.0
DEFAULT_POLL_SECONDS = 20.0
ROLLOUT_STATUS_MODES = ("auto", "service", "gateway")


def clean_bool(*, name: str, raw: str, default: bool) -> bool:
    if raw == "":
        return default
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false (got '{raw}')")


def clean_positive(*, name: str, raw: str, default: float) -> float:
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a positive number (got '{raw}')")
    return value


def clean_json_object(*, name: str, raw: str) -> dict[str, Any] | None:
    if raw.strip() == "":
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{name} must be valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object")
    return value


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def clean_url(*, name: str, raw: str, allow_http_loopback: bool = True) -> str:
    """A base URL: `https://`, or `http://` on a loopback host. Trailing slashes stripped."""
    url = raw.strip().rstrip("/")
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"{name} must be a full https:// URL (got '{raw}')")
    if parsed.scheme == "http" and not (allow_http_loopback and is_loopback_host(parsed.hostname)):
        raise ValueError(
            f"{name} must use https:// (plain http is only allowed for localhost) (got '{raw}')"
        )
    return url


def clean_preview_url(*, name: str, raw: str) -> str:
    """A preview URL: any full http(s) URL (it is what the agent visits, not where keys go)."""
    parsed = urllib.parse.urlsplit(raw.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"{name} must be a full http(s):// URL (got {json.dumps(raw)})")
    return raw.strip()


def clean_url_map(*, raw: str, name: str = "url-map") -> dict[str, str]:
    value = clean_json_object(name=name, raw=raw or "{}")
    result: dict[str, str] = {}
    for host, target in (value or {}).items():
        if not isinstance(target, str):
            target = json.dumps(target)
        result[str(host)] = clean_preview_url(name=f"{name} value for '{host}'", raw=target)
    return result


def clean_template_vars(*, raw: str, name: str = "template-vars") -> dict[str, Any] | None:
    value = clean_json_object(name=name, raw=raw)
    return value or None


def clean_pr_number(*, raw: str, name: str = "pr-number") -> int | None:
    if raw.strip() == "":
        return None
    if not raw.strip().isdigit() or int(raw) <= 0:
        raise ValueError(f"{name} must be a positive whole number (got '{raw}')")
    return int(raw)


def clean_sha(*, raw: str, name: str = "sha") -> str | None:
    sha = raw.strip()
    if sha == "":
        return None
    if not (7 <= len(sha) <= 64) or any(c not in "0123456789abcdefABCDEF" for c in sha):
        raise ValueError(f"{name} must be a commit SHA of hexadecimal digits (got '{raw}')")
    return sha.lower()


def clean_secret(*, name: str, raw: str) -> str:
    """A key or token: empty (unset), or at least `MIN_SECRET_LENGTH` characters."""
    value = raw.strip()
    if value and len(value) < MIN_SECRET_LENGTH:
        raise ValueError(
            f"{name} is too short to be a real key or token (at least {MIN_SECRET_LENGTH} "
            "characters): check that the secret it comes from holds the whole value"
        )
    return value


def clean_choice(*, name: str, raw: str, choices: tuple[str, ...], default: str) -> str:
    if raw.strip() == "":
        return default
    if raw.strip() not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)} (got '{raw}')")
    return raw.strip()


# --- one converter per input that needs more than a generic one ---


def clean_text(*, name: str, raw: str) -> str:
    """Free text: surrounding spaces dropped, `""` when unset."""
    del name
    return raw.strip()


def clean_optional_text(*, name: str, raw: str) -> str | None:
    return clean_text(name=name, raw=raw) or None


def clean_api_base_url(*, name: str, raw: str) -> str:
    return clean_url(name=name, raw=raw or DEFAULT_API_BASE_URL)


def clean_optional_url(*, name: str, raw: str) -> str:
    """A rollout URL: unset stays `""`, else a base URL as `clean_url` wants it."""
    return clean_url(name=name, raw=raw.strip()) if raw.strip() else ""


def clean_deployment_url(*, name: str, raw: str) -> str | None:
    """Unset here is `None`; `settings.load` then takes it from url-map."""
    return clean_preview_url(name=name, raw=raw) if raw.strip() else None


def clean_wait_timeout_minutes(*, name: str, raw: str) -> float:
    return clean_positive(name=name, raw=raw, default=DEFAULT_WAIT_MINUTES)


def clean_poll_interval_seconds(*, name: str, raw: str) -> float:
    return clean_positive(name=name, raw=raw, default=DEFAULT_POLL_SECONDS)


def clean_rollout_timeout_minutes(*, name: str, raw: str) -> float | None:
    """Unset is `None`; `settings.load` then uses wait-timeout-minutes."""
    if raw == "":
        return None
    return clean_positive(name=name, raw=raw, default=DEFAULT_WAIT_MINUTES)


def clean_flag(*, name: str, raw: str) -> bool:
    return clean_bool(name=name, raw=raw, default=False)


def clean_flag_on(*, name: str, raw: str) -> bool:
    """A flag that is on unless set to false (`wait`)."""
    return clean_bool(name=name, raw=raw, default=True)


def clean_rollout_status(*, name: str, raw: str) -> str:
    return clean_choice(name=name, raw=raw, choices=ROLLOUT_STATUS_MODES, default="auto")


def clean_workflow_repo(*, name: str, raw: str) -> str:
    repo = raw.strip()
    if repo and repo.count("/") != 1:
        raise ValueError(f"{name} must look like owner/repo (got '{repo}')")
    return repo


def clean_workflow_ref(*, name: str, raw: str) -> str:
    return clean_text(name=name, raw=raw) or "main"


# --- suites (suites-contract §1) ---

MAX_REPEATS = 50


def clean_prompt_ids(*, name: str, raw: str) -> tuple[str, ...]:
    """One prompt id, or several separated by newlines and/or commas; blanks ignored."""
    ids = tuple(p.strip() for p in raw.replace("\n", ",").split(",") if p.strip())
    if raw.strip() and not ids:
        raise ValueError(f"{name} lists no prompt id (got '{raw.strip()}')")
    seen: set[str] = set()
    for prompt_id in ids:
        if prompt_id in seen:
            raise ValueError(
                f"{name} lists '{prompt_id}' more than once: list each prompt once "
                "and use repeats for several runs"
            )
        seen.add(prompt_id)
    return ids


def clean_int(*, name: str, raw: str, low: int, high: int, default: int | None) -> int | None:
    """A whole number in `low..high`; `default` when unset."""
    if raw.strip() == "":
        return default
    text = raw.strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high} (got '{raw}')")
    return int(text)


def clean_bounded(*, name: str, raw: str, low: float, high: float) -> float | None:
    """A number in `low..high`, or None when unset."""
    if raw.strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise ValueError(f"{name} must be a number from {low:g} to {high:g} (got '{raw}')")
    return value


def clean_repeats(*, name: str, raw: str) -> int:
    return clean_int(name=name, raw=raw, low=1, high=MAX_REPEATS, default=1) or 1


def clean_max_repeats(*, name: str, raw: str) -> int | None:
    """Unset is `None`; `settings.load` then uses repeats."""
    return clean_int(name=name, raw=raw, low=1, high=MAX_REPEATS, default=None)


def clean_concurrency(*, name: str, raw: str) -> int:
    return clean_int(name=name, raw=raw, low=1, high=32, default=4) or 4


def clean_baseline_runs(*, name: str, raw: str) -> int:
    return clean_int(name=name, raw=raw, low=1, high=100, default=10) or 10


def clean_min_score(*, name: str, raw: str) -> float | None:
    return clean_bounded(name=name, raw=raw, low=0, high=100)


def clean_min_pass_rate(*, name: str, raw: str) -> float | None:
    return clean_bounded(name=name, raw=raw, low=0, high=1)


def clean_budget_usd(*, name: str, raw: str) -> float | None:
    if raw.strip() == "":
        return None
    return clean_positive(name=name, raw=raw.strip(), default=0.0)


def clean_output_file(*, name: str, raw: str) -> str:
    """A path the step writes to: unset stays `""`; a directory is refused."""
    import os

    path = raw.strip()
    if path and (path.endswith(("/", os.sep)) or os.path.isdir(path)):
        raise ValueError(f"{name} must be a file path, not a directory (got '{path}')")
    return path
