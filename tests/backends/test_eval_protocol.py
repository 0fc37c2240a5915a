"""Pure pieces both rollout backends share: prompt, targeting, ids, status codes, results."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable

import pytest
import requests

from evals_action import errors, models, settings
from evals_action.backends import rollout_settings
from evals_action.eval_protocol import init, prompts, remote_client, results, states

from .conftest import TARGET


@pytest.mark.parametrize(
    ("code", "status", "terminal", "outcome"),
    [
        (None, models.RUNNING, False, None),
        (101, models.RUNNING, False, None),
        (100, models.COMPLETED, True, "succeeded"),
        (0, models.COMPLETED, True, "succeeded"),
        (4, models.TIMED_OUT, True, None),
        (102, models.COMPLETED, True, "score_invalid"),
        (103, models.COMPLETED, True, "response_quality_error"),
        *[(c, models.FAILED, True, None) for c in range(1, 17) if c != 4],
        (500, models.FAILED, True, None),
    ],
)
def test_status_code_table(
    code: int | None, status: str, terminal: bool, outcome: str | None
) -> None:
    """Eval Protocol codes map as in the contract; failures keep the agent's message."""
    state = states.state_from_status(code=code, message="msg")
    assert (state.status, state.terminal) == (status, terminal)
    run = results.run_from_state(state=state, run_id="r", run_url="u")
    assert (run.report.outcome if run.report else None) == outcome
    if status in (models.FAILED, models.TIMED_OUT):
        assert run.failure_reason == "msg"
    if code in (102, 103):
        assert run.report is not None
        assert run.report.what_didnt == "msg"  # the DNF reason


def test_failed_without_message_names_the_code() -> None:
    assert states.state_from_status(code=7, message=None).message == (
        "The rollout failed with status code 7"
    )


def test_result_becomes_an_evals_api_report() -> None:
    """Same Report the evals API would give; raw is evals-API shaped for report-json."""
    report = results.report_from_result(
        {
            "schema": 1,
            "outcome": "goal_not_met",
            "score": 12,
            "grade": "F",
            "summary": "gave up",
            "report_url": "https://r.example/1",
            "metrics": {"timeSeconds": 3, "costUsd": 0.5, "errors": 2, "interruptions": 0},
            "messages": [{"role": "assistant", "content": "bye"}],
        }
    )
    assert report == models.Report(
        url="https://r.example/1",
        score=12.0,
        grade="F",
        outcome="goal_not_met",
        what_didnt="gave up",
        metrics=models.Metrics(time_seconds=3.0, cost_usd=0.5, errors=2, interruptions=0),
        raw={
            "outcome": "goal_not_met",
            "score": 12,
            "grade": "F",
            "url": "https://r.example/1",
            "summary": {"whatDidnt": "gave up"},
            "metrics": {"timeSeconds": 3, "costUsd": 0.5, "errors": 2, "interruptions": 0},
        },
    )


def test_finished_result_with_only_metrics_still_succeeded() -> None:
    state = states.RolloutState(
        terminal=True, status=models.COMPLETED, result={"metrics": {"errors": 0}}
    )
    run = results.run_from_state(state=state, run_id="r", run_url="u")
    assert run.report is not None
    assert (run.report.outcome, run.report.metrics) == ("succeeded", models.Metrics(errors=0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Go to https://shop.example.com/a", "Go to https://pr-1.preview.dev:8443/a"),
        ("shop.example.com.", "pr-1.preview.dev:8443."),
        ("api.shop.example.com stays", "api.shop.example.com stays"),
        ("myshop.example.com stays", "myshop.example.com stays"),
        ("shop.example.com.evil.io stays", "shop.example.com.evil.io stays"),
        ("Hi {{ name }} and {{name}}, {{unknown}}", "Hi Ann and Ann, {{unknown}}"),
        ("count {{n}}", "count 3"),
    ],
)
def test_preview_targeting(text: str, expected: str) -> None:
    """Whole hosts only; template vars with or without spaces; unknown names left alone."""
    out = prompts.target_messages(
        messages=[{"role": "user", "content": text}],
        template_args={"name": "Ann", "n": 3},
        url_map={"shop.example.com": "https://pr-1.preview.dev:8443/ignored/path"},
    )
    assert out == [{"role": "user", "content": expected}]


def test_targeting_content_parts_and_prompt_text() -> None:
    """OpenAI-style content parts are templated too; prompt text is the user messages."""
    messages = prompts.target_messages(
        messages=[
            {"role": "system", "content": "sys"},
            {"role": "user", "content": [{"type": "text", "text": "a {{x}}"}, {"type": "image"}]},
        ],
        template_args={"x": "b"},
        url_map={},
    )
    assert messages[1]["content"] == [{"type": "text", "text": "a b"}, {"type": "image"}]
    assert prompts.prompt_text(messages) == "a b"


