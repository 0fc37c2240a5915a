"""The agent's trace on the server (server/traces.py): stored apart from the report, shown on the
pages escaped and with template values hidden, screenshots checked, read by `trace` checks."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests

from evals_action.server import config, traces
from evals_action.server.checks import trace as trace_check

from .conftest import FakeRollouts, Running

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 60
HOSTILE = '<img src=x onerror="alert(1)">'


def step(index: int, **fields: Any) -> dict[str, Any]:
    base = {
        "index": index,
        "kind": "tool",
        "name": "browser_click",
        "args": {},
        "summary": "",
        "ok": True,
        "error": None,
        "refused": False,
        "at": 0.1,
        "seconds": 0.2,
        "screenshot": None,
        "page": None,
        "exitCode": None,
    }
    return {**base, **fields}


def files(**named: bytes) -> dict[str, Any]:
    return {
        name.replace("_", "-").replace("-jpg", ".jpg").replace("-png", ".png"): {
            "contentType": "image/jpeg",
            "base64": base64.b64encode(data).decode(),
        }
        for name, data in named.items()
    }


def test_for_report_keeps_only_real_named_bounded_screenshots() -> None:
    result = {
        "trace": {
            "steps": [
                step(1, screenshot="step-1.jpg"),
                step(2, screenshot="step-2.png"),  # a JPEG named .png: dropped
                step(3, screenshot="../../etc.jpg"),  # not a step file name: dropped
                step(4, screenshot="step-4.jpg"),  # too big: dropped
                step(5, screenshot=None),
            ],
            "failedStep": True,  # not an int
        },
        "files": {
            **files(step_1_jpg=JPEG, step_2_png=JPEG, step_4_jpg=JPEG + b"\x00" * 400_000),
            "../../etc.jpg": {"base64": base64.b64encode(JPEG).decode()},
            "step-9.jpg": {"base64": base64.b64encode(JPEG).decode()},  # no step names it
        },
    }
    kept = traces.for_report(result)
    assert kept is not None
    assert [s["screenshot"] for s in kept["steps"]] == ["step-1.jpg", None, None, None, None]
    assert sorted(kept["files"]) == ["step-1.jpg"]
    assert kept["files"]["step-1.jpg"]["contentType"] == "image/jpeg"
    assert kept["failedStep"] is None


def test_for_report_cuts_texts_and_ignores_what_it_does_not_know() -> None:
    raw = step(1, summary="x" * 5000, args={"url": "u", "json": {"a": 1}}, colour="red", ok="no")
    kept = traces.for_report({"trace": {"steps": [raw, "junk"]}})
    assert kept is not None
    (only,) = kept["steps"]
    assert len(only["summary"]) == traces.TEXT_LIMIT
    assert only["args"] == {"url": "u", "json": '{"a": 1}'}
    assert "colour" not in only
    assert only["ok"] is True  # only a literal false fails a step
    assert traces.for_report({"trace": "nope"}) is None
    assert traces.for_report(None) is None


@pytest.mark.parametrize(
    ("path", "value", "expected", "passed", "detail"),
    [
        (
            "last_page",
            "Created project demo",
            None,
            True,
            "last_page contains 'Created project demo'",
        ),
        ("last_page", "nope", None, False, "last_page does not contain 'nope'"),
        ("last_url", "/done", None, True, "last_url contains '/done'"),
        ("last_exit_code", "", 0, True, "last_exit_code is 0"),
        ("refused", "", 0, False, "refused is 1, expected 0"),
        ("errors", "", 1, True, "errors is 1"),
        ("steps", "", 3, True, "steps is 3"),
    ],
)
def test_trace_checks_read_the_last_page_the_shell_and_the_counts(
    path: str, value: str, expected: Any, passed: bool, detail: str
) -> None:
    result = {
        "trace": {
            "steps": [
                step(1, page={"url": "http://p/done", "text": "Created project demo"}),
                step(2, name="shell", exitCode=0),
                step(3, name="http_request", ok=False, refused=True),
            ]
        }
    }
    got = check_trace(path=path, value=value, expected=expected, result=result)
    assert got == (passed, detail)


def test_a_trace_check_without_a_trace_fails_saying_so() -> None:
    assert check_trace(path="last_page", value="x", expected=None, result=None) == (
        False,
        "the rollout sent no trace",
    )
    assert check_trace(
        path="last_exit_code", value="", expected=0, result={"trace": {"steps": []}}
    ) == (False, "the trace has no last_exit_code")


def check_trace(*, path: str, value: str, expected: Any, result: Any) -> tuple[bool, str]:
    """A `trace` check (checks/trace.py) on a rollout result; it needs nothing from the context."""
    check = trace_check.Trace(name="t", path=path, value=value, expected=expected)
    return check.run(answer="", result=result, context=None)  # type: ignore[arg-type]


def test_a_trace_check_needs_a_known_path() -> None:
    raw = {
        "prompts": [
            {
                "id": "p",
                "text": "hi",
                "rollout": {"target": "remote", "url": "http://a"},
                "checks": [{"type": "trace", "path": "colour", "value": "x"}],
            }
        ]
    }
    with pytest.raises(config.errors.ConfigError) as caught:
        config.parse(raw=raw, environ={})
    assert caught.value.problems == (
        "prompts[0].checks[0].path must be one of last_page, last_url, last_exit_code, refused, "
        "errors, steps for a trace check",
    )


def test_the_trace_is_stored_apart_shown_escaped_and_hides_template_values(
    server: Running, rollouts: FakeRollouts
) -> None:
    """`demo` is the run's project_name: the pages show `{{project_name}}` in the trace too."""
    run_id = server.start(template_args={"project_name": "demo"})
    (rollout_id,) = rollouts.started()
    rollouts.finish(
        rollout_id,
        result={
            "messages": [{"role": "assistant", "content": "no"}],
            "trace": {
                "steps": [
                    step(
                        1,
                        name="browser_type",
                        args={"text": "demo"},
                        summary="textbox: demo",
                        screenshot="step-1.jpg",
                    ),
                    step(2, summary=HOSTILE, ok=False, error="typed demo"),
                ],
                "stopReason": "Stopped: step limit reached (2 model calls)",
                "failedStep": 2,
            },
            "files": files(step_1_jpg=JPEG),
        },
    )
    body = server.until(run_id, lambda b: b["status"] == "completed")
    page = requests.get(f"{server.url}/runs/{run_id}", timeout=10).text
    shot = requests.get(f"{server.url}/runs/{run_id}/files/step-1.jpg", timeout=10)
    missing = requests.get(f"{server.url}/runs/{run_id}/files/step-2.jpg", timeout=10)
    stored = server.db.get_trace(run_id=run_id)

    report = body["report"]
    assert "trace" not in report
    assert report["keyFinding"].endswith(f"(trace: step 2, {report['url']}#step-2)")
    assert stored is not None
    assert stored["steps"][0]["args"] == {"text": "demo"}
    assert "files" not in stored
    assert HOSTILE not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    assert "text: {{project_name}}" in page
    assert "textbox: {{project_name}}" in page
    assert "demo" not in page.split('id="trace"')[1]
    assert "typed {{project_name}}" in page
    assert '<li id="step-2" class="step step-error step-failed">' in page
    assert (shot.status_code, shot.headers["content-type"], shot.content) == (
        200,
        "image/jpeg",
        JPEG,
    )
    assert missing.status_code == 404
