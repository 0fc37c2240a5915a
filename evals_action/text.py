"""Small text helpers used across the package, one behaviour each.

- `one_line`: whitespace folded to single spaces, cut to a limit with `...`;
- `slug`: lower-case ASCII words joined by `-` (status contexts, report slugs);
- `duration`: seconds as the comment shows them (`45s`, `2m05s`);
- `compact_json`: JSON without spaces, non-ASCII kept;
- `TEMPLATE_VAR`: the `{{name}}` placeholder of prompts and checks.

The JSON-shape readers (`nonempty`, `number`) live in `models`, beside the wire format.

Nothing here imports anything of ours, so every layer (the action, Eval Protocol, the server)
can use it.
"""

from __future__ import annotations

import json
import re
from typing import Any

ELLIPSIS = "..."
TEMPLATE_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def one_line(text: str, *, limit: int) -> str:
    """`text` on one line, at most `limit` characters, ending in `...` when cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[: max(0, limit - len(ELLIPSIS))].rstrip() + ELLIPSIS


def slug(text: str, *, limit: int = 40) -> str:
    """`Sign up & create a project!` → `sign-up-create-a-project`, at most `limit` characters."""
    words = _NOT_SLUG.sub("-", text.lower()).strip("-")
    return words[:limit].strip("-")


def duration(seconds: float) -> str:
    """Whole seconds, rounded: `45s`, `2m05s`, `75m00s`."""
    minutes, secs = divmod(max(0, round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def compact_json(value: Any) -> str:
    """`{"a":1,"b":"é"}`: no spaces, non-ASCII as it is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
