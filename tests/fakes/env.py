"""The environment a child process (the CLI, act) sees when it runs against the fakes.

`cli_env(workdir=..., github=fake_github, evals=fake_evals, event=payload)` builds a fresh
environment (nothing inherited but PATH) with the runner's GITHUB_* variables pointing at the
fakes and empty GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files in `workdir`; `parse_github_output`
reads the `name<<DELIM` blocks back. `standalone("github", "--state-file", f)` runs a fake in its
own process (for act, which runs the CLI elsewhere) and yields its URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.fakes.evals import FakeEvals
from tests.fakes.github import FakeGitHub

ROOT = Path(__file__).resolve().parents[2]


def cli_env(
    *,
    workdir: Path,
    github: FakeGitHub | None = None,
    evals: FakeEvals | None = None,
    event: Mapping[str, Any] | None = None,
    event_name: str = "pull_request",
    **overrides: str | None,
) -> dict[str, str]:
    """The variables for one CLI run; an override of None removes a variable."""
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    files = {name: workdir / name for name in ("github_output", "step_summary", "github_env")}
    for path in files.values():
        path.touch()
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_REPOSITORY": github.full_name if github else "octo-org/octo-repo",
        "GITHUB_REPOSITORY_OWNER": github.owner if github else "octo-org",
        "GITHUB_API_URL": github.url if github else "http://127.0.0.1:9",
        "GITHUB_SERVER_URL": github.server_url if github else "https://github.com",
        # Like the runner: on pull_request this is the merge commit, never the PR's head.
        "GITHUB_SHA": hashlib.sha1(
            f"merge:{event_name}".encode(), usedforsecurity=False
        ).hexdigest(),
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_RUN_ID": "4242424242",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_WORKFLOW": "evals",
        "GITHUB_JOB": "eval",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_WORKSPACE": str(workdir),
        "GITHUB_OUTPUT": str(files["github_output"]),
        "GITHUB_STEP_SUMMARY": str(files["step_summary"]),
        "GITHUB_ENV": str(files["github_env"]),
        "RUNNER_TEMP": str(workdir),
        **measured(),
    }
    if github is not None:
        env["GITHUB_TOKEN"] = github.token
    if evals is not None:
        env["EVALS_API_KEY"] = evals.api_key
        env["EVALS_API_BASE_URL"] = evals.url
    if event is not None:
        event_path = workdir / "event.json"
        event_path.write_text(json.dumps(event), encoding="utf-8")
        env["GITHUB_EVENT_PATH"] = str(event_path)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def measured() -> dict[str, str]:
    """The variable that lets coverage measure a child process (`patch = ["subprocess"]` in
    pyproject.toml), for environments built from scratch; empty when coverage is off."""
    name = "COVERAGE_PROCESS_CONFIG"
    return {name: os.environ[name]} if name in os.environ else {}


def parse_github_output(text: str) -> dict[str, str]:
    """The outputs in a GITHUB_OUTPUT file (`name=value` lines and `name<<DELIM` blocks)."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block = []
            for inner in lines:
                if inner == delimiter:
                    break
                block.append(inner)
            else:
                raise ValueError(f"output {name!r}: delimiter {delimiter!r} never closes")
            outputs[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


@contextlib.contextmanager
def standalone(fake: str, *args: str) -> Iterator[str]:
    """Run `python -m tests.fakes.<fake> --port 0 *args` until the block ends; yield its URL.
    Seed and read it through its `/_fake/...` routes (or `--seed` / `--state-file`)."""
    command = [sys.executable, "-m", f"tests.fakes.{fake}", "--port", "0", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            if not url.startswith("http://"):
                raise RuntimeError(f"tests.fakes.{fake} did not start (exit {process.poll()})")
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)
