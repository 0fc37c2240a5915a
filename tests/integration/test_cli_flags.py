"""CLI ergonomics (issue 8): on/off options are flags, hints name what the user typed (the CLI's
option from a terminal, the input in the action), and a secret too short to mask is refused."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from tests.fakes.evals import FakeEvals
from tests.fakes.github import FakeGitHub
from tests.integration.helpers import (
    HEAD_SHA,
    PR,
    Result,
    _result,
    environment,
    no_traceback,
    run_cli,
    seed,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run_action_entry(env: dict[str, str]) -> Result:
    """The action's own entry point, as action.yml runs it."""
    proc = subprocess.run(
        [sys.executable, "-I", str(ROOT / "scripts" / "run-action.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=env["GITHUB_WORKSPACE"],
    )
    return _result(env, proc.returncode, proc.stdout, proc.stderr)


def test_a_flag_before_dry_run_does_not_swallow_it(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    """`--skip-comment --dry-run` is two flags: a dry run that sends nothing."""
    seed(fake_github, fake_evals)
    result = run_cli(environment(tmp_path, fake_github, fake_evals), "--skip-comment", "--dry-run")
    no_traceback(result)
    assert result.code == 0, result.log
    assert "Dry run: nothing is sent" in result.stdout
    assert fake_evals.requests == []


def test_no_flags_override_the_variables_which_keep_their_true_false_strings(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    """EVALS_SKIP_STATUS=true is overridden by `--no-skip-status`; EVALS_SKIP_COMMENT=Yes (no
    flag given) still skips the comment, as action.yml passes it."""
    seed(fake_github, fake_evals)
    env = environment(
        tmp_path, fake_github, fake_evals, EVALS_SKIP_STATUS="true", EVALS_SKIP_COMMENT="Yes"
    )
    result = run_cli(env, "--no-skip-status")
    no_traceback(result)
    assert result.code == 0, result.log
    assert [s["state"] for s in fake_github.statuses(HEAD_SHA)] == ["pending", "success"]
    assert fake_github.comments(PR) == []


def test_a_bad_on_off_variable_from_a_terminal_names_the_variable(tmp_path: pathlib.Path) -> None:
    env = environment(
        tmp_path,
        None,
        None,
        GITHUB_ACTIONS=None,
        EVALS_API_KEY="evals-key-1234",
        EVALS_TIMEOUT_FAILS="maybe",
    )
    result = run_cli(env, "--local")
    assert result.code == 2
    assert result.stdout.splitlines() == [
        "error: EVALS_TIMEOUT_FAILS must be true or false (got 'maybe')"
    ]


def test_the_action_entry_point_names_inputs_even_outside_actions(tmp_path: pathlib.Path) -> None:
    env = environment(
        tmp_path,
        None,
        None,
        GITHUB_ACTIONS=None,
        EVALS_API_KEY="evals-key-1234",
        EVALS_PROMPT_ID="",
        EVALS_TIMEOUT_FAILS="maybe",
        EVALS_SKIP_COMMENT="true",
        EVALS_SKIP_STATUS="true",
    )
    result = run_action_entry(env)
    assert result.code == 2
    assert result.stdout.splitlines() == [
        "error: prompt-id input is required",
        "error: timeout-fails must be true or false (got 'maybe')",
    ]


def test_a_short_secret_is_refused_without_garbling_the_log(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    """A key `k` would be masked in every word with a k in it; it is refused instead, by name,
    before any network call, and never registered as a mask."""
    seed(fake_github, fake_evals)
    env = environment(
        tmp_path,
        fake_github,
        fake_evals,
        EVALS_API_KEY="k",
        EVALS_GITHUB_TOKEN="",
        GITHUB_TOKEN="tok",
        EVALS_SKIP_COMMENT="maybe",
    )
    result = run_action_entry(env)
    no_traceback(result)
    assert result.code == 2
    assert result.stdout.splitlines() == [
        "::error title=evals-action::api-key is too short to be a real key or token (at least 8 "
        "characters): check that the secret it comes from holds the whole value",
        "::error title=evals-action::skip-comment must be true or false (got 'maybe')",
        "::error title=evals-action::github-token is too short to be a real key or token (at "
        "least 8 characters): check that the secret it comes from holds the whole value",
    ]
    assert fake_evals.requests == []
    assert fake_github.requests == []
