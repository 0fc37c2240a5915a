"""The prompts file: what it accepts, and every problem reported together."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals_action import errors
from evals_action.server import config


def test_the_bundled_example_loads() -> None:
    path = Path(config.__file__).parent.parent / "demo" / "examples" / "prompts.toml"
    settings = config.load(path=path, environ={})
    prompt = settings.prompts["create-project"]
    assert prompt.template_vars == ("project_name",)
    assert [c.type for c in prompt.checks] == ["contains", "http", "json_equals"]
    assert (settings.poll_interval_seconds, settings.long_poll_max_seconds) == (1.0, 30.0)


def test_secrets_come_from_the_named_variables_and_stay_out_of_repr() -> None:
    settings = config.parse(
        raw={
            "judge": {"base_url": "https://judge/v1/", "model": "m", "api_key_env": "J"},
            "prompts": [
                {
                    "id": "p",
                    "messages": [{"role": "user", "content": "hi"}],
                    "rollout": {
                        "target": "remote",
                        "url": "http://a",
                        "model_api_key_env": "MODEL_KEY",
                    },
                }
            ],
        },
        environ={"J": "sk-judge", "MODEL_KEY": "sk-model"},
    )
    rollout = settings.prompts["p"].rollout
    assert (rollout.model_api_key, settings.judge and settings.judge.api_key) == (
        "sk-model",
        "sk-judge",
    )
    assert "sk-" not in repr(settings)
    assert settings.judge is not None
    assert settings.judge.base_url == "https://judge/v1"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(errors.ConfigError) as caught:
        config.parse(
            raw={
                "server": {"poll_interval_seconds": 0},
                "prompts": [
                    {"id": "a", "text": "Make {{thing}}", "rollout": {"target": "ftp"}},
                    {
                        "id": "b",
                        "text": "x",
                        "messages": [],
                        "rollout": {"target": "remote"},
                        "checks": [
                            {"type": "regex", "pattern": "("},
                            {"type": "nope"},
                            {"type": "llm_judge", "criteria": "ok", "colour": "red"},
                        ],
                    },
                    {
                        "id": "b",
                        "text": "y",
                        "rollout": {
                            "target": "github-workflow",
                            "workflow_repo": "o/r",
                            "workflow": "w.yml",
                        },
                    },
                ],
            },
            environ={},
        )
    assert caught.value.exit_code == 2
    assert caught.value.problems == (
        "prompts[0].rollout.target must be one of remote, github-workflow (got 'ftp')",
        "prompts[0]: template vars used but not declared: thing",
        "prompts[1] needs exactly one of text or messages",
        "prompts[1].rollout.url is required and must be a non-empty string",
        "prompts[1].checks[0].pattern is not a valid regular expression: "
        "missing ), unterminated subpattern at position 0",
        "prompts[1].checks[1].type must be one of contains, regex, json_equals, http, llm_judge, "
        "trace (got 'nope')",
        "prompts[1].checks[2]: unknown keys colour",
        "prompts[2]: duplicate prompt id 'b'",
        "server.poll_interval_seconds must be a positive number (got 0)",
    )


def test_undeclared_template_vars_and_a_judge_check_without_a_judge_are_errors() -> None:
    with pytest.raises(errors.ConfigError) as caught:
        config.parse(
            raw={
                "prompts": [
                    {
                        "id": "p",
                        "text": "Make {{thing}} for {{ owner }}",
                        "template_vars": ["owner"],
                        "rollout": {"target": "remote", "url": "http://a"},
                        "checks": [{"type": "llm_judge", "criteria": "{{colour}}"}],
                    }
                ]
            },
            environ={},
        )
    assert caught.value.problems == (
        "prompts[0]: template vars used but not declared: colour, thing",
        "an llm_judge check needs a [judge] table (base_url, model)",
    )


def test_unreadable_and_invalid_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigError, match="cannot read config"):
        config.load(path=tmp_path / "missing.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[[prompts]\n", encoding="utf-8")
    with pytest.raises(errors.ConfigError, match="is not valid TOML"):
        config.load(path=bad, environ={})
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(errors.ConfigError, match=r"at least one \[\[prompts\]\] table"):
        config.load(path=empty, environ={})


def test_a_misspelt_table_or_key_is_an_error_not_a_silent_default() -> None:
    """`[githb]` would switch the server's GitHub reports off without a word, and
    `poll_interval_secnds` would leave the default: each is named, with what is known."""
    raw = {
        "githb": {"token_env": "X"},
        "server": {"poll_interval_secnds": 1},
        "pages": {"show_template_value": True},
        "judge": {"base_url": "https://j.example", "model": "m", "api_key": "inline"},
        "prompts": [
            {
                "id": "p",
                "text": "Open http://app.example.com.",
                "rollout": {"target": "remote", "url": "http://127.0.0.1:9"},
            }
        ],
    }
    with pytest.raises(errors.ConfigError) as caught:
        config.parse(raw=raw, environ={})
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == ["config", "[server]", "[judge]", "[pages]"]
    assert "unknown keys githb (known: fetch, github, judge," in problems[0]
    assert "unknown keys poll_interval_secnds" in problems[1]
    assert "unknown keys api_key (known: api_key_env," in problems[2]
    assert "inline" not in str(caught.value)  # a value is never shown, only the key
    assert "unknown keys show_template_value" in problems[3]
