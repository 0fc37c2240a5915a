"""The shared text helpers: one behaviour each (`evals_action.text`)."""

from __future__ import annotations

import pytest

from evals_action import text


@pytest.mark.parametrize(
    ("raw", "limit", "expected"),
    [
        ("a\n b\t\tc", 10, "a b c"),
        ("x" * 10, 10, "x" * 10),
        ("x" * 11, 10, "x" * 7 + "..."),
        ("word " * 5, 12, "word word..."),  # no space before the dots
        ("", 5, ""),
    ],
)
def test_one_line_folds_whitespace_and_cuts_with_dots(raw: str, limit: int, expected: str) -> None:
    """Whitespace becomes single spaces; a cut text ends in `...` within the limit."""
    assert text.one_line(raw, limit=limit) == expected
    assert len(text.one_line(raw, limit=limit)) <= limit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Sign up & create a project!", "sign-up-create-a-project"),
        ("  --Ünïcode--  ", "n-code"),
        ("a" * 39 + " b", "a" * 39),  # cut at 40, no dangling dash
        ("", ""),
    ],
)
def test_slug(raw: str, expected: str) -> None:
    """Lower-case ASCII words joined by dashes, at most 40 characters."""
    assert text.slug(raw) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0s"),
        (44.6, "45s"),
        (59.4, "59s"),
        (60, "1m00s"),
        (125, "2m05s"),
        (4500, "75m00s"),
        (-3, "0s"),
    ],
)
def test_duration_is_the_comments_format(seconds: float, expected: str) -> None:
    """Whole seconds, rounded; minutes with two-digit seconds, as the comment shows time."""
    assert text.duration(seconds) == expected


def test_compact_json_keeps_non_ascii_and_has_no_spaces() -> None:
    assert text.compact_json({"a": [1, 2], "b": "é"}) == '{"a":[1,2],"b":"é"}'


def test_template_var_finds_names_with_spaces_inside_the_braces() -> None:
    found = [m.group(1) for m in text.TEMPLATE_VAR.finditer("{{a}} {{ b.c }} {{-x}} {{ d-e }}")]
    assert found == ["a", "b.c", "d-e"]
