"""`serve` and `demo` on the command line: options, environment variables, import cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from evals_action.server import cli


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        (
            cli.serve,
            ["--help"],
            [
                "EVALS_SERVER_DATABASE",
                "default: evals-server.sqlite3",
                "EVALS_SERVER_CONFIG",
                "default: prompts.toml",
                "EVALS_SERVER_HOST",
                "default: 127.0.0.1",
                "EVALS_SERVER_PORT",
                "default: 8787",
                "EVALS_SERVER_PUBLIC_URL",
                "default: http://HOST:PORT",
                "EVALS_SERVER_LOG_LEVEL",
            ],
        ),
        (
            cli.serve,
            ["keys", "create", "--help"],
            ["EVALS_SERVER_KEY_NAME", "default: default", "EVALS_SERVER_DATABASE"],
        ),
        (
            cli.demo,
            ["--help"],
            [
                "EVALS_SERVER_MODEL_BASE_URL",
                "scripted stand-in model",
                "EVALS_AGENT_CHROMIUM",
                "EVALS_SERVER_MODEL",
                "default: gpt-4o-mini",
                "EVALS_SERVER_MODEL_API_KEY",
                "EVALS_SERVER_KEEP_RUNNING",
                "EVALS_SERVER_DEMO_TIMEOUT",
            ],
        ),
    ],
)
def test_help_shows_each_options_variable_and_default(command, args, expected) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(command, args, terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for piece in expected:
        assert piece in text


def test_importing_the_cli_loads_no_server_stack() -> None:
    """`evals-action --help` stays fast: the server's commands import only click up front."""
    code = (
        "import sys, evals_action.server.cli; print(__import__('json').dumps(sorted("
        "m for m in ('starlette', 'uvicorn', 'sqlite3', 'jinja2', 'requests', 'anyio') "
        "if m in sys.modules)))"
    )
    # Not measured by coverage: its data file is SQLite, which would load sqlite3.
    env = {k: v for k, v in os.environ.items() if k != "COVERAGE_PROCESS_CONFIG"}
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert json.loads(loaded) == []


def test_a_bad_config_exits_2_with_every_problem_on_one_line(tmp_path: Path) -> None:
    config = tmp_path / "prompts.toml"
    config.write_text('[[prompts]]\nid = "p"\n', encoding="utf-8")
    result = CliRunner().invoke(
        cli.serve, ["--config", str(config), "--database", str(tmp_path / "db")]
    )
    assert result.exit_code == 2
    assert result.output == (
        "Error: prompts[0] needs exactly one of text or messages; prompts[0].rollout is "
        'required: a table with target = "remote" or "github-workflow"\n'
    )


def test_a_missing_config_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.serve, [], env={"EVALS_SERVER_CONFIG": str(tmp_path / "x")})
    assert result.exit_code == 2
    assert "cannot read config" in result.output


def _serve(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real `evals-action serve`, as a user runs it, in `cwd`."""
    return subprocess.run(
        [sys.executable, "-m", "evals_action", "serve", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", [[], ["keys", "create"], ["keys", "list"]])
def test_a_database_in_a_missing_folder_is_one_line_and_exit_2(
    tmp_path: Path, command: list[str]
) -> None:
    """Naming the option and how to fix it, and creating nothing."""
    database = tmp_path / "missing" / "evals.sqlite3"
    done = _serve(*command, "--database", str(database), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        f"Error: --database {database} (EVALS_SERVER_DATABASE): the folder {database.parent} "
        f"does not exist; create it (mkdir -p {database.parent}) or choose another path\n"
    )
    assert done.stdout == ""
    assert not database.parent.exists()


@pytest.mark.parametrize("command", [[], ["keys", "create"], ["keys", "list"]])
def test_a_database_that_is_not_sqlite_is_one_line_and_exit_2(
    tmp_path: Path, command: list[str]
) -> None:
    """A file that is not SQLite (here a config file) is refused and left as it was."""
    database = tmp_path / "prompts.toml"
    text = '[[prompts]]\nid = "p"\n'
    database.write_text(text, encoding="utf-8")
    done = _serve(*command, "--database", str(database), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        f"Error: --database {database} (EVALS_SERVER_DATABASE): not an SQLite database; give "
        "the server's own database file, or a new file name to start an empty one\n"
    )
    assert database.read_text(encoding="utf-8") == text
    assert sorted(path.name for path in tmp_path.iterdir()) == ["prompts.toml"]


def test_an_empty_database_file_is_a_new_database(tmp_path: Path) -> None:
    """`touch evals.sqlite3` first is fine: SQLite treats an empty file as a new database."""
    database = tmp_path / "evals.sqlite3"
    database.touch()
    done = _serve("keys", "create", "--database", str(database), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert database.read_bytes().startswith(b"SQLite format 3\x00")


def test_ctrl_c_stops_serve_quietly(tmp_path: Path) -> None:
    """SIGINT shuts the server down gracefully and says so, exit 0: no click "Aborted!"."""
    import signal
    import socket
    import time

    import requests

    config_file = tmp_path / "evals.toml"
    config_file.write_text(
        '[[prompts]]\nid = "p"\ntext = "Open http://app.example.com."\n'
        '[prompts.rollout]\ntarget = "remote"\nurl = "http://127.0.0.1:9"\n'
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = subprocess.Popen(
        [sys.executable, "-m", "evals_action", "serve", "--config", str(config_file),
         "--database", str(tmp_path / "db.sqlite3"), "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "serve never came up"
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
    assert child.returncode == 0, stderr
    assert "Aborted!" not in stderr
    assert "Traceback" not in stderr
    assert stderr.rstrip().splitlines()[-1] == "evals server: stopped"
