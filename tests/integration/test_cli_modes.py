"""`--dry-run`, `--local`, bad input and `--help`, through the real CLI."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from tests.fakes.evals import DEFAULT_API_KEY, FakeEvals
from tests.fakes.github import FakeGitHub
from tests.integration.helpers import (
    PR,
    assert_no_secrets,
    environment,
    no_traceback,
    run_cli,
    seed,
)


def test_dry_run_sends_nothing_and_writes_nothing(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    result = run_cli(environment(tmp_path, fake_github, fake_evals), "--dry-run")
    no_traceback(result)
    assert result.code == 0, result.log
    assert fake_evals.requests == []
    assert all(r.method == "GET" for r in fake_github.requests)
    assert f"Pull request: #{PR}" in result.stdout
    assert "Request: POST " in result.stdout
    assert "/api/v1/prompts/4f1c2b7e-signup/run" in result.stdout
    assert '"urlMap"' in result.stdout
    assert "<!-- 2027-eval-comment:4f1c2b7e-signup -->" in result.stdout
    assert "Status (first): pending" in result.stdout
    assert result.outputs == {}
    assert_no_secrets(result, DEFAULT_API_KEY, fake_github.token)


def test_dry_run_needs_no_github_at_all_with_overrides(
    tmp_path: pathlib.Path, fake_evals: FakeEvals
) -> None:
    env = environment(
        tmp_path,
        None,
        fake_evals,
        payload={},
        event_name="",
        EVALS_PR_NUMBER="5",
        EVALS_SHA="abcdef1234567",
        GITHUB_EVENT_PATH=None,
    )
    result = run_cli(env, "--dry-run")
    assert result.code == 0, result.log
    assert "Pull request: #5" in result.stdout


def test_local_runs_the_eval_and_prints_without_touching_github(
    tmp_path: pathlib.Path, fake_evals: FakeEvals
) -> None:
    seed(None, fake_evals)
    env = environment(
        tmp_path,
        None,
        fake_evals,
        GITHUB_EVENT_PATH=None,
        GITHUB_ACTIONS=None,
        GITHUB_REPOSITORY=None,
        GITHUB_API_URL="http://127.0.0.1:9",
    )
    result = run_cli(env, "--local")
    no_traceback(result)
    assert result.code == 0, result.log
    assert "Status: success" in result.stdout
    assert "### 2027 // Sign up and create a project — **Succeeded**" in result.stdout
    assert "final-status: completed" in result.stdout
    assert result.outputs == {}
    assert_no_secrets(result, DEFAULT_API_KEY)


def test_bad_input_exits_2_with_one_line_per_problem_and_no_network(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    env = environment(
        tmp_path,
        fake_github,
        fake_evals,
        EVALS_URL_MAP='{"a": 1',
        EVALS_POLL_INTERVAL_SECONDS="fast",
        EVALS_PROMPT_ID="",
    )
    result = run_cli(env)
    no_traceback(result)
    assert result.code == 2
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert errors == [
        "::error title=evals-action::prompt-id input is required",
        "::error title=evals-action::url-map must be valid JSON: Expecting ',' delimiter at line 1 "
        "column 8",
        "::error title=evals-action::poll-interval-seconds must be a positive number (got 'fast')",
    ]
    assert fake_evals.requests == []
    assert fake_github.requests == []


def test_bad_input_outside_actions_is_plain_text_naming_the_options(tmp_path: pathlib.Path) -> None:
    """From a terminal the hints name the CLI's options, not the action's inputs."""
    env = environment(
        tmp_path, None, None, GITHUB_ACTIONS=None, EVALS_API_KEY="", EVALS_WAIT_TIMEOUT_MINUTES="-5"
    )
    result = run_cli(env, "--local")
    assert result.code == 2
    assert result.stdout.splitlines() == [
        "error: --api-key is required (or set EVALS_API_KEY)",
        "error: --wait-timeout-minutes must be a positive number (got '-5')",
    ]


def test_a_secret_in_a_bad_input_is_not_echoed(tmp_path: pathlib.Path) -> None:
    env = environment(
        tmp_path,
        None,
        None,
        EVALS_API_KEY="sk-very-secret",
        EVALS_API_BASE_URL="http://sk-very-secret.example.com",
    )
    result = run_cli(env)
    assert result.code == 2
    masked = [line for line in result.log.splitlines() if not line.startswith("::add-mask::")]
    assert "::add-mask::sk-very-secret" in result.stdout  # the runner hides this line itself
    assert "sk-very-secret" not in "\n".join(masked)
    assert "(got 'http://***.example.com')" in result.stdout


def test_unreadable_event_file_is_a_config_error(
    tmp_path: pathlib.Path, fake_evals: FakeEvals
) -> None:
    env = environment(tmp_path, None, fake_evals, GITHUB_EVENT_PATH=str(tmp_path / "missing.json"))
    result = run_cli(env, "--dry-run")
    no_traceback(result)
    assert result.code == 2
    assert "GITHUB_EVENT_PATH could not be read" in result.stdout


def test_dry_run_and_local_together_is_a_usage_error(tmp_path: pathlib.Path) -> None:
    result = run_cli(environment(tmp_path, None, None), "--dry-run", "--local")
    assert result.code == 2
    assert "cannot be used together" in result.stderr


def test_unreachable_api_is_a_clear_failure(tmp_path: pathlib.Path) -> None:
    env = environment(
        tmp_path,
        None,
        None,
        EVALS_API_KEY="evals-key-unused",
        GITHUB_EVENT_PATH=None,
        EVALS_API_BASE_URL="http://127.0.0.1:9",
        GITHUB_ACTIONS=None,
    )
    result = run_cli(env, "--local", timeout=60)
    no_traceback(result)
    assert result.code == 1
    assert "start eval run: connection failed" in result.stdout
    assert "gave up after 4 attempts" in result.stdout


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"]])
def test_help_lists_every_option_with_env_and_default(args: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "evals_action", *args],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "200", "PATH": ""},
    ).stdout
    if args == ["--help"]:
        assert "Exit codes" in out
        assert "run" in out
        return
    for name in (
        "api-key",
        "prompt-id",
        "url-map",
        "wait-timeout-minutes",
        "status-context",
        "backend",
        "workflow-token",
    ):
        assert f"--{name}" in out
        assert f"EVALS_{name.upper().replace('-', '_')}" in out
    assert "[default: 20]" in out
    assert "--dry-run" in out
    assert "--local" in out


def test_a_missing_prompt_file_is_reported_before_any_network_call(
    tmp_path: pathlib.Path, fake_github: FakeGitHub
) -> None:
    """On deployment_status the PR look-up is a GitHub call: the prompt file is checked first."""
    from tests.fakes.events import event_payload

    payload = event_payload("deployment_status.created", head_sha="a" * 40)
    env = environment(
        tmp_path,
        fake_github,
        None,
        payload=payload,
        event_name="deployment_status",
        EVALS_BACKEND="remote",
        EVALS_ROLLOUT_URL="http://127.0.0.1:9",
        EVALS_API_KEY="",
        EVALS_PROMPT_FILE="evals/missing.json",
    )
    result = run_cli(env)
    no_traceback(result)
    assert result.code == 2
    assert "prompt-file 'evals/missing.json' was not found" in result.stdout
    assert fake_github.requests == []
