"""docs/server.md's quick start, run as written from a clone: it ends in a passing run.

The commands come from the Markdown (every shell block under "## Quick start"); the one line not
run is `git clone ...`, replaced by a copy of this checkout (what git would ship), since there is
no network here. They run in bash with `-e`, with the PATH a user's shell has (no virtualenv:
the quick start makes and activates its own), on the ports the doc names.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import time

from tests.docs import commands
from tests.e2e import harness

DOC = commands.ROOT / "docs" / "server.md"
PORTS = (8787, 8700, 8600)  # the server, the example agent, the example preview site


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _stop_group(pgid: int) -> None:
    """SIGTERM the servers the script left in the background, then SIGKILL stragglers."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def test_the_server_quick_start_ends_in_a_passing_run(tmp_path: pathlib.Path) -> None:
    lines = commands.section_script(DOC, heading="## Quick start").splitlines()
    clones = [line for line in lines if line.startswith("git clone ")]
    assert len(clones) == 1, f"expected one `git clone` line in the quick start, got {clones}"
    script = "\n".join(line for line in lines if not line.startswith("git clone "))
    assert "evals-action run --local" in script
    busy = [port for port in PORTS if _port_in_use(port)]
    assert not busy, f"ports {busy} are in use; the quick start listens there: stop what runs there"
    clone = harness.copy_clean_tree(dest=tmp_path / "evals-action")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EVALS_", "GITHUB_")) and key != "VIRTUAL_ENV"
    }
    env["PATH"] = harness.runner_path()
    log = tmp_path / "quick-start.log"
    with log.open("w") as out:
        script_process = subprocess.Popen(
            ["bash", "-e", "-c", script],
            cwd=clone,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            returncode = script_process.wait(timeout=600)
        finally:
            _stop_group(script_process.pid)
    output = log.read_text(encoding="utf-8")
    assert returncode == 0, f"the quick start failed (exit {returncode}):\n{output[-4000:]}"
    assert "final-status: completed" in output.splitlines(), output[-4000:]
    assert "score: 100" in output.splitlines(), output[-4000:]
