"""Fixtures shared by every test: the two loopback fakes.

`fake_github` and `fake_evals` start a fresh fake per test and fail the test at teardown when the
fake recorded a violation (a request GitHub's description or the evals contract rejects). A test
that provokes one on purpose reads it with `fake.take_violations()`. Other settings: parametrize
indirectly, e.g. `@pytest.mark.parametrize("fake_github", [{"api_prefix": "/api/v3",
"spec": "ghes-3.19"}], indirect=True)`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# `tests.fakes` is imported by its full name everywhere (and run as `python -m tests.fakes.*`).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes import evals, github  # noqa: E402  (needs the path above)


@pytest.fixture
def fake_github(request: pytest.FixtureRequest) -> Iterator[github.FakeGitHub]:
    """A FakeGitHub for octo-org/octo-repo with an installation token (like GITHUB_TOKEN)."""
    kwargs: dict[str, Any] = getattr(request, "param", {})
    with github.FakeGitHub(**kwargs) as fake:
        yield fake
    _fail_on_violations("FakeGitHub", fake.violations)


@pytest.fixture
def fake_evals(request: pytest.FixtureRequest) -> Iterator[evals.FakeEvals]:
    """A FakeEvals with api key `evals_test_key_123` and no prompts yet."""
    kwargs: dict[str, Any] = getattr(request, "param", {})
    with evals.FakeEvals(**kwargs) as fake:
        yield fake
    _fail_on_violations("FakeEvals", fake.violations)


def _fail_on_violations(name: str, violations: list[str]) -> None:
    if violations:
        listed = "\n".join(f"  - {v}" for v in violations)
        pytest.fail(f"{name} recorded {len(violations)} violation(s):\n{listed}", pytrace=False)
