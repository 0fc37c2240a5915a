"""The server writes a run's final comment and status itself, with the action's own engine.

Real parts on loopback: the server with the bundled example agent and preview site, the fake
GitHub (validated against GitHub's OpenAPI description), and the real action CLI.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evals_action import github_app, models
from evals_action.server import config, reporter, reporting_config, rollout_clients, store
from tests.fakes.github import FakeGitHub
from tests.integration import helpers

from .conftest import (
    WAIT,
    FakeClock,
    FakeRollouts,
    Running,
    Stack,
    ended_reported_run,
    example_settings,
    running_server,
    settings,
)

PROMPT = "create-project"
CONTEXT = "2027/eval/sign-up-and-create-a-project"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        helpers.seed(fake, None)
        yield fake


def reporting_settings(*, agent_url: str, github: FakeGitHub) -> config.ServerConfig:
    """The bundled example prompts, with `[github]` a plain token for the fake GitHub."""
    loaded = example_settings(agent_url=agent_url)
    gh = reporting_config.GitHubSettings(api_url=github.url, token=github.token)
    return dataclasses.replace(loaded, reporting=reporting_config.ReportingConfig(github=gh))


@pytest.fixture
def served(tmp_path: Path, example_stack: Stack, github: FakeGitHub) -> Iterator[Running]:
    with running_server(
        database=tmp_path / "evals.sqlite3",
        settings_=reporting_settings(agent_url=example_stack.agent, github=github),
        client_factory=rollout_clients.backend_clients,
    ) as running:
        yield running


def _context(**report: Any) -> dict[str, Any]:
    return {
        "repository": "octo-org/octo-repo",
        "pullRequest": helpers.PR,
        "sha": helpers.HEAD_SHA,
        "report": {"by": "server", **report},
    }


def _final_statuses(github: FakeGitHub) -> list[dict[str, Any]]:
    return [s for s in github.statuses(helpers.HEAD_SHA) if s["state"] != "pending"]


def _until_final_status(github: FakeGitHub, count: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT
    while len(found := _final_statuses(github)) < count:
        assert time.monotonic() < deadline, f"no final status: {github.statuses(helpers.HEAD_SHA)}"
        time.sleep(0.02)
    return found


def _until_comment(github: FakeGitHub) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT
    while not (found := github.comments(helpers.PR)):
        assert time.monotonic() < deadline, "no comment"
        time.sleep(0.02)
    return found


def _fields(status: dict[str, Any]) -> tuple[Any, ...]:
    return (status["state"], status["context"], status["description"], status["target_url"])


def _reporter(running: Running, github: FakeGitHub, **options: Any) -> reporter.ServerReporter:
    return reporter.ServerReporter(
        db=running.db,
        tokens=github_app.StaticToken(github.token),
        api_url=github.url,
        public_url=running.url,
        secrets=(),
        stop=threading.Event(),
        **options,
    )


def test_the_server_writes_what_the_action_writes_for_the_same_run(
    tmp_path: Path, example_stack: Stack, github: FakeGitHub
) -> None:
    """The action's CLI waits and reports a run; the server's report of that same run sets the
    same status and finds the sticky comment already saying exactly what it would write."""
    with running_server(
        database=tmp_path / "evals.sqlite3",
        settings_=example_settings(agent_url=example_stack.agent),
        client_factory=rollout_clients.backend_clients,
    ) as running:
        env = helpers.environment(
            tmp_path / "runner",
            github,
            None,
            EVALS_API_BASE_URL=running.url,
            EVALS_API_KEY=running.key,
            EVALS_PROMPT_ID=PROMPT,
            EVALS_URL_MAP=f'{{"app.example.com": "{example_stack.preview}"}}',
            EVALS_TEMPLATE_VARS='{"project_name": "demo"}',
        )
        result = helpers.run_cli(env)
        assert result.code == 0, result.log
        (action_comment,) = github.comments(helpers.PR)
        (action_status,) = _final_statuses(github)
        assert action_status["state"] == "success"
        (row,) = running.db.list_runs(prompt_id=PROMPT, report_status=None, limit=5, offset=0)
        github.clear_requests()

        assert _reporter(running, github).report(row=row)

    (_, server_status) = _final_statuses(github)
    assert _fields(server_status) == _fields(action_status)
    assert github.comments(helpers.PR) == [action_comment]
    calls = helpers.github_calls(github)
    assert not [c for c in calls if c.startswith(("POST", "PATCH")) and "comments" in c], calls
    assert not github.take_violations()


def test_a_run_that_asks_gets_its_final_comment_and_status_from_the_server(
    served: Running, github: FakeGitHub, example_stack: Stack
) -> None:
    run_id = served.start(
        prompt_id=PROMPT, preview=example_stack.preview, context=_context(statusContext="ci/ev")
    )
    served.until(run_id, lambda body: body["status"] == models.COMPLETED)

    (status,) = _until_final_status(github)
    assert (status["state"], status["context"]) == ("success", "ci/ev")
    assert status["target_url"].startswith(f"{served.url}/reports/")
    (comment,) = _until_comment(github)
    assert comment["body"].startswith(f"<!-- 2027-eval-comment:{PROMPT} -->")
    assert "**Succeeded**" in comment["body"]
    assert "**Score:** 100  ·  **Grade:** A+" in comment["body"]
    assert not github.take_violations()


def test_a_run_that_does_not_ask_is_left_to_the_action(
    served: Running, github: FakeGitHub, example_stack: Stack
) -> None:
    context = {key: v for key, v in _context().items() if key != "report"}
    run_id = served.start(prompt_id=PROMPT, preview=example_stack.preview, context=context)
    served.until(run_id, lambda body: body["status"] == models.COMPLETED)
    asked = served.start(prompt_id=PROMPT, preview=example_stack.preview, context=_context())
    served.until(asked, lambda body: body["status"] == models.COMPLETED)

    _until_final_status(github)
    assert len(_final_statuses(github)) == 1  # only the run that asked was reported


def test_github_refusing_the_comment_ends_in_an_error_status_never_pending(
    served: Running, github: FakeGitHub, example_stack: Stack
) -> None:
    """Refused every time: retried `ATTEMPTS` times, then the status says error and why."""
    context = {key: v for key, v in _context().items() if key != "report"}
    run_id = served.start(prompt_id=PROMPT, preview=example_stack.preview, context=context)
    served.until(run_id, lambda body: body["status"] == models.COMPLETED)
    github.fail_next(method="POST", path_pattern=r"/issues/\d+/comments$", status=403, times=None)
    row = served.db.get_run(run_id=run_id)
    assert row is not None

    assert not _reporter(served, github, retry_delay=0.001).report(row=row)

    statuses = _final_statuses(github)
    assert [s["state"] for s in statuses] == ["success"] * reporter.ATTEMPTS + ["error"]
    assert (
        "The evals server could not write the report to GitHub (PR comment: "
        in (statuses[-1]["description"])
    )
    assert github.comments(helpers.PR) == []


def _fake_settings(github: FakeGitHub) -> config.ServerConfig:
    gh = reporting_config.GitHubSettings(api_url=github.url, token=github.token)
    return dataclasses.replace(settings(), reporting=reporting_config.ReportingConfig(github=gh))


def test_a_restart_between_start_and_finish_still_writes_the_report(
    tmp_path: Path, github: FakeGitHub
) -> None:
    rollouts = FakeRollouts()
    database = tmp_path / "evals.sqlite3"
    with running_server(
        database=database, settings_=_fake_settings(github), client_factory=rollouts.factory
    ) as first:
        run_id = first.start(context=_context())
        (rollout_id,) = rollouts.started()
        first.until(run_id, lambda body: body["status"] == models.RUNNING)
    assert _final_statuses(github) == []

    with running_server(
        database=database, settings_=_fake_settings(github), client_factory=rollouts.factory
    ) as second:
        rollouts.finish(rollout_id, status=models.FAILED, message="The agent crashed")
        second.until(run_id, lambda body: body["status"] == models.FAILED)
        (status,) = _until_final_status(github)
        (comment,) = _until_comment(github)

    assert status["state"] in ("failure", "error")
    assert "The agent crashed" in comment["body"]


def test_a_report_a_stopped_server_left_due_is_written_when_it_starts(
    tmp_path: Path, github: FakeGitHub
) -> None:
    """The run's end was stored, then the server stopped before writing the report."""
    database = tmp_path / "evals.sqlite3"
    db = store.Store(path=database)
    run = ended_reported_run(
        db,
        report={"by": "server"},
        failure_reason="The rollout was lost",
        pull_request=helpers.PR,
        sha=helpers.HEAD_SHA,
    )
    assert [r.row.run_id for r in db.reports_due()] == [run.run_id]
    db.close()

    with running_server(
        database=database, settings_=_fake_settings(github), client_factory=FakeRollouts().factory
    ) as running:
        (status,) = _until_final_status(github)
        deadline = time.monotonic() + WAIT
        while running.db.reports_due():
            assert time.monotonic() < deadline, "the report stayed due"
            time.sleep(0.02)

    assert status["state"] in ("failure", "error")
    assert "The rollout was lost" in github.comments(helpers.PR)[0]["body"]


