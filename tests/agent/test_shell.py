"""The shell tool: a scratch directory, a clean environment, a time limit that holds."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from evals_action.agent.tools import shell


def test_the_command_cannot_read_the_agents_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALS_SERVER_SECRET_FOR_TEST", "s3cret-value-never-shown")
    outcome = shell.run(command="env; cat /proc/self/environ", directory=tmp_path, timeout=10)
    assert outcome.exit_code == 0
    assert "s3cret-value-never-shown" not in outcome.text
    assert "EVALS_SERVER_SECRET_FOR_TEST" not in outcome.text
    assert f"HOME={tmp_path}" in outcome.text


def test_the_command_runs_in_its_scratch_directory_and_reports_its_exit_code(
    tmp_path: Path,
) -> None:
    outcome = shell.run(command="pwd; echo hi > made.txt; exit 3", directory=tmp_path, timeout=10)
    assert outcome.text == f"exit 3\n{tmp_path}\n"
    assert (outcome.exit_code, outcome.ok) == (3, False)
    assert (tmp_path / "made.txt").read_text() == "hi\n"


def test_the_time_limit_kills_the_command_and_its_children(tmp_path: Path) -> None:
    """A background child that outlives the limit is killed with its group."""
    outcome = shell.run(
        command="sleep 300 & echo $! > child.pid; echo started; wait",
        directory=tmp_path,
        timeout=1,
    )
    assert outcome.text == "killed after 1 s (time limit)\nstarted\n"
    assert (outcome.exit_code, outcome.ok) == (-9, False)
    child = int((tmp_path / "child.pid").read_text())
    assert not _alive(child)


def test_a_child_left_running_after_a_quick_command_is_killed(tmp_path: Path) -> None:
    outcome = shell.run(
        command="(sleep 300 > /dev/null 2>&1 &) ; echo $$ > shell.pid; echo done",
        directory=tmp_path,
        timeout=10,
    )
    assert outcome.text == "exit 0\ndone\n"
    assert _group_members(int((tmp_path / "shell.pid").read_text())) == []


def test_long_output_is_cut_keeping_its_start_and_end(tmp_path: Path) -> None:
    outcome = shell.run(command="seq 1 5000", directory=tmp_path, timeout=10)
    head, _, tail = outcome.text.partition("\n… [")
    assert head.startswith("exit 0\n1\n2\n3\n")
    assert tail.endswith("4999\n5000\n")
    assert len(outcome.text) < shell.OUTPUT_LIMIT + 100


def _alive(pid: int) -> bool:
    for _ in range(50):  # the kernel reaps the killed child asynchronously
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        stat = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}/stat").exists() else ""
        if " Z " in stat:
            return False
        time.sleep(0.05)
    return True


def _group_members(pgid: int) -> list[int]:
    """The group's live processes, once SIGKILL has had time to land (the kernel delivers it
    asynchronously: on a busy machine a killed process may still show as running briefly)."""
    for _ in range(50):
        members = _live_members(pgid)
        if not members:
            return []
        time.sleep(0.05)
    return members


def _live_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members
