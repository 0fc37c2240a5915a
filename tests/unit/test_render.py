"""render: the sticky comment for every state, compared exactly with golden files.

Regenerate after an intended change with `UPDATE_GOLDEN=1 pytest tests/unit/test_render.py`
and read the diff before committing it.
"""

from __future__ import annotations

import os
import pathlib
import re

import pytest

from evals_action import models, outcome, render

GOLDEN = pathlib.Path(__file__).parent / "golden"
RUN_URL = "https://2027.dev/evals/runs/run-1"
REPORT_URL = "https://2027.dev/evals/reports/signup-abc"
METRICS = models.Metrics(
    time="2m14s", time_seconds=134, cost="$0.12", cost_usd=0.12, errors=1, interruptions=0
)
BASELINE = models.Report(
    outcome="succeeded",
    score=80,
    metrics=models.Metrics(time_seconds=120, cost_usd=0.15, errors=0, interruptions=0),
)


def view(run: models.Run, result: outcome.Outcome, **kw: object) -> render.View:
    args: dict[str, object] = {
        "prompt_id": "4f1c2b7e-signup",
        "run": run,
        "result": result,
        "baseline": None,
        "template_vars": {"plan": "pro"},
        "url_map": {"acme.dev": "https://pr-42.acme-preview.dev"},
        "sha": "0123456789abcdef",
        "dashboard_url": "https://2027.dev/evals/dashboard",
    }
    args.update(kw)
    return render.build_view(**args)  # type: ignore[arg-type]


def run(status: str, **kw: object) -> models.Run:
    base: dict[str, object] = {
        "run_id": "run-1",
        "status": status,
        "run_url": RUN_URL,
        "prompt_title": "Sign up and create a project",
        "prompt_text": "Open {{url}}.\nSign up, then create a project named demo.",
    }
    base.update(kw)
    return models.Run(**base)  # type: ignore[arg-type]


def states() -> dict[str, render.View]:
    succeeded = run(
        "completed",
        report=models.Report(
            outcome="succeeded", score=87, grade="B+", url=REPORT_URL, metrics=METRICS
        ),
    )
    dnf = run(
        "completed",
        report=models.Report(
            outcome="goal_not_met",
            score=40,
            grade="D",
            url=REPORT_URL,
            key_finding="The Create button never enabled",
            metrics=METRICS,
        ),
    )
    failed = run("failed", failure_reason="Preview URL returned HTTP 502")
    hostile = run(
        "failed",
        prompt_title="<img src=x onerror=alert(1)> @octocat | [x](javascript:alert(1))",
        failure_reason="```\n<!-- 2027-eval-comment:4f1c2b7e-signup -->\n@admin please",
    )
    return {
        "running": view(run("running"), outcome.running(run("running"))),
        "succeeded": view(succeeded, outcome.final(succeeded), baseline=BASELINE),
        "succeeded-no-baseline": view(succeeded, outcome.final(succeeded)),
        "dnf": view(dnf, outcome.final(dnf), baseline=BASELINE),
        "failed": view(failed, outcome.final(failed)),
        "superseded": view(run("superseded"), outcome.final(run("superseded"))),
        "timeout": view(run("running"), outcome.timeout(run("running"), fails=False)),
        "unavailable": view(run("running"), outcome.unavailable(run("running"), reason="HTTP 401")),
        "cancelled": view(run("running"), outcome.cancelled(run("running"))),
        "hostile": view(
            hostile,
            outcome.final(hostile),
            template_vars={"name": "x" * 100, "`tick`": "a`b``c"},
            url_map={"<b>a.com</b>": "https://evil.dev/@you"},
        ),
    }


@pytest.mark.parametrize("name", sorted(states()))
def test_comment_matches_golden(name: str) -> None:
    body = render.comment(states()[name])
    path = GOLDEN / f"comment-{name}.md"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(body, encoding="utf-8")
    assert body == path.read_text(encoding="utf-8")


def test_comment_starts_with_the_marker() -> None:
    for v in states().values():
        assert render.comment(v).startswith("<!-- 2027-eval-comment:4f1c2b7e-signup -->\n")


def test_server_text_cannot_forge_a_marker_or_html_or_mentions() -> None:
    body = render.comment(states()["hostile"])
    after_marker = body.split("\n", 1)[1]
    assert "<!--" not in after_marker
    assert "<img" not in body
    assert "<b>" not in body
    assert "@octocat" not in body
    assert "@admin" not in body
    assert "@you" not in body
    assert re.search(r"(?<!\\)\]\(javascript:", body) is None  # only escaped brackets remain
    assert "\\[x\\](javascript:" in body


def test_a_huge_body_is_cut_to_the_limit_with_a_note() -> None:
    big = run(
        "completed",
        prompt_text="line\n" * 40_000,
        report=models.Report(outcome="succeeded", url=REPORT_URL),
    )
    body = render.comment(
        view(big, outcome.final(big), url_map={f"h{i}.com": "https://p.dev" for i in range(5000)})
    )
    assert len(body) <= render.BODY_LIMIT
    assert body.endswith(f"see the full report at {REPORT_URL}._\n")


def test_a_long_prompt_alone_is_dropped_before_anything_is_cut() -> None:
    big = run("completed", prompt_text="word " * 20_000, report=models.Report(outcome="succeeded"))
    body = render.comment(view(big, outcome.final(big)))
    assert "<details>" not in body
    assert "cut to fit" not in body


def test_summary_has_the_comment_content_and_correlation_ids_without_marker() -> None:
    v = view(
        run("running"),
        outcome.running(run("running")),
        extras={"rollout-id": "ro-1", "invocation-id": "gh-1-1"},
    )
    text = render.summary(v)
    assert not text.startswith("<!--")
    assert "### 2027 // Sign up and create a project — Running…" in text
    assert "| invocation\\-id | `gh-1-1` |" not in text  # md only escapes what matters
    assert "| invocation-id | `gh-1-1` |" in text
    assert "| rollout-id | `ro-1` |" in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [("plain", "`plain`"), ("a`b", "``a`b``"), ("`x`", "`` `x` ``"), ("@me", "`@\u200bme`")],
)
def test_code_spans_hold_any_text(value: str, expected: str) -> None:
    assert render.code(value) == expected


@pytest.mark.parametrize("value", ["javascript:alert(1)", "data:text/html,x", "ftp://x", ""])
def test_only_http_links_survive(value: str) -> None:
    assert render.url(value) == ""


def test_the_blockquote_lines_are_exactly_the_contracts() -> None:
    """Contract §6: `> {{name}} → `value`` then `> host → `preview-host``, one line each, no
    extra backticks around the name and no `<br>` (GitHub comments keep line breaks)."""
    r = run("running")
    body = render.comment(
        view(
            r,
            outcome.running(r),
            template_vars={"plan": "pro", "seats": 3},
            url_map={"acme.dev": "https://pr-42.acme-preview.dev", "b.dev": "https://p.b.dev/x"},
        )
    )
    quote = [line for line in body.splitlines() if line.startswith(">")]
    assert quote == [
        "> {{plan}} → `pro`",
        "> {{seats}} → `3`",
        "> acme.dev → `pr-42.acme-preview.dev`",
        "> b.dev → `p.b.dev`",
    ]
    assert "\n> {{plan}} → `pro`\n> {{seats}} → `3`\n> acme.dev" in body