def test_serve_refuses_an_unusable_app_key_in_one_line(tmp_path: Path) -> None:
    """exit 2, one line naming the setting; the database is not left held."""
    from click.testing import CliRunner

    from evals_action.server import cli

    key_file = tmp_path / "app.pem"
    key_file.write_text(
        "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n"
    )
    config_file = tmp_path / "evals.toml"
    config_file.write_text(
        f'[github]\napp_id = "12345"\nprivate_key_file = "{key_file}"\n'
        '[[prompts]]\nid = "p"\ntext = "Open http://app.example.com."\n'
        '[prompts.rollout]\ntarget = "remote"\nurl = "http://127.0.0.1:9"\n'
    )
    database = tmp_path / "evals.sqlite3"
    args = ["--config", str(config_file), "--database", str(database), "--port", "0"]
    result = CliRunner().invoke(cli.serve, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "github.private_key_file: not a usable RSA private key" in lines[0]
    assert "not a key" not in result.output
    assert "Traceback" not in result.output
    from evals_action.server import server_lock

    server_lock.ServerLock(database=database).acquire().release()  # not held by the failed start


def test_a_run_abandoned_past_its_deadline_is_closed_and_reported_after_a_restart(
    tmp_path: Path, github: FakeGitHub
) -> None:
    """The agent never answers and the server restarts after the prompt's timeout: the
    server closes the run on its own and the status says so, never pending."""
    rollouts, clock = FakeRollouts(), FakeClock()
    database = tmp_path / "evals.sqlite3"
    options: dict[str, Any] = {"client_factory": rollouts.factory, "clock": clock}
    with running_server(database=database, settings_=_fake_settings(github), **options) as first:
        run_id = first.start(context=_context())
        rollouts.started()
        first.until(run_id, lambda body: body["status"] == models.RUNNING)
    clock.advance(21 * 60)  # the prompt's timeout_minutes is 20

    with running_server(database=database, settings_=_fake_settings(github), **options) as second:
        body = second.until(run_id, lambda b: b["status"] == models.FAILED)
        (status,) = _until_final_status(github)
        _until_comment(github)

    assert body["failureReason"] == "The rollout did not finish within 20 minutes"
    assert status["state"] == "error"
    assert "did not finish within 20 minutes" in status["description"]
