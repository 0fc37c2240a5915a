"""`evals-action demo`: server, example preview, the agent (in Chromium, or with its HTTP tool
only when there is none), the real action CLI."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys

import pytest
import requests

from evals_action import demo, errors

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium on PATH (apt-get install chromium)")
def test_the_demo_runs_the_whole_loop_and_prints_comment_status_and_outputs() -> None:
    """With Chromium on PATH the agent drives the preview in it; a trace check reads its page."""
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
    assert "; Chromium /" in out
    assert "Chromium not found" not in out
    assert "<!-- 2027-eval-comment:create-project -->" in out
    assert "### 2027 // Sign up and create a project — **Succeeded**" in out
    assert "Status: success '2027/eval/sign-up-and-create-a-project': Completed — see report" in out
    assert "final-status: completed" in out
    assert "score: 100" in out
    assert '"name":"the agent\'s last page shows the project","passed":true' in out
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


def test_without_chromium_the_agent_uses_its_http_tool_and_the_run_still_passes(
    tmp_path: pathlib.Path,
) -> None:
    """No Chromium on PATH and no --chromium (a fresh clone with only Python): one line says so,
    and the stand-in signs up and creates the project through the preview's HTTP API."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALS_", "GITHUB_"))}
    env["PATH"] = str(tmp_path)  # an empty directory: no chromium, chromium-browser, chrome
    done = subprocess.run(
        [sys.executable, "-m", "evals_action", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    assert out.splitlines()[0] == demo.NO_CHROMIUM
    assert "(scripted stand-in model at http://127.0.0.1:" in out
    assert "; HTTP tool only)" in out
    assert "### 2027 // Sign up and create a project — **Succeeded**" in out
    assert "final-status: completed" in out
    assert "score: 100" in out
    assert "the agent's last page shows the project" not in out  # no browser, no page to read
    assert "Traceback" not in done.stderr


def test_a_chromium_that_is_not_there_is_a_usage_error() -> None:
    """--chromium names a missing file: one line naming the flag, exit code 2, no traceback."""
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


def test_without_playwright_the_demo_says_so_and_uses_the_http_tool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the `server` extra installed: Chromium may be there, but nothing can drive it."""
    real = demo.importlib.util.find_spec
    monkeypatch.setattr(
        demo.importlib.util, "find_spec", lambda name: None if name == "playwright" else real(name)
    )
    said: list[str] = []

    def find(configured: str | None) -> str:
        raise AssertionError("no Chromium lookup without Playwright")

    assert demo._chromium(configured="", find=find, echo=said.append) is None
    assert said == [demo.NO_PLAYWRIGHT]
