"""`wait: false`'s hand-over: the server holds a run's final report until the step has written
its pending status and comment and handed the run over (`POST /api/v1/runs/{id}/hand-over`),
or until the hold ends. So the step's `pending` can never land after the server's final status,
and the server edits the comment the step wrote."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evals_action import models
from evals_action.server import report_request
from tests.fakes.github import FakeGitHub
from tests.integration import helpers

from .conftest import WAIT, FakeClock, FakeRollouts, Running, ended_reported_run, running_server
from .test_wait_false import _env, _states, _with_github

HELD = {"repository": "octo-org/octo-repo", "pullRequest": helpers.PR, "sha": helpers.HEAD_SHA}


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        helpers.seed(fake, None)
        yield fake


def _until(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_a_run_that_ends_before_the_steps_pending_writes_still_ends_final(
    tmp_path: Path, github: FakeGitHub
) -> None:
    """The race: the run ends while the step's pending status is still on its way to GitHub.
    The server holds its report until the step hands over, so the final status lands last."""
    rollouts = FakeRollouts()
    pending = github.gate(method="POST", path_pattern=r"/statuses/")
    with running_server(
        database=tmp_path / "db", settings_=_with_github(github), client_factory=rollouts.factory
    ) as server:

        def end_the_run_first(proc: subprocess.Popen[str]) -> None:
            (rollout_id,) = rollouts.started()
            rollouts.finish(rollout_id, status=models.FAILED, message="The agent gave up")
            _until(lambda: server.db.next_hold_end() is not None, "the report was never held")
            assert _states(github) == []  # the server wrote nothing: it waits for the step
            pending.release()

        env = _env(tmp_path, github, url=server.url, key=server.key)
        result = helpers.run_while(env, when=pending.arrived.is_set, then=end_the_run_first)
        assert result.code == 0, result.log
        _until(lambda: len(_states(github)) == 2, f"no final status: {_states(github)}")

    assert _states(github) == ["pending", "error"]  # the final one last, as it must be
    (comment,) = github.comments(helpers.PR)
    assert "The agent gave up" in comment["body"]  # the step's comment, edited by the server
    assert not github.take_violations()


def _held_run(server: Running, rollouts: FakeRollouts) -> str:
    """A run whose step asked for the hold and then never handed over (it died), ended."""
    run_id = server.start(context={**HELD, "report": {"by": "server", "hold": True}})
    (rollout_id,) = rollouts.started()[-1:]
    rollouts.finish(rollout_id, status=models.FAILED, message="The agent gave up")
    server.until(run_id, lambda body: body["status"] == models.FAILED)
    return run_id


def test_a_step_that_never_hands_over_gets_its_report_when_the_hold_ends(
    tmp_path: Path, github: FakeGitHub
) -> None:
    """Never `pending` for good: without the hand-over the report is written once the hold ends;
    a hand-over that comes after that makes the server write it again (its final status is
    then the newest again)."""
    clock, rollouts = FakeClock(), FakeRollouts()
    with running_server(
        database=tmp_path / "db",
        settings_=_with_github(github),
        client_factory=rollouts.factory,
        clock=clock,
    ) as server:
        run_id = _held_run(server, rollouts)
        _until(lambda: server.db.next_hold_end() is not None, "the report was never held")
        assert _states(github) == []
        clock.advance(report_request.HOLD_SECONDS + 1)
        _until(lambda: _states(github) == ["error"], f"not written: {_states(github)}")

        answer = server.session().post(
            f"{server.url}/api/v1/runs/{run_id}/hand-over", json={"commentId": None}, timeout=WAIT
        )
        assert (answer.status_code, answer.json()) == (200, {"runId": run_id, "handedOver": True})
        _until(lambda: _states(github) == ["error", "error"], f"not again: {_states(github)}")
    assert len(github.comments(helpers.PR)) == 1
    assert not github.take_violations()


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"commentId": True}, 400, "commentId must be"),
        ({"commentId": "12"}, 400, "commentId must be"),
        ({"commentId": 0}, 400, "commentId must be"),
        ({"commentId": 2**63}, 400, "commentId must be"),
        ([1], 400, "JSON object"),
    ],
)
def test_a_malformed_hand_over_is_refused(
    server: Running, body: Any, status: int, words: str
) -> None:
    run_id = server.start(context={**HELD, "report": {"by": "server", "hold": True}})
    answer = server.session().post(
        f"{server.url}/api/v1/runs/{run_id}/hand-over", json=body, timeout=WAIT
    )
    assert answer.status_code == status, answer.text
    assert words in answer.json()["error"]


def test_a_hand_over_needs_a_run_that_asked_the_server_to_report(server: Running) -> None:
    url = f"{server.url}/api/v1/runs/%s/hand-over"
    plain = server.start(context=HELD)
    answers = {
        "unknown": server.session().post(url % "nope", json={"commentId": 1}, timeout=WAIT),
        "not asked": server.session().post(url % plain, json={"commentId": 1}, timeout=WAIT),
        "no key": server.session(key="x" * 20).post(url % plain, json={}, timeout=WAIT),
    }
    assert {k: a.status_code for k, a in answers.items()} == {
        "unknown": 404,
        "not asked": 409,
        "no key": 401,
    }
    assert "context.report.by = server" in answers["not asked"].json()["error"]


def test_a_hand_over_survives_a_restart(tmp_path: Path, github: FakeGitHub) -> None:
    """The step handed over, then the server stopped before the run's end was reported: the
    restarted server writes the report on the comment the step handed over (and nowhere else)."""
    from evals_action import render
    from evals_action.server import store

    step_comment = github.add_comment(
        issue_number=helpers.PR,
        body=f"{render.marker('signup')}\nRunning",
        user_login="github-actions[bot]",
        user_type="Bot",
    )
    database = tmp_path / "evals.sqlite3"
    db = store.Store(path=database)
    run = ended_reported_run(
        db,
        report={"by": "server", "hold": True},
        failure_reason="The rollout was lost",
        pull_request=helpers.PR,
        sha=helpers.HEAD_SHA,
    )
    assert db.hand_over(run_id=run.run_id, comment_id=step_comment)
    db.close()
    github.clear_requests()

    with running_server(
        database=database, settings_=_with_github(github), client_factory=FakeRollouts().factory
    ):
        _until(lambda: _states(github) == ["error"], f"not written: {_states(github)}")

    (comment,) = github.comments(helpers.PR)
    assert comment["id"] == step_comment
    assert "The rollout was lost" in comment["body"]
    assert sorted(r.method for r in github.requests) == ["PATCH", "POST"]  # by id: no listing
