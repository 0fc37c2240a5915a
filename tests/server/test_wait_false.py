"""`wait: false`: the real action CLI starts the run, writes the pending status and comment and
the run id, and exits; the server writes the final report. Refused (exit 2, nothing started)
when the server does not report for the repository."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evals_action import models, render
from evals_action.server import config, reporting_config
from tests.fakes.evals import FakeEvals
from tests.fakes.github import FakeGitHub
from tests.integration import helpers

from .conftest import WAIT, FakeRollouts, Running, running_server, settings


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        helpers.seed(fake, None)
        yield fake


def _with_github(github: FakeGitHub) -> config.ServerConfig:
    gh = reporting_config.GitHubSettings(api_url=github.url, token=github.token)
    return dataclasses.replace(settings(), reporting=reporting_config.ReportingConfig(github=gh))


def _env(tmp_path: Path, github: FakeGitHub, *, url: str, key: str, **more: str) -> dict[str, str]:
    return helpers.environment(
        tmp_path / "runner",
        github,
        None,
        EVALS_API_BASE_URL=url,
        EVALS_API_KEY=key,
        EVALS_PROMPT_ID="signup",
        EVALS_URL_MAP='{"app.example.com": "http://127.0.0.1:9"}',
        EVALS_TEMPLATE_VARS='{"project_name": "demo"}',
        EVALS_WAIT="false",
        **more,
    )


def _states(github: FakeGitHub) -> list[str]:
    return [s["state"] for s in github.statuses(helpers.HEAD_SHA)]


def test_the_step_ends_at_once_and_the_server_writes_the_final_report(
    tmp_path: Path, github: FakeGitHub
) -> None:
    rollouts = FakeRollouts()
    with running_server(
        database=tmp_path / "db", settings_=_with_github(github), client_factory=rollouts.factory
    ) as server:
        env = _env(tmp_path, github, url=server.url, key=server.key, EVALS_STATUS_CONTEXT="ev")
        result = helpers.run_cli(env)

        assert result.code == 0, result.log
        run_id = result.outputs["run-id"]
        assert server.status_of(run_id) in (models.PENDING, models.RUNNING)  # not waited for
        assert _states(github) == ["pending"]
        (pending,) = github.comments(helpers.PR)
        assert "wait is false: the evals server writes the final status" in result.log

        (rollout_id,) = rollouts.started()
        rollouts.finish(rollout_id, status=models.FAILED, message="The agent gave up")
        server.until(run_id, lambda body: body["status"] == models.FAILED)
        deadline = time.monotonic() + WAIT
        while "The agent gave up" not in github.comments(helpers.PR)[0]["body"]:
            assert time.monotonic() < deadline, github.comments(helpers.PR)
            time.sleep(0.02)

    final = github.statuses(helpers.HEAD_SHA)[-1]
    assert (final["state"], final["context"]) == ("error", "ev")  # as the action says it
    assert "The agent gave up" in final["description"]
    (comment,) = github.comments(helpers.PR)
    assert comment["id"] == pending["id"]  # the same sticky comment, updated by the server
    helpers.assert_no_secrets(result, server.key, github=github)
    assert not github.take_violations()


def _refused(result: helpers.Result, github: FakeGitHub, *words: str) -> None:
    assert result.code == 2, result.log
    helpers.no_traceback(result)
    errors = [line for line in result.log.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, result.log
    for word in words:
        assert word in errors[0], errors[0]
    assert _states(github) == []
    assert github.comments(helpers.PR) == []
    assert "run-id" not in result.outputs


def test_a_server_without_github_refuses_before_anything_starts(
    tmp_path: Path, github: FakeGitHub, server: Running
) -> None:
    result = helpers.run_cli(_env(tmp_path, github, url=server.url, key=server.key))
    _refused(result, github, "wait: false", "no [github] table")
    assert server.db.list_runs(prompt_id=None, report_status=None, limit=5, offset=0) == []


def test_the_managed_api_is_never_asked_to_report(tmp_path: Path, github: FakeGitHub) -> None:
    with FakeEvals() as evals:
        helpers.seed(None, evals)
        env = _env(tmp_path, github, url=evals.url, key=evals.api_key)
        env["EVALS_PROMPT_ID"] = helpers.PROMPT_ID
        result = helpers.run_cli(env)
        started: list[Any] = [r for r in evals.requests if r.method == "POST"]
    _refused(result, github, "does not write reports itself")
    assert started == []


def test_a_rollout_backend_cannot_leave_its_report_to_a_server(
    tmp_path: Path, github: FakeGitHub
) -> None:
    env = _env(tmp_path, github, url="http://127.0.0.1:9", key="k" * 12)
    env.update(
        EVALS_BACKEND="remote",
        EVALS_ROLLOUT_URL="http://127.0.0.1:9",
        EVALS_PROMPT_FILE=str(tmp_path / "nowhere.json"),
    )
    result = helpers.run_cli(env)
    assert result.code == 2, result.log
    assert "wait false needs backend evals-api" in result.log
    assert _states(github) == []


def _report_one(
    server: Running, rollouts: FakeRollouts, github: FakeGitHub, env: dict[str, str]
) -> list[str]:
    """One `wait: false` eval; the GitHub requests the server made to report it."""
    result = helpers.run_cli(env)
    assert result.code == 0, result.log
    run_id = result.outputs["run-id"]
    github.clear_requests()  # from here on, only the server writes
    rollout_id = rollouts.started()[-1]
    rollouts.finish(rollout_id, status=models.FAILED, message=f"gave up on {run_id}")
    deadline = time.monotonic() + WAIT
    while not any(f"gave up on {run_id}" in c["body"] for c in github.comments(helpers.PR)):
        assert time.monotonic() < deadline, github.comments(helpers.PR)
        time.sleep(0.02)
    assert _states(github)[-1] == "error"
    return [f"{r.method} {r.route or r.path}" for r in github.requests]


def test_the_server_edits_the_comment_the_step_handed_over_with_two_requests(
    tmp_path: Path, github: FakeGitHub
) -> None:
    """The step hands its sticky comment's id over: the server's report is that comment's edit
    and the status, with no listing and no `GET /user` (3 + 2 requests per eval, as the action
    alone makes 5)."""
    rollouts = FakeRollouts()
    with running_server(
        database=tmp_path / "db", settings_=_with_github(github), client_factory=rollouts.factory
    ) as server:
        env = _env(tmp_path, github, url=server.url, key=server.key)
        first = _report_one(server, rollouts, github, env)
        second = _report_one(server, rollouts, github, env)

    (comment,) = github.comments(helpers.PR)  # still the one sticky comment
    edit = f"PATCH /repos/{github.full_name}/issues/comments/{comment['id']}"
    status = f"POST /repos/{github.full_name}/statuses/{helpers.HEAD_SHA}"
    assert sorted(first) == sorted(second) == sorted([edit, status]), (first, second)
    assert not github.take_violations()


def test_a_marker_comment_of_someone_else_is_never_edited_by_the_server(
    tmp_path: Path, github: FakeGitHub
) -> None:
    """A comment carrying our marker but written by another user stays as it was, on the
    server's first report and on a later one (its identity then comes from the cache)."""
    foreign_body = f"{render.marker('signup')}\nI copied your marker."
    foreign_id = github.add_comment(
        issue_number=helpers.PR, body=foreign_body, user_login="mallory"
    )
    rollouts = FakeRollouts()
    with running_server(
        database=tmp_path / "db", settings_=_with_github(github), client_factory=rollouts.factory
    ) as server:
        env = _env(tmp_path, github, url=server.url, key=server.key)
        for _ in range(2):
            _report_one(server, rollouts, github, env)

    by_id = {c["id"]: c for c in github.comments(helpers.PR)}
    assert by_id[foreign_id]["body"] == foreign_body
    assert by_id[foreign_id]["user"]["login"] == "mallory"
    (ours,) = [c for i, c in by_id.items() if i != foreign_id]
    assert "gave up on" in ours["body"]  # the server wrote its report on its own comment
    assert not github.take_violations()


