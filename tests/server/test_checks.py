"""The grading checks' registry: one class per `type`, read from the config by that class."""

from __future__ import annotations

from typing import Any

import requests

from evals_action.server import checks, egress
from evals_action.server.checks import base


def _context(**template_args: str) -> base.Context:
    return base.Context(
        template_args=template_args,
        url_map={"app.example.com": "https://pr-3.preview.dev"},
        prompt_text="",
        session=requests.Session(),
        judge=None,
        guard=egress.guard(policy=egress.Policy(), named_urls=[], url_map={}),
    )


def _parse(item: dict[str, Any]) -> tuple[base.Check | None, list[str]]:
    problems: list[str] = []
    return base.parse(item=item, where="c", problems=problems), problems


def test_every_type_is_registered_in_the_order_errors_list_them() -> None:
    """Importing `checks` registers the six types; an unknown type names them in that order."""
    assert checks.base.TYPES is base.TYPES
    assert list(base.TYPES) == ["contains", "regex", "json_equals", "http", "llm_judge", "trace"]
    check, problems = _parse({"type": "xpath"})
    assert check is None
    assert problems == [
        "c.type must be one of contains, regex, json_equals, http, llm_judge, trace (got 'xpath')"
    ]


def test_a_check_is_read_by_the_class_of_its_type_with_its_own_defaults() -> None:
    """The class's `default_name` names it; keys of other types are accepted and not kept."""
    check, problems = _parse({"type": "http", "url": "http://app.example.com/", "value": "x"})
    assert problems == []
    assert type(check).__name__ == "Http"
    assert check is not None
    assert (check.name, check.url, check.required, check.weight) == (
        "GET http://app.example.com/",
        "http://app.example.com/",
        True,
        1.0,
    )
    assert not hasattr(check, "value")


def test_a_type_adds_its_own_config_problems() -> None:
    """A missing `needs` key is reported for any type; a regex also says when it cannot compile."""
    assert _parse({"type": "regex"})[1] == ["c: a regex check needs pattern"]
    assert _parse({"type": "regex", "pattern": "("})[1] == [
        "c.pattern is not a valid regular expression: missing ), unterminated subpattern"
        " at position 0"
    ]


def test_targeting_fills_template_vars_and_points_only_urls_at_the_preview() -> None:
    """`retargeted` fields get both; a regex `pattern` (`filled`) gets the template vars only."""
    http, _ = _parse(
        {
            "type": "http",
            "url": "https://app.example.com/p/{{id}}",
            "json_contains": {"n": "{{id}}"},
        }
    )
    regex, _ = _parse({"type": "regex", "pattern": "app.example.com/{{id}}"})
    assert http is not None
    assert regex is not None
    targeted = http.targeted(context=_context(id="7"))
    assert (targeted.url, targeted.template_texts()) == (
        "https://pr-3.preview.dev/p/7",
        ("https://pr-3.preview.dev/p/7", "", "{'n': '7'}"),
    )
    assert regex.targeted(context=_context(id="7")).template_texts() == ("app.example.com/7",)
    assert regex.url == ""
