"""`wait: false` for a suite: the real CLI starts every run of a 2-prompt × 2-repeat step,
writes the pending statuses and comment, hands the runs over and exits 0 while they are in
flight; once they ended, the server writes the final statuses and comment with the suite's own
code. Compared byte for byte with what the action writes with `wait: true` for the same
scripted results (run ids, the suite id and the server's address normalised)."""

from __future__ import annotations

import dataclasses
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from evals_action import models
from evals_action.server import config, reporting_config
from tests.fakes.github import FakeGitHub
from tests.integration import helpers

from .conftest import WAIT, FakeRollouts, Running, running_server

PROMPTS = ("team/smoke test", "login")
# (prompt, attempt) → the rollout's result: the outcome decides (the prompts have no checks)
SCRIPT: dict[tuple[str, int], dict[str, Any]] = {
    ("team/smoke test", 1): {"outcome": "succeeded", "score": 91},
    ("team/smoke test", 2): {"outcome": "succeeded", "score": 83},
    ("login", 1): {"outcome": "succeeded", "score": 70},
    ("login", 2): {"outcome": "goal_not_met", "score": 20},
}


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        helpers.seed(fake, None)
        yield fake


def _settings(github: FakeGitHub) -> config.ServerConfig:
    remote = {"target": "remote", "url": "http://127.0.0.1:9"}
    raw = {
        "server": {"poll_interval_seconds": 0.02, "long_poll_max_seconds": 20},
        "fetch": {"allow_private_networks": True},
        "prompts": [
            {"id": PROMPTS[0], "title": "Smoke <b>test</b>", "text": "Open it.", "rollout": remote},
            {"id": PROMPTS[1], "title": "Log in", "text": "Log in.", "rollout": remote},
        ],
    }
    gh = reporting_config.GitHubSettings(api_url=github.url, token=github.token)
    parsed = config.parse(raw=raw, environ={})
    return dataclasses.replace(parsed, reporting=reporting_config.ReportingConfig(github=gh))


def _env(tmp_path: Path, github: FakeGitHub, server: Running, **more: str) -> dict[str, str]:
    return helpers.environment(
        tmp_path / "runner",
        github,
        None,
        EVALS_API_BASE_URL=server.url,
        EVALS_API_KEY=server.key,
        **{
            "EVALS_PROMPT_ID": ",".join(PROMPTS),
            "EVALS_REPEATS": "2",
            "EVALS_URL_MAP": '{"app.example.com": "http://127.0.0.1:9"}',
            **more,
        },
    )


def _until(predicate: Callable[[], bool], what: Callable[[], object]) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, what()
        time.sleep(0.02)


def _baseline(server: Running, rollouts: FakeRollouts) -> None:
    """Three published default-branch runs of `login` (no pull request): its baseline."""
    for score in (95, 90, 85):
        run_id = server.start(prompt_id="login", template_args={}, context=None)
        rollouts.finish(
            _rollout_of(server, run_id), result={"outcome": "succeeded", "score": score}
        )
        server.until(run_id, lambda body: body["status"] == models.COMPLETED)


def _rollout_of(server: Running, run_id: str) -> str:
    _until(lambda: _row(server, run_id).rollout_id is not None, lambda: "no rollout")
    return str(_row(server, run_id).rollout_id)


def _row(server: Running, run_id: str) -> Any:
    row = server.db.get_run(run_id=run_id)
    assert row is not None
    return row


def _suite_rows(server: Running) -> list[Any]:
    rows = server.db.list_runs(prompt_id=None, report_status=None, limit=100, offset=0)
    return [r for r in rows if r.suite is not None]


def _finish_started(server: Running, rollouts: FakeRollouts, done: set[str]) -> None:
    """End every suite run whose rollout started, as `SCRIPT` says."""
    for row in _suite_rows(server):
        if row.run_id not in done and row.rollout_id is not None:
            rollouts.finish(row.rollout_id, result=SCRIPT[(row.prompt_id, row.attempt)])
            done.add(row.run_id)


def _normalised(text: str, server: Running) -> str:
    """Run ids (and the report slugs made of them) by prompt and attempt, the suite id and
    the server's address by fixed names."""
    for row in _suite_rows(server):
        name = f"RUN-{row.prompt_id}-{row.attempt}".replace(" ", "_").replace("/", "_")
        text = text.replace(row.run_id, name).replace(row.run_id.replace("-", "")[:10], name)
        text = text.replace(str(row.suite), "SUITE")
    return text.replace(server.url, "SERVER")


@dataclasses.dataclass(frozen=True)
class Written:
    """What a step (and the server) left on GitHub, normalised: the comment's body and each
    context's last status."""

    comment: str
    statuses: dict[str, tuple[str, str, str]]
    result: helpers.Result


