"""The action's run step never imports code from the user's checkout (its working directory)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_pr_code_in_the_workspace_is_never_imported(tmp_path: pathlib.Path) -> None:
    """A pull request that adds click.py or evals_action.py at its root cannot hijack the step."""
    for name in ("click.py", "evals_action.py", "requests.py", "jinja2.py"):
        (tmp_path / name).write_text('raise SystemExit("PR code ran")\n')
    proc = subprocess.run(
        [sys.executable, "-I", str(ROOT / "scripts" / "run-action.py"), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "", "PYTHONPATH": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PR code ran" not in proc.stdout + proc.stderr
    assert proc.stdout.startswith("Usage: evals-action run [OPTIONS]")


def test_action_yml_runs_the_isolated_entry_point() -> None:
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    assert 'exec "$EVALS_ACTION_PYTHON" -I "$EVALS_ACTION_PATH/scripts/run-action.py"' in text
    assert "-m evals_action" not in text
