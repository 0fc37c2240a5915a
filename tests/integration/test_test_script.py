"""`scripts/test.sh` (what `make test` and CI run): its summary names every check that did not run.

The machine under test lacks Chromium and shellcheck: the script runs with a PATH of links to
every program on the real PATH except those, the way a fresh laptop looks to it.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
HIDDEN = ("chromium", "chromium-browser", "shellcheck")


def _path_without(hidden: tuple[str, ...], *, bin_dir: pathlib.Path) -> str:
    """A one-directory PATH holding a link to every program on PATH except `hidden`."""
    bin_dir.mkdir()
    for directory in reversed(os.environ["PATH"].split(os.pathsep)):
        folder = pathlib.Path(directory)
        if not folder.is_dir() or ".venv" in folder.parts:
            continue
        for program in folder.iterdir():
            link = bin_dir / program.name
            if program.name not in hidden and os.access(program, os.X_OK):
                link.unlink(missing_ok=True)  # earlier PATH entries win, as in a shell
                link.symlink_to(program)
    return str(bin_dir)


def _test_sh(*args: str, path: str, coverage_dir: pathlib.Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "VIRTUAL_ENV")}
    # The inner run's coverage data stays out of the outer run's (both would use ROOT/.coverage).
    env.update(PATH=path, PYTEST_WORKERS="1", COVERAGE_FILE=str(coverage_dir / ".coverage"))
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "test.sh"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _summary(stdout: str) -> list[str]:
    return stdout.split("\n=== summary ", 1)[1].splitlines()[1:]


def test_skipped_browser_tests_are_listed_with_how_to_enable_them(tmp_path: pathlib.Path) -> None:
    """Not "all checks passed" alone: the count, the reason and what to install."""
    path = _path_without(HIDDEN, bin_dir=tmp_path / "bin")
    done = _test_sh("pytest", "tests/server/test_pages.py", path=path, coverage_dir=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = _summary(done.stdout)
    skipped = [line for line in summary if line.startswith("SKIPPED ")]
    assert len(skipped) == 1, summary
    assert skipped[0].endswith(
        " tests: headless Chromium is not installed (Debian: apt-get install chromium); "
        "CI installs it"
    )
    assert int(skipped[0].split()[1]) > 1
    assert summary[-1] == (
        "all checks passed, but not everything ran: install what the SKIPPED lines name"
    )


def test_actionlint_without_shellcheck_is_listed_with_how_to_enable_it(
    tmp_path: pathlib.Path,
) -> None:
    path = _path_without(HIDDEN, bin_dir=tmp_path / "bin")
    done = _test_sh("lint", path=path, coverage_dir=tmp_path)
    summary = _summary(done.stdout)
    assert (
        "SKIPPED shellcheck: actionlint ran without shellcheck, so no run: script was checked; "
        "install it (Debian: apt-get install shellcheck)"
    ) in summary
    assert summary[-1] == (
        "all checks passed, but not everything ran: install what the SKIPPED lines name"
    )


@pytest.mark.skipif(
    shutil.which("chromium") is None or shutil.which("shellcheck") is None,
    reason="needs chromium and shellcheck installed (CI installs both)",
)
def test_with_everything_installed_nothing_is_listed_as_skipped(tmp_path: pathlib.Path) -> None:
    """The same runs with the real PATH: no SKIPPED line, and the plain last line."""
    for args in (("pytest", "tests/server/test_pages.py"), ("lint",)):
        done = _test_sh(*args, path=os.environ["PATH"], coverage_dir=tmp_path)
        assert done.returncode == 0, done.stdout[-3000:]
        summary = _summary(done.stdout)
        assert not [line for line in summary if line.startswith("SKIPPED")], summary
        assert summary[-1] == "all checks passed"
