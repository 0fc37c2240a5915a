"""The agent's trace on the server: kept with the report, shown step by step, read by checks.

A rollout result may carry `trace` and `files` (written by `evals_action.agent.trace`; any agent
may send the same shape). `for_report` keeps a checked, size-bounded copy in the report: known
keys only, texts cut, at most `MAX_STEPS` steps, screenshots only as `step-<n>.jpg|png` whose
bytes really are a JPEG or PNG of at most `MAX_FILE_BYTES`. `split` takes the trace back out
of the report just before it is stored, so the report stays small and the trace goes to
their own table: `trace.json` (redacted like the report, read by the pages only, since it may
hold template values the pages hide) and the screenshots (`store.Store.get_file`, served at
`/runs/{id}/files/{name}`). The API's `report` does not carry the trace.

Checks of type `trace` (`checks/trace.py`) read `facts`: `last_page` (the last browser page's
URL and text), `last_url`, `last_exit_code` (the last shell command's), `refused` (calls refused
for leaving the preview), `errors` (failed tool calls), `steps`. `failing_step` is where a run
that did not succeed went wrong: the agent's own `failedStep`, else its last failed step, else
its last step.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

MAX_STEPS = 400
TEXT_LIMIT = 2000
MAX_FILE_BYTES = 300_000
MAX_FILES_BYTES = 600_000
TRACE_FILE = "trace.json"
FILE_NAME = re.compile(r"^step-[0-9]{1,4}\.(jpg|png)$")
MAGIC = {"jpg": (b"\xff\xd8\xff", "image/jpeg"), "png": (b"\x89PNG\r\n\x1a\n", "image/png")}
FACTS = ("last_page", "last_url", "last_exit_code", "refused", "errors", "steps")


def for_report(result: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The trace to keep with the report (with its screenshots still inline), or None."""
    raw = (result or {}).get("trace")
    if not isinstance(raw, Mapping) or not isinstance(raw.get("steps"), list):
        return None
    steps = [_step(s) for s in raw["steps"][:MAX_STEPS] if isinstance(s, Mapping)]
    files = _files((result or {}).get("files"), named={s["screenshot"] for s in steps})
    for step in steps:
        if step["screenshot"] not in files:
            step["screenshot"] = None
    failed = raw.get("failedStep")
    return {
        "steps": steps,
        "stopReason": _text(raw.get("stopReason"), 300) or None,
        "failedStep": failed if isinstance(failed, int) and not isinstance(failed, bool) else None,
        "files": files,
    }


def split(
    report: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, tuple[str, bytes]]]:
    """The report without its trace, the trace without screenshots, and the screenshots
    (name → (type, bytes)). The API's report stays as small as before; pages read the rest."""
    trace = report.get("trace")
    if not isinstance(trace, Mapping):
        return dict(report), None, {}
    files = {
        name: (str(f["contentType"]), base64.b64decode(f["base64"]))
        for name, f in (trace.get("files") or {}).items()
    }
    kept = {k: v for k, v in trace.items() if k != "files"}
    return {k: v for k, v in report.items() if k != "trace"}, kept, files


def failing_step(trace: Mapping[str, Any] | None) -> int | None:
    if not trace or not trace.get("steps"):
        return None
    if trace.get("failedStep"):
        return int(trace["failedStep"])
    failed = [s["index"] for s in trace["steps"] if not s["ok"]]
    return failed[-1] if failed else int(trace["steps"][-1]["index"])


def facts(trace: Mapping[str, Any] | None) -> dict[str, Any]:
    steps = list((trace or {}).get("steps") or [])
    pages = [s["page"] for s in steps if s.get("page")]
    shells = [s["exitCode"] for s in steps if s.get("exitCode") is not None]
    return {
        "last_page": f"{pages[-1]['url']}\n{pages[-1]['text']}" if pages else None,
        "last_url": pages[-1]["url"] if pages else None,
        "last_exit_code": shells[-1] if shells else None,
        "refused": sum(1 for s in steps if s.get("refused")),
        "errors": sum(1 for s in steps if not s.get("ok")),
        "steps": len(steps),
    }


def _step(raw: Mapping[str, Any]) -> dict[str, Any]:
    page = raw.get("page") if isinstance(raw.get("page"), Mapping) else None
    exit_code = raw.get("exitCode")
    index = raw.get("index")
    return {
        "index": index if isinstance(index, int) and not isinstance(index, bool) else 0,
        "kind": "model" if raw.get("kind") == "model" else "tool",
        "name": _text(raw.get("name"), 80),
        "args": _text_args(raw.get("args")),
        "summary": _text(raw.get("summary"), TEXT_LIMIT),
        "ok": raw.get("ok") is not False,
        "error": _text(raw.get("error"), 500) or None,
        "refused": raw.get("refused") is True,
        "at": _seconds(raw.get("at")),
        "seconds": _seconds(raw.get("seconds")),
        "screenshot": raw.get("screenshot") if isinstance(raw.get("screenshot"), str) else None,
        "page": {"url": _text(page.get("url"), 500), "text": _text(page.get("text"), TEXT_LIMIT)}
        if page
        else None,
        "exitCode": exit_code
        if isinstance(exit_code, int) and not isinstance(exit_code, bool)
        else None,
    }


def _files(raw: Any, *, named: set[Any]) -> dict[str, dict[str, str]]:
    """Screenshots a step names, that are what their name says, within the size limits."""
    if not isinstance(raw, Mapping):
        return {}
    kept: dict[str, dict[str, str]] = {}
    total = 0
    for name, entry in raw.items():
        match = FILE_NAME.match(str(name))
        if not match or name not in named or not isinstance(entry, Mapping):
            continue
        try:
            data = base64.b64decode(str(entry.get("base64") or ""), validate=True)
        except (binascii.Error, ValueError):
            continue
        magic, content_type = MAGIC[match.group(1)]
        if (
            not data.startswith(magic)
            or len(data) > MAX_FILE_BYTES
            or total + len(data) > MAX_FILES_BYTES
        ):
            continue
        total += len(data)
        kept[str(name)] = {"contentType": content_type, "base64": base64.b64encode(data).decode()}
    return kept


def _text_args(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {
        _text(k, 80): _text(v if isinstance(v, str) else json.dumps(v, default=str), 300)
        for k, v in list(value.items())[:20]
    }


def _text(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return 0.0
    return round(max(0.0, min(float(value), 1e7)), 3)