def test_a_dry_run_asks_the_server_nothing(tmp_path: Path, github: FakeGitHub) -> None:
    """`--dry-run` sends nothing, so it does not ask whether the server reports either: it says
    what would be asked."""
    with FakeEvals() as evals:
        helpers.seed(None, evals)
        env = _env(tmp_path, github, url=evals.url, key=evals.api_key)
        result = helpers.run_cli(env, "--dry-run")
        asked = list(evals.requests)
    assert result.code == 0, result.log
    assert asked == []
    assert "wait is false: the server would first be asked whether it reports for" in result.log
    assert _states(github) == []
    assert github.comments(helpers.PR) == []


@pytest.mark.parametrize(
    ("more", "args", "words"),
    [
        (
            {"EVALS_REPEATS": "2", "EVALS_MAX_REPEATS": "5", "EVALS_PROMPT_ID": "signup,other"},
            (),
            "max-repeats (5) above repeats (2) needs a step that waits",
        ),
        ({"EVALS_BUDGET_USD": "2.5"}, (), "wait false starts every run at once, so budget-usd"),
        ({}, ("--local",), "and --local writes nothing there: drop one of them"),
    ],
)
def test_wait_false_is_refused_where_nobody_would_decide_or_write(
    tmp_path: Path, github: FakeGitHub, more: dict[str, str], args: tuple[str, ...], words: str
) -> None:
    """Adaptive sampling and a budget decide after each run, which a step that does not wait
    cannot, and `--local` writes nothing to GitHub: with `wait: false` each is one line, exit 2,
    before anything starts."""
    with FakeEvals() as evals:
        helpers.seed(None, evals)
        env = {**_env(tmp_path, github, url=evals.url, key=evals.api_key), **more}
        result = helpers.run_cli(env, *args)
        asked = list(evals.requests)
    assert result.code == 2, result.log
    helpers.no_traceback(result)
    assert asked == []
    (line,) = [line for line in result.log.splitlines() if words in line]
    assert line.startswith("::error") or args, result.log  # one error line, in Actions' form
    assert _states(github) == []
    assert github.comments(helpers.PR) == []
