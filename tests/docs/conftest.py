"""A fresh virtualenv per documented install command, installed from a copy of this clone.

One install costs about 20 s (pip's cache makes the downloads free), so each distinct command is
installed once per session and shared between pytest-xdist workers under a file lock.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import os
import pathlib
import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.e2e import harness


@dataclasses.dataclass(frozen=True)
class Installed:
    """What `pip install ARGS` left, run in a fresh venv from a fresh copy of the repository."""

    clone: pathlib.Path
    venv: pathlib.Path
    returncode: int
    output: str

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)


def _install(*, args: tuple[str, ...], home: pathlib.Path) -> Installed:
    clone, venv, log = home / "clone", home / "venv", home / "pip.log"
    if not (home / "done").exists():
        harness.copy_clean_tree(dest=clone)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", *args],
            cwd=clone,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
            check=False,
        )
        log.write_text(done.stdout, encoding="utf-8")
        (home / "done").write_text(str(done.returncode), encoding="utf-8")
    returncode = int((home / "done").read_text(encoding="utf-8"))
    output = log.read_text(encoding="utf-8")
    return Installed(clone=clone, venv=venv, returncode=returncode, output=output)


@pytest.fixture(scope="session")
def install(tmp_path_factory: pytest.TempPathFactory) -> Callable[[tuple[str, ...]], Installed]:
    """`install(args)`: the venv where `pip install ARGS` ran from a clone, made once."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by this session's workers, not by later sessions

    def installed(args: tuple[str, ...]) -> Installed:
        home = base / f"docs-install-{hashlib.sha256(repr(args).encode()).hexdigest()[:12]}"
        home.mkdir(exist_ok=True)
        with (home / "lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return _install(args=args, home=home)

    return installed
