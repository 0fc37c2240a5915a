"""workflow.Runner: GITHUB_OUTPUT format, summary, annotations, and redaction of secrets."""

from __future__ import annotations

import io
import pathlib
import re

from evals_action import workflow


def parse_outputs(text: str) -> dict[str, str]:
    """Parse GITHUB_OUTPUT the way the runner does (name<<DELIM ... DELIM)."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines) - 1:
        name, delim = lines[i].split("<<", 1)
        end = lines.index(delim, i + 1)
        values[name] = "\n".join(lines[i + 1 : end])
        i = end + 1
    return values


def test_outputs_use_random_delimiters_and_survive_any_value(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "out"
    runner = workflow.Runner(output_path=str(out))
    tricky = "line1\nEOF\nname<<x\n"
    runner.set_outputs({"report-json": tricky, "score": "87", "grade": None})
    text = out.read_text()
    assert parse_outputs(text) == {"report-json": tricky, "score": "87", "grade": ""}
    delims = re.findall(r"<<(ghadelimiter_[0-9a-f]{32})", text)
    assert len(set(delims)) == 3


def test_secrets_are_redacted_everywhere(tmp_path: pathlib.Path) -> None:
    out, summary, log = tmp_path / "out", tmp_path / "summary", io.StringIO()
    runner = workflow.Runner(
        output_path=str(out),
        summary_path=str(summary),
        actions=True,
        stdout=log,
        secret_values=["sk-live-123"],
    )
    runner.set_outputs({"failure-reason": "bad key sk-live-123"})
    runner.write_summary("key: sk-live-123")
    runner.annotate("error", "auth failed for sk-live-123")
    runner.info("progress sk-live-123")
    for text in (out.read_text(), summary.read_text(), log.getvalue()):
        assert "sk-live-123" not in text
        assert "***" in text


def test_mask_is_sent_per_line_and_escaped() -> None:
    log = io.StringIO()
    runner = workflow.Runner(actions=True, stdout=log)
    runner.add_secret("line-one\nline%two")
    assert log.getvalue() == "::add-mask::line-one\n::add-mask::line%25two\n"


def test_annotations_in_actions_and_plain_text_outside() -> None:
    log = io.StringIO()
    workflow.Runner(actions=True, stdout=log).annotate("warning", "a\nb: c")
    assert log.getvalue() == "::warning title=evals-action::a%0Ab: c\n"
    log = io.StringIO()
    workflow.Runner(actions=False, stdout=log).annotate("error", "boom")
    assert log.getvalue() == "error: boom\n"


def test_summary_appends(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "summary"
    path.write_text("earlier step\n")
    workflow.Runner(summary_path=str(path)).write_summary("### ours")
    assert path.read_text() == "earlier step\n### ours\n"


def test_server_text_cannot_forge_workflow_commands() -> None:
    log = io.StringIO()
    runner = workflow.Runner(actions=True, stdout=log)
    runner.info("Eval run r1 started: Sign up\n::error title=pwned::forged\n  ::stop-commands::x")
    lines = log.getvalue().splitlines()
    assert lines[0] == "Eval run r1 started: Sign up"
    assert not any(line.lstrip().startswith("::") for line in lines)
    runner.annotate("warning", "real")
    assert log.getvalue().endswith("::warning title=evals-action::real\n")