def _written(github: FakeGitHub, server: Running, result: helpers.Result) -> Written:
    (comment,) = github.comments(helpers.PR)
    last = {
        s["context"]: (s["state"], s["description"], _normalised(s["target_url"] or "", server))
        for s in github.statuses(helpers.HEAD_SHA)
    }
    return Written(_normalised(comment["body"], server), last, result)


def _waiting(tmp_path: Path, github: FakeGitHub, *, runs: int, **more: str) -> Written:
    """The same step with `wait: true`: the action writes everything itself."""
    rollouts = FakeRollouts()
    with running_server(
        database=tmp_path / "db", settings_=_settings(github), client_factory=rollouts.factory
    ) as server:
        _baseline(server, rollouts)
        done: set[str] = set()

        def finish_all(proc: subprocess.Popen[str]) -> None:
            def ended() -> bool:
                _finish_started(server, rollouts, done)
                return len(done) == runs

            _until(ended, lambda: f"only {len(done)} runs started")

        env = _env(tmp_path, github, server, **more)
        result = helpers.run_while(env, when=lambda: bool(_suite_rows(server)), then=finish_all)
        return _written(github, server, result)


def _not_waiting(tmp_path: Path, github: FakeGitHub, *, runs: int, **more: str) -> Written:
    rollouts = FakeRollouts()
    with running_server(
        database=tmp_path / "db", settings_=_settings(github), client_factory=rollouts.factory
    ) as server:
        _baseline(server, rollouts)
        result = helpers.run_cli(_env(tmp_path, github, server, EVALS_WAIT="false", **more))
        assert result.code == 0, result.log
        rows = _suite_rows(server)
        assert len(rows) == runs
        assert all(r.in_flight for r in rows)  # the step did not wait for them
        (pending,) = github.comments(helpers.PR)
        assert pending["body"].count("Running…") == runs
        assert {s["state"] for s in github.statuses(helpers.HEAD_SHA)} == {"pending"}
        github.clear_requests()  # from here on, only the server writes
        _finish_started(server, rollouts, set())
        _until(
            lambda: (
                "Running…" not in github.comments(helpers.PR)[0]["body"]
                and "pending" not in _last_states(github)
            ),
            lambda: (github.comments(helpers.PR), github.statuses(helpers.HEAD_SHA)),
        )
        (final,) = github.comments(helpers.PR)
        assert final["id"] == pending["id"]  # the step's comment, edited by the server
        # whose comment it is comes from the comment handed over, not from `GET /user`
        assert "/user" not in [r.path for r in github.requests]
        helpers.assert_no_secrets(result, server.key, github=github)
        return _written(github, server, result)


def _last_states(github: FakeGitHub) -> set[str]:
    return {
        s["state"] for s in {s["context"]: s for s in github.statuses(helpers.HEAD_SHA)}.values()
    }


@pytest.mark.parametrize(
    "more",
    [
        {},  # a status per prompt, the step's shared comment (key: workflow/job)
        {"EVALS_MIN_PASS_RATE": "0.75", "EVALS_STATUS_CONTEXT": "evals"},  # a gate trips
        {"EVALS_PROMPT_ID": "login", "EVALS_FAIL_ON_REGRESSION": "true"},  # a sticky comment
    ],
    ids=["per-prompt", "gate-aggregate", "one-prompt"],
)
def test_the_server_writes_what_the_waiting_action_writes(
    tmp_path: Path, github: FakeGitHub, more: dict[str, str]
) -> None:
    """The final comment and statuses the server writes for a `wait: false` suite are the ones
    the action writes with `wait: true` for the same results, byte for byte."""
    runs = 2 * len(more.get("EVALS_PROMPT_ID", ",".join(PROMPTS)).split(","))
    for part in ("a", "b"):
        (tmp_path / part).mkdir()
    waited = _waiting(tmp_path / "a", github, runs=runs, **more)
    with FakeGitHub() as other:
        helpers.seed(other, None)
        handed = _not_waiting(tmp_path / "b", other, runs=runs, **more)
        assert not other.take_violations()
    assert handed.comment == waited.comment
    assert handed.statuses == waited.statuses
    assert "45 ▼ −45 vs 90 (3 runs)" in handed.comment  # the baseline: the server's own runs
    if "EVALS_MIN_PASS_RATE" in more:
        assert waited.result.code == 1  # the gate trips the waiting step
        assert handed.statuses["evals"][0] == "failure"  # and the server's status says so
        assert "Gate failed: pass rate 0.50 &lt; min-pass-rate 0.75" in handed.comment
    assert not github.take_violations()
