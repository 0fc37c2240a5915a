"""Every `pip install` in README.md and docs/ works, as written, from a clone of the repository.

The package is not on PyPI, so a command naming `evals-action` by name would install nothing (or
someone else's package). Each distinct command runs for real (no `--dry-run`, no `--no-deps`) in a
fresh venv with the clone as its working directory; only the interpreter is the venv's (what
`sudo /opt/evals/venv/bin/pip` or an activated venv's `pip` would be).
"""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
from collections.abc import Callable

import pytest

from tests.docs import commands
from tests.docs.conftest import Installed

DOCUMENTED = commands.install_commands()
# What each extra must make importable: the modules the extra exists for.
EXTRA_IMPORTS = {
    "server": "import evals_action.server.app, evals_action.server.serving",
    "agent": "import evals_action.agent.service, playwright.sync_api",
}


def _extras(args: tuple[str, ...]) -> list[str]:
    return [
        extra.strip()
        for arg in args
        for group in re.findall(r"\[([^\]]*)\]", arg)
        for extra in group.split(",")
    ]


def test_the_docs_have_install_commands() -> None:
    """The extraction finds the README's and the server guide's (a broken reader finds none)."""
    sources = {command.source for command in DOCUMENTED}
    assert {"README.md", "docs/server.md"} <= sources


@pytest.mark.parametrize(
    "args",
    sorted({command.args for command in DOCUMENTED}),
    ids=commands.quote,
)
def test_every_documented_install_command_works_from_a_clone(
    args: tuple[str, ...], install: Callable[[tuple[str, ...]], Installed]
) -> None:
    """It installs this clone (not a package of that name from an index), with its extras."""
    where = ", ".join(f"{c.where}: {c.text}" for c in DOCUMENTED if c.args == args)
    installed = install(args)
    assert installed.returncode == 0, (
        f"`pip install {commands.quote(args)}` fails from a clone ({where}):\n"
        + "\n".join(installed.output.splitlines()[-15:])
    )
    origin = subprocess.run(
        [
            installed.bin("python"),
            "-I",  # not this checkout's evals_action.egg-info in the working directory
            "-c",
            "import importlib.metadata as m; print(m.distribution('evals-action')"
            ".read_text('direct_url.json'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(origin)["url"] == installed.clone.as_uri(), where
    subprocess.run([installed.bin("evals-action"), "--help"], capture_output=True, check=True)
    for extra in _extras(args):
        assert extra in EXTRA_IMPORTS, f"{where}: no check for the extra {extra!r}; add one"
        subprocess.run(
            [installed.bin("python"), "-I", "-c", EXTRA_IMPORTS[extra]],
            capture_output=True,
            check=True,
        )


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["serve"], "evals-action serve needs the server extra (starlette is not installed)"),
        (["demo"], "the demo needs the server extra (starlette is missing)"),
    ],
)
def test_without_the_server_extra_the_server_commands_say_how_to_get_it(
    install: Callable[[tuple[str, ...]], Installed],
    tmp_path: pathlib.Path,
    command: list[str],
    message: str,
) -> None:
    """In a venv with only `pip install .` (no starlette, no uvicorn): one line, exit 2."""
    installed = install((".",))
    assert installed.returncode == 0, installed.output
    missing = subprocess.run(
        [installed.bin("python"), "-I", "-c", "import starlette"], capture_output=True, check=False
    )
    assert missing.returncode == 1, "this venv must not have starlette"
    done = subprocess.run(
        [installed.bin("evals-action"), *command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == (
        f"Error: {message}: from a clone of evals-action, run: pip install '.[server]'\n"
    )
    assert list(tmp_path.iterdir()) == []
