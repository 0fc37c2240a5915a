"""`evals-action demo`: server, example preview, the agent in Chromium, the real action CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from evals_action import demo, errors


def test_the_demo_runs_the_whole_loop_and_prints_comment_status_and_outputs() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALS_", "GITHUB_"))}
    done = subprocess.run(
        [sys.executable, "-m", "evals_action.server.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(scripted stand-in model at http://127.0.0.1:" in out
    assert "<!-- 2027-eval-comment:create-project -->" in out
    assert "### 2027 // Sign up and create a project — **Succeeded**" in out
    assert "Status: success '2027/eval/sign-up-and-create-a-project': Completed — see report" in out
    assert "final-status: completed" in out
    assert "score: 100" in out
    assert '"name":"the agent\'s last page shows the project","passed":true' in out
    assert "eak_" not in out + done.stderr  # the API key is never printed


def test_without_the_action_cli_the_demo_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(demo.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(errors.EvalsActionError, match="has no evals_action/__main__.py yet"):
        demo.run(options=demo.Options(), echo=print)


@pytest.mark.browser
def test_without_chromium_the_demo_says_so_in_one_line() -> None:
    """No browser to drive: one line naming the flag, exit code 2, no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALS_", "GITHUB_"))}
    done = subprocess.run(
        [sys.executable, "-m", "evals_action", "demo", "--chromium", "/nonexistent/chrome"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "Error: --chromium: /nonexistent/chrome is not an executable file; point it at Chromium\n"
    )
