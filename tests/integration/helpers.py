"""Running the real CLI as a child process against the loopback fakes, and reading what it left."""

from __future__ import annotations

import dataclasses
import pathlib
import signal
import subprocess
import sys
import time
from typing import Any

from tests.fakes import env as fake_env
from tests.fakes.evals import FakeEvals
from tests.fakes.events import event_payload
from tests.fakes.github import FakeGitHub

PROMPT_ID = "4f1c2b7e-signup"
TITLE = "Sign up and create a project"
HEAD_SHA = "0123456789abcdef0123456789abcdef01234567"
PR = 42
URL_MAP = '{"docs.example.com": "https://pr-42.preview.example.dev"}'
MARKER = f"<!-- 2027-eval-comment:{PROMPT_ID} -->"


@dataclasses.dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str

    @property
    def log(self) -> str:
        return self.stdout + self.stderr


def seed(github: FakeGitHub | None, evals: FakeEvals | None, *, fork: bool = False) -> None:
    """One open PR #42 and one prompt with the fake's default script (running → succeeded)."""
    if github is not None:
        github.add_pull(
            number=PR,
            head_sha=HEAD_SHA,
            head_repo_full_name="fork-owner/octo-repo" if fork else None,
        )
    if evals is not None:
        evals.add_prompt(prompt_id=PROMPT_ID, title=TITLE, text="Open {{url}} and sign up.")


def environment(
    tmp_path: pathlib.Path,
    github: FakeGitHub | None,
    evals: FakeEvals | None,
    *,
    event: str = "pull_request.opened",
    event_name: str = "pull_request",
    payload: dict[str, Any] | None = None,
    fork: bool = False,
    **overrides: str | None,
) -> dict[str, str]:
    if payload is None:
        payload = event_payload(event, pr_number=PR, head_sha=HEAD_SHA, fork=fork)
    base: dict[str, str | None] = {
        "EVALS_PROMPT_ID": PROMPT_ID,
        "EVALS_URL_MAP": URL_MAP,
        "EVALS_POLL_INTERVAL_SECONDS": "0.05",
        "EVALS_WAIT_TIMEOUT_MINUTES": "1",
    }
    base.update(overrides)
    return fake_env.cli_env(
        workdir=tmp_path, github=github, evals=evals, event=payload, event_name=event_name, **base
    )


def run_cli(env: dict[str, str], *args: str, timeout: float = 60) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "evals_action", "run", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=env.get("GITHUB_WORKSPACE"),
    )
    return _result(env, proc.returncode, proc.stdout, proc.stderr)


def run_while(env: dict[str, str], *, when: Any, then: Any) -> Result:
    """Start the CLI, wait until `when()` is true, call `then(proc)`, and collect the result."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "evals_action", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=env.get("GITHUB_WORKSPACE"),
    )
    deadline = time.monotonic() + 30
    while not when():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise AssertionError("the condition never came true while the CLI ran")
        time.sleep(0.01)
    then(proc)
    stdout, stderr = proc.communicate(timeout=60)
    return _result(env, proc.returncode, stdout, stderr)


def run_and_signal(env: dict[str, str], *, when: Any, sig: int = signal.SIGTERM) -> Result:
    """Start the CLI, wait until `when()` is true, send `sig`, and collect the result."""
    return run_while(env, when=when, then=lambda proc: proc.send_signal(sig))


def _result(env: dict[str, str], code: int, stdout: str, stderr: str) -> Result:
    output_file = pathlib.Path(env["GITHUB_OUTPUT"])
    summary_file = pathlib.Path(env["GITHUB_STEP_SUMMARY"])
    return Result(
        code=code,
        stdout=stdout,
        stderr=stderr,
        outputs=fake_env.parse_github_output(output_file.read_text(encoding="utf-8")),
        summary=summary_file.read_text(encoding="utf-8"),
    )


def assert_no_secrets(result: Result, *secrets: str, github: FakeGitHub | None = None) -> None:
    """No secret in the log, the outputs, the summary, or anything written to GitHub."""
    log = [line for line in result.log.splitlines() if not line.startswith("::add-mask::")]
    places = ["\n".join(log), result.summary, *result.outputs.values()]
    if github is not None:
        places += [c["body"] for c in github.comments(PR)]
        places += [str(s) for s in github.statuses(HEAD_SHA)]
    for secret in secrets:
        for text in places:
            assert secret not in text, f"secret leaked into: {text[:200]!r}"


def github_calls(github: FakeGitHub) -> list[str]:
    return [f"{r.method} {r.route or r.path}" for r in github.requests]


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.log, result.log
