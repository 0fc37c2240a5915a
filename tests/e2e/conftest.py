"""Session set-up for the act-driven tests: a clean copy of the action and its runtime."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from . import harness, servers


@pytest.fixture(scope="session")
def action_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """This repository as a user's runner would fetch it: only files git would ship."""
    return harness.copy_clean_tree(dest=tmp_path_factory.mktemp("action"))


@pytest.fixture(scope="session")
def runtime_cache(
    tmp_path_factory: pytest.TempPathFactory, action_dir: pathlib.Path
) -> pathlib.Path:
    """`EVALS_ACTION_CACHE_DIR` with the action's venv already built by scripts/install-action.sh.

    The directory sits above the per-worker temp dirs, so pytest-xdist workers share one venv
    (the install script builds into a temp dir and renames it, so concurrent builds are safe).
    """
    cache = tmp_path_factory.getbasetemp().parent / "evals-action-runtime"
    harness.prebuild_runtime(action_dir=action_dir, cache_dir=cache)
    return cache


@pytest.fixture
def workspace(
    tmp_path: pathlib.Path, action_dir: pathlib.Path, runtime_cache: pathlib.Path
) -> harness.Workspace:
    """A fresh directory for one act run."""
    return harness.Workspace(root=tmp_path, action_dir=action_dir, cache_dir=runtime_cache)


@pytest.fixture
def github(tmp_path: pathlib.Path) -> Iterator[servers.FakeProcess]:
    """The fake GitHub REST API, in its own process on loopback."""
    args = ("--owner", "octo-org", "--repo", "octo-repo", "--token", servers.GITHUB_TOKEN)
    log = tmp_path / "github.log"
    with servers.FakeProcess.start(module="tests.fakes.github", log=log, args=args) as fake:
        yield fake


@pytest.fixture
def evals(tmp_path: pathlib.Path) -> Iterator[servers.FakeProcess]:
    """The fake evals REST API, in its own process on loopback."""
    args = ("--api-key", servers.EVALS_API_KEY)
    log = tmp_path / "evals.log"
    with servers.FakeProcess.start(module="tests.fakes.evals", log=log, args=args) as fake:
        yield fake
