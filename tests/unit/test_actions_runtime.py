"""actions_runtime.StepIO: GITHUB_OUTPUT format, summary, annotations, and redaction of secrets."""

from __future__ import annotations

import io
import pathlib
import re

import pytest

from evals_action import actions_runtime


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
    runner = actions_runtime.StepIO(output_path=str(out))
    tricky = "line1\nEOF\nname<<x\n"
    runner.set_outputs({"report-json": tricky, "score": "87", "grade": None})
    text = out.read_text()
    assert parse_outputs(text) == {"report-json": tricky, "score": "87", "grade": ""}
    delims = re.findall(r"<<(ghadelimiter_[0-9a-f]{32})", text)
    assert len(set(delims)) == 3


def test_secrets_are_redacted_everywhere(tmp_path: pathlib.Path) -> None:
    out, summary, log = tmp_path / "out", tmp_path / "summary", io.StringIO()
    runner = actions_runtime.StepIO(
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
    runner = actions_runtime.StepIO(actions=True, stdout=log)
    runner.add_secret("line-one\nline%two")
    assert log.getvalue() == "::add-mask::line-one\n::add-mask::line%25two\n"


def test_annotations_in_actions_and_plain_text_outside() -> None:
    log = io.StringIO()
    actions_runtime.StepIO(actions=True, stdout=log).annotate("warning", "a\nb: c")
    assert log.getvalue() == "::warning title=evals-action::a%0Ab: c\n"
    log = io.StringIO()
    actions_runtime.StepIO(actions=False, stdout=log).annotate("error", "boom")
    assert log.getvalue() == "error: boom\n"


def test_summary_appends(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "summary"
    path.write_text("earlier step\n")
    actions_runtime.StepIO(summary_path=str(path)).write_summary("### ours")
    assert path.read_text() == "earlier step\n### ours\n"


def test_server_text_cannot_forge_workflow_commands() -> None:
    log = io.StringIO()
    runner = actions_runtime.StepIO(actions=True, stdout=log)
    runner.info("Eval run r1 started: Sign up\n::error title=pwned::forged\n  ::stop-commands::x")
    lines = log.getvalue().splitlines()
    assert lines[0] == "Eval run r1 started: Sign up"
    assert not any(line.lstrip().startswith("::") for line in lines)
    runner.annotate("warning", "real")
    assert log.getvalue().endswith("::warning title=evals-action::real\n")


RUNNER_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # .NET StreamReader.ReadLine, as the runner reads


@pytest.mark.parametrize("actions", [True, False])
@pytest.mark.parametrize("brk", ["\r", "\r\n", "\n", "\u2028", "\x0b", "\x85"])
def test_no_line_break_the_runner_honours_lets_server_text_start_a_command(
    brk: str, actions: bool
) -> None:
    """A bare `\\r` ends a line for the runner too: it is a line break like `\\n` here, so the
    line after it is defused; `--local` and `--dry-run` defuse as well (they may run in CI)."""
    log = io.StringIO()
    runner = actions_runtime.StepIO(actions=actions, stdout=log)
    runner.info(f"title{brk}::stop-commands::tok{brk}  ::error::forged")
    runner.annotate("error", f"reason{brk}::warning::forged")
    runner.group(f"group{brk}::add-mask::x")
    lines = RUNNER_LINE_BREAK.split(log.getvalue())
    commands = [line for line in lines if line.lstrip().startswith("::")]
    if actions:
        assert [c.split("::")[1] for c in commands] == ["error title=evals-action", "group"]
    else:
        assert commands == []
    assert "title" in lines
    assert "\r" not in log.getvalue()


def test_a_legacy_command_anywhere_in_a_line_is_defused() -> None:
    """The runner also runs `##[command]` found anywhere in a line (its v1 parser)."""
    log = io.StringIO()
    actions_runtime.StepIO(actions=True, stdout=log).info("Sign up ##[stop-commands]tok ##[error]x")
    assert "##[" not in log.getvalue()
    assert log.getvalue() == "Sign up #\u200b#[stop-commands]tok #\u200b#[error]x\n"


def test_the_summary_is_redacted_after_markdown_escaping(tmp_path: pathlib.Path) -> None:
    """The summary is rendered Markdown: the key appears escaped (`\\_`, `\\*`) and still goes."""
    summary = tmp_path / "summary"
    runner = actions_runtime.StepIO(
        summary_path=str(summary), secret_values=["sk_live_*key*_12345"]
    )
    runner.write_summary("### 2027 // key sk\\_live\\_\\*key\\*\\_12345 — Eval failed")
    assert summary.read_text() == "### 2027 // key *** — Eval failed\n"
