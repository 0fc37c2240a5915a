"""suite_comment: the shared suite comment, its golden layouts, and its sections read back.

Regenerate after an intended change with `UPDATE_GOLDEN=1 pytest tests/unit/test_suite_comment.py`
and read the diff before committing it.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re

import pytest

from evals_action import redaction, render, suite_comment, suite_model, suite_sections
from tests.unit import suite_fixtures as fx

GOLDEN = pathlib.Path(__file__).parent / "golden"
SUITES = {
    "passing": fx.passing,
    "mixed": fx.mixed,
    "budget": fx.budget,
    "hostile": fx.hostile,
}


@pytest.mark.parametrize("name", sorted(SUITES))
def test_suite_comment_matches_golden(name: str) -> None:
    """Every layout (all passing, mixed, budget reached, hostile titles), exactly."""
    body = suite_comment.render(SUITES[name]())
    path = GOLDEN / f"suite-{name}.md"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(body, encoding="utf-8")
    assert body == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(SUITES))
def test_sections_read_back_exactly(name: str) -> None:
    """`parse` returns exactly the sections the suite rendered, and nothing forged."""
    suite = SUITES[name]()
    written = suite_comment.sections(suite)
    assert suite_sections.parse(suite_comment.render(suite)) == written
    assert [s.prompt_id for s in written] == [p.prompt_id for p in suite.prompts]


def test_hostile_text_cannot_forge_markers_or_markup() -> None:
    """Server and input text stays text: no marker line, no HTML, no mention, no broken table."""
    body = suite_comment.render(fx.hostile())
    lines = body.split("\n")
    assert lines[0] == suite_comment.marker("Evals --> <b>/eval")
    assert "-->" not in lines[0][: -len(" -->")]
    markers = [line for line in lines if line.startswith("<!--")]
    assert len(markers) == 1 + 3  # the comment marker, one section's open, row and close
    assert "<img" not in body
    assert "<script" not in body
    assert "<b>" not in body
    assert "@octocat" not in body
    assert "@admin" not in body
    assert "@team" not in body
    assert "[x](javascript" not in body  # brackets escaped: shown as text, never a link
    rows = [line for line in lines if line.startswith("| ")]
    assert {len(line.replace("\\|", "").split(" | ")) for line in rows} == {6}


def test_summary_row_cells() -> None:
    """Pass rate as passes/completed, mean with its change against the baseline, runs, cost."""
    row = suite_sections.parse(suite_comment.render(fx.mixed()))[0].row
    assert (
        row == "| Sign up and create a project | 2/3 passed (0.21–0.94) | 64 ▼ −24 vs 88 (10 runs) "
        "| regressed | 4 | $0.36 |"
    )
    rows = [s.row for s in suite_sections.parse(suite_comment.render(fx.passing()))]
    assert (
        rows[1] == "| Check out with a coupon | 3/3 passed (0.44–1.00) | 75 vs 75 (10 runs) "
        "| unchanged | 3 | $0.60 |"
    )
    assert rows[2] == (
        "| Invite a teammate | 1/1 passed (0.21–1.00) | 100 | no-baseline | 1 | $0.12 |"
    )


def test_budget_line_names_started_and_planned_runs() -> None:
    """With budget_exhausted: "Budget reached after N of M runs"."""
    body = suite_comment.render(fx.budget())
    assert "Budget reached after 3 of 6 runs" in body
    assert "Budget reached" not in suite_comment.render(fx.passing())


def _other_writer() -> list[suite_sections.Section]:
    other = fx.suite(
        fx.prompt("deploy", "Deploy a preview", [fx.completed("deploy", 1, score=70)]),
        suite_id="suite-2",
    )
    return suite_comment.sections(other)


def test_merge_replaces_only_own_sections_and_table_covers_all() -> None:
    """Another writer's sections stay as they are; ours replace our prompts' sections."""
    first = suite_comment.sections(fx.mixed())
    body = suite_comment.compose(comment_key="k", sections=first + _other_writer())
    ours = suite_comment.sections(fx.passing())
    merged = suite_sections.merge(suite_sections.parse(body), ours, head_sha=_never)
    assert [s.prompt_id for s in merged] == ["signup", "checkout", "invite", "deploy"]
    assert merged[:3] == ours
    assert merged[3] == _other_writer()[0]
    composed = suite_comment.compose(comment_key="k", sections=merged)
    table = composed.split("\n\n")[1].split("\n")
    assert table[2:] == [s.row for s in merged]


def _never() -> str | None:
    raise AssertionError("the head commit was asked for without a conflict")


def test_merge_never_overwrites_the_head_commits_section() -> None:
    """A writer for an older commit keeps the head's section; the head's writer replaces any."""
    head, old = "a" * 40, "b" * 40
    on_head = suite_comment.sections(fx.suite(*fx.passing().prompts, sha=head))
    stale = suite_comment.sections(fx.suite(*fx.mixed().prompts, sha=old))
    kept = suite_sections.merge(on_head, stale, head_sha=lambda: head)
    assert kept[:3] == on_head
    assert kept[3:] == []
    assert suite_sections.merge(stale, on_head, head_sha=lambda: head) == on_head
    older = suite_comment.sections(fx.suite(*fx.passing().prompts, sha="c" * 40))
    assert suite_sections.merge(older, stale, head_sha=lambda: head) == stale


def test_merge_is_idempotent() -> None:
    """Merging our sections into a body that has them changes nothing (the writer's check)."""
    ours = suite_comment.sections(fx.mixed())
    body = suite_comment.compose(comment_key="k", sections=_other_writer() + ours)
    parsed = suite_sections.parse(body)
    assert suite_sections.merge(parsed, ours, head_sha=_never) == parsed


def test_oversized_comment_cuts_runs_never_table_rows() -> None:
    """Over 65,536 characters: runs are cut from the largest sections, with a note."""
    long_reason = "x" * 900
    prompts = [
        fx.prompt(
            f"p{i}",
            f"Prompt {i}",
            [fx.failed(f"p{i}", n, f"{long_reason} {n}") for n in range(1, 51)],
            verdict="not-run",
        )
        for i in range(3)
    ]
    suite = fx.suite(*prompts)
    body = suite_comment.render(suite)
    assert len(body) <= render.BODY_LIMIT
    assert (
        len(suite_comment.compose(comment_key="k", sections=suite_comment.sections(suite)))
        <= render.BODY_LIMIT
    )
    sections = suite_sections.parse(body)
    assert [s.row for s in sections] == [s.row for s in suite_comment.sections(suite)]
    for section in sections:
        shown = len(re.findall(r"^\| \d+ \| ", section.details, flags=re.M))
        notes = re.findall(r"_(\d+) more runs not shown", section.details)
        assert len(notes) == 1
        assert int(notes[0]) + shown == 50
    assert all(line in body for line in (s.row for s in sections))
    full = sum(len(s.text) for s in suite_comment.sections(suite))
    assert full > render.BODY_LIMIT  # the case really needed cutting


def test_is_ours_needs_the_marker_as_first_line() -> None:
    body = suite_comment.render(fx.passing())
    assert suite_comment.is_ours(body, comment_key="Evals/eval")
    assert not suite_comment.is_ours("quote:\n" + body, comment_key="Evals/eval")
    assert not suite_comment.is_ours(body, comment_key="Evals/other")


def test_sections_keep_prompt_ids_with_any_characters() -> None:
    """Prompt ids are percent-encoded in the section marker and read back unchanged."""
    odd = fx.prompt("a b/c -->%", "t", [fx.completed("x", 1, score=1)])
    sections = suite_comment.sections(fx.suite(odd))
    assert suite_sections.parse(suite_comment.render(fx.suite(odd)))[0].prompt_id == "a b/c -->%"
    assert sections[0].text.split("\n")[0].count("-->") == 1


def test_parse_ignores_broken_sections() -> None:
    """An unclosed section, or one without its row line, is not a section."""
    good = suite_comment.sections(fx.passing())[0]
    unclosed = good.text.removesuffix(suite_sections.SECTION_CLOSE)
    rowless = "\n".join(line for line in good.text.split("\n") if "eval-row" not in line)
    assert suite_sections.parse(unclosed + "\n" + rowless) == []
    assert suite_sections.parse(unclosed + "\n" + good.text) == [good]


def test_verdict_cell_is_the_prompt_verdict() -> None:
    p = dataclasses.replace(fx.passing().prompts[0], verdict=suite_model.REGRESSED)
    assert " | regressed | " in suite_comment.sections(fx.suite(p))[0].row


def test_secrets_are_redacted_whole_and_cut() -> None:
    """A secret echoed in a title (cut at 100 characters) or a reason never reaches the body."""
    secret = "evk_SuperSecretKey123"
    secrets = redaction.Secrets([secret])
    title = "x" * 90 + " " + secret
    attempts = [fx.failed("p", 1, f"bad key {secret}"), fx.completed("p", 2, score=5)]
    suite = fx.suite(fx.prompt("p", title, attempts))
    body = suite_comment.render(suite, redact=secrets.redact)
    assert render.md(secret) not in body
    assert render.md(secret[:6]) not in body  # nor the start the title's cut would leave
    assert "bad key ***" in body
    plain = suite_comment.render(suite)
    assert render.md(secret) in plain  # the case really carries it
    assert render.md(secret[:6]) + "..." in plain  # the title's cut leaves a start of it