def test_prompt_file_problems_are_config_errors(
    tmp_path: pathlib.Path, make_settings: Callable[..., settings.Settings]
) -> None:
    """Missing file, bad JSON, no messages, no model: exit-2 config errors, listed together."""
    missing = make_settings(backend="remote", rollout_url="http://127.0.0.1:1", prompt_file="nope")
    with pytest.raises(errors.ConfigError, match="was not found"):
        rollout_settings.load_prompt(rollout=missing.rollout)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    config = make_settings(backend="remote", rollout_url="http://127.0.0.1:1", prompt_file=str(bad))
    with pytest.raises(errors.ConfigError, match="must be valid JSON"):
        rollout_settings.load_prompt(rollout=config.rollout)
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"messages": [], "completion_params": {}}))
    config = make_settings(
        backend="remote", rollout_url="http://127.0.0.1:1", prompt_file=str(empty)
    )
    with pytest.raises(errors.ConfigError) as caught:
        rollout_settings.load_prompt(rollout=config.rollout)
    assert len(caught.value.problems) == 2
    assert caught.value.exit_code == 2


def test_completion_params_input_overrides_the_file(
    make_settings: Callable[..., settings.Settings],
) -> None:
    config = make_settings(
        backend="remote",
        rollout_url="http://127.0.0.1:1",
        completion_params='{"temperature": 0.7, "max_tokens": 9}',
    )
    prompt = rollout_settings.load_prompt(rollout=config.rollout)
    assert prompt.completion_params == {
        "model": "accounts/fw/models/base",
        "temperature": 0.7,
        "max_tokens": 9,
    }


def test_correlation_ids_outside_actions(make_settings: Callable[..., settings.Settings]) -> None:
    """No GITHUB_RUN_ID and no PR: random ids; rollout_id and run_id always fresh."""
    config = make_settings(
        backend="remote", rollout_url="http://127.0.0.1:1", GITHUB_RUN_ID="", GITHUB_REPOSITORY=""
    )
    counter = iter(range(100))
    ids = rollout_settings.correlation(
        settings_=config,
        target=models.Target(sha=None, pr_number=None, repository=None),
        make_id=lambda: f"id{next(counter)}",
    )
    assert ids == init.Correlation(
        invocation_id="local-id0",
        experiment_id="id1",
        rollout_id="id2",
        run_id="id3",
        row_id="prompt-123",
    )
    inside = rollout_settings.correlation(settings_=make_settings(), target=TARGET)
    assert (inside.invocation_id, inside.experiment_id) == ("gh-777-2", "octo/shop#12")


def test_redact_handles_json_escaped_secrets() -> None:
    secret = 'ab"c\\d-1234567'
    text = json.dumps({"api_key": secret}) + " " + secret
    client = remote_client.RemoteRolloutClient(
        session=requests.Session(), rollout_url="http://127.0.0.1:1", tracing_api_key=secret
    )
    assert client.redact(text) == '{"api_key": "***"} ***'


def test_shell_safe_json_parses_back_and_holds_no_shell_character() -> None:
    """Every string character outside the safe set is `\\uXXXX` (surrogate pairs above U+FFFF)."""
    value = {
        "it's": ["$(id)", "`id`", "a\\b", 'say "hi"', "é😀\x00\n\t", "<&>!;|*?"],
        "n": [1, -2.5e10, None, True, False],
        "url": "https://pr-12.preview.dev/cart?a=1&b=2",
    }
    text = init.shell_safe_json(value)
    assert json.loads(text) == value
    assert not set(text) & set("'`$!<>&;|*?\n\t\x00")
    assert text.isascii()
    assert '"https://pr-12.preview.dev/cart\\u003fa=1\\u0026b=2"' in text
    assert "\\ud83d\\ude00" in text


def test_a_report_turns_back_into_the_result_it_was_made_from() -> None:
    """`result_from_report` undoes `report_from_result` for every field a report carries."""
    result = {
        "outcome": "goal_not_met",
        "score": 12,
        "grade": "F",
        "summary": "gave up",
        "report_url": "https://r.example/1",
        "metrics": {"timeSeconds": 3, "costUsd": 0.5, "custom": "kept"},
    }
    report = results.report_from_result({**result, "schema": 1, "messages": []})
    assert report is not None
    assert results.result_from_report(report) == result


def test_a_finished_rollout_without_a_verdict_reads_back_as_succeeded() -> None:
    """What the server's workflow rollouts see: the verdict the action's backend would show."""
    state = states.RolloutState(terminal=True, status=models.COMPLETED, result=None)
    run = results.run_from_state(state=state, run_id="r", run_url="u")
    assert run.report is not None
    assert results.result_from_report(run.report) == {"outcome": "succeeded"}
