"""`shell`: run a command for CLI evals, in the rollout's own temporary directory.

The command runs with `/bin/sh -c` in a fresh temporary directory (one per rollout, removed at
its end), in a new session, with a clean environment: only `PATH`, `HOME` and `TMPDIR` (both the
directory), `LANG`, and an npm prefix inside the directory so `npm i -g …` works. Nothing of the
agent's own environment (keys, tokens) reaches it. At `timeout` seconds the whole process group
is killed, children included. Output (stdout and stderr together) is cut to `OUTPUT_LIMIT`
characters, keeping its start and its end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evals_action.agent import tools

OUTPUT_LIMIT = 3000
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


def environment(*, directory: Path, path: str = DEFAULT_PATH) -> dict[str, str]:
    prefix = directory / ".npm-global"
    return {
        "PATH": f"{prefix / 'bin'}:{path}",
        "HOME": str(directory),
        "TMPDIR": str(directory),
        "LANG": "C.UTF-8",
        "NPM_CONFIG_PREFIX": str(prefix),
    }


def run(
    *, command: str, directory: Path, timeout: float, path: str = DEFAULT_PATH
) -> tools.Outcome:
    process = subprocess.Popen(
        ["/bin/sh", "-c", command],
        cwd=directory,
        env=environment(directory=directory, path=path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        output = _drain(process)
        text = _cut(output.decode("utf-8", "replace"))
        return tools.Outcome(
            text=f"killed after {timeout:g} s (time limit)\n{text}", ok=False, exit_code=-9
        )
    _kill_group(process)  # background children the command left behind
    code = process.returncode
    text = _cut(output.decode("utf-8", "replace"))
    return tools.Outcome(text=f"exit {code}\n{text}", ok=code == 0, exit_code=code)


def _drain(process: subprocess.Popen[bytes]) -> bytes:
    """What the killed command wrote; a process that left the group cannot hold us up."""
    try:
        output, _ = process.communicate(timeout=2)
    except subprocess.TimeoutExpired:
        if process.stdout is not None:
            process.stdout.close()
        process.wait()
        return b""
    return output


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _cut(text: str) -> str:
    if len(text) <= OUTPUT_LIMIT:
        return text
    half = OUTPUT_LIMIT // 2
    return f"{text[:half]}\n… [{len(text) - 2 * half} characters cut] …\n{text[-half:]}"


def tool(*, directory: Path, timeout: float) -> tools.Tool:
    def call(args: Mapping[str, Any]) -> tools.Outcome:
        return run(command=tools.text_arg(args, "command"), directory=directory, timeout=timeout)

    return tools.Tool(
        name="shell",
        description=f"Run a shell command in a scratch directory (time limit {timeout:g} s).",
        parameters={
            "type": "object",
            "properties": {"command": {"type": "string"}},
            "required": ["command"],
        },
        run=call,
    )
