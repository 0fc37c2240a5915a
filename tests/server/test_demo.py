"""`evals-action demo`: server, example preview, example agent and the real action CLI."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest
import requests

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
    assert "(fixed plan, no model)" in out
    assert "<!-- 2027-eval-comment:create-project -->" in out
    assert "### 2027 // Sign up and create a project — **Succeeded**" in out
    assert "Status: success '2027/eval/sign-up-and-create-a-project': Completed — see report" in out
    assert "final-status: completed" in out
    assert "score: 100" in out
    assert "eak_" not in out + done.stderr  # the API key is never printed
    # The servers stop with the demo, so the last line names --keep-running, not a dead link.
    assert out.splitlines()[-1] == (
        "exit code 0 · the servers stop now; to browse the dashboard afterwards: "
        "evals-action demo --keep-running"
    )


def test_keep_running_leaves_the_dashboard_up_until_ctrl_c() -> None:
    """The last line's dashboard link works while the demo waits; SIGINT stops it cleanly."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALS_", "GITHUB_"))}
    with subprocess.Popen(
        [sys.executable, "-m", "evals_action.server.cli", "demo", "--keep-running"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    ) as demo_process:
        try:
            assert demo_process.stdout is not None
            last = next(
                (line.rstrip("\n") for line in demo_process.stdout if line.startswith("exit ")),
                "",
            )
            match = re.fullmatch(
                r"exit code 0 · dashboard (http://127\.0\.0\.1:\d+/) · press Ctrl-C to stop", last
            )
            assert match, last
            page = requests.get(match.group(1), timeout=30)
            assert page.status_code == 200
            assert "Sign up and create a project" in page.text
            demo_process.send_signal(signal.SIGINT)
            assert demo_process.wait(timeout=60) == 0
        finally:
            if demo_process.poll() is None:
                demo_process.kill()


def test_without_the_action_cli_the_demo_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(demo.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(errors.EvalsActionError, match="has no evals_action/__main__.py yet"):
        demo.run(options=demo.Options(), echo=print)
