"""Webhook runs end to end on loopback (issue 12's three gaps): the preview of a label or
`/eval` run comes from the head commit's newest successful deployment, the repository's webhook
config fills the prompts' template variables (the ones read from the environment stay secret),
and a deployment of a commit no open pull request has is reported as a commit status only.

Signed deliveries go to a real server; FakeGitHub is the world (its deployments, permissions,
pull requests, and the statuses and comments the server writes); rollouts are `FakeRollouts`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from evals_action import models, outcome
from evals_action.server import config, webhook_routes
from tests.fakes.events import event_payload
from tests.fakes.github import FakeGitHub

from .conftest import WAIT, FakeRollouts, Running, running_server

SECRET = "whsec-previews-0123456789"  # noqa: S105  (a test's webhook secret)
PASSWORD = "pw-from-env-7f3c9a1e5b"  # noqa: S105  (a test's secret template value)
SHA, NO_PR_SHA = "ab" * 20, "cd" * 20
PR = 12
REPO = "octo-org/octo-repo"
ENV = {
    "EVALS_WEBHOOK_SECRET": SECRET,
    "EVALS_GITHUB_TOKEN": "ghs_fake_installation_token",
    "EVALS_DEMO_PASSWORD": PASSWORD,
}
PROMPTS = [
    {"id": "smoke", "text": "Open http://app.example.com and look around."},
    {
        "id": "signup",
        "text": "On http://app.example.com sign up on the {{plan}} plan with {{password}}.",
        "template_vars": ["plan", "password"],
    },
    {
        "id": "regional",
        "text": "Open http://app.example.com in {{region}} on the {{plan}} plan.",
        "template_vars": ["plan", "region"],
    },
]


def _settings(github: FakeGitHub, **repository: Any) -> config.ServerConfig:
    raw: dict[str, Any] = {
        "server": {"poll_interval_seconds": 0.02},
        "fetch": {"allow_private_networks": True},
        "prompts": [
            {**p, "rollout": {"target": "remote", "url": "http://127.0.0.1:9"}} for p in PROMPTS
        ],
        "github": {
            "api_url": github.url,
            "token_env": "EVALS_GITHUB_TOKEN",
            "webhook_secret_env": "EVALS_WEBHOOK_SECRET",
        },
        "webhooks": {
            "repositories": [
                {
                    "repository": REPO,
                    "prompts": ["smoke"],
                    "deployment_status": True,
                    "label": "run-evals",
                    "command": "/eval",
                    **repository,
                }
            ]
        },
    }
    return config.parse(raw=raw, environ=ENV)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_pull(number=PR, head_sha=SHA)
        fake.set_role(login="maintainer", role="maintain")
        yield fake
        assert fake.violations == []


@pytest.fixture
def rollouts() -> FakeRollouts:
    return FakeRollouts()


@pytest.fixture
def serve(tmp_path: Path, github: FakeGitHub, rollouts: FakeRollouts) -> Iterator[Any]:
    """`serve(**repository)`: a server whose one webhook repository has these extra keys."""
    with contextlib.ExitStack() as stack:

        def start(**repository: Any) -> Running:
            return stack.enter_context(
                running_server(
                    database=tmp_path / "evals.sqlite3",
                    settings_=_settings(github, **repository),
                    client_factory=rollouts.factory,
                )
            )

        yield start


def _deliver(server: Running, event: str, payload: Any) -> None:
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    headers = {
        "X-Hub-Signature-256": signature,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-GitHub-Event": event,
        "Content-Type": "application/json",
    }
    response = requests.post(
        server.url + webhook_routes.PATH, data=raw, headers=headers, timeout=WAIT
    )
    assert response.status_code == 202, response.text
    assert server.state.webhooks.wait_idle(timeout=WAIT)


def _label(login: str = "maintainer") -> dict[str, Any]:
    payload = event_payload("pull_request.labeled", pr_number=PR, head_sha=SHA)
    payload["label"]["name"] = "run-evals"
    payload["sender"]["login"] = login
    payload["pull_request"]["body"] = "preview: https://from-pr-text.example.com"
    return payload


def _command(body: str = "/eval") -> dict[str, Any]:
    payload = event_payload("issue_comment.created", pr_number=PR)
    payload["comment"]["body"] = body
    payload["sender"]["login"] = payload["comment"]["user"]["login"] = "maintainer"
    return payload


def _deployment(sha: str, preview: str) -> dict[str, Any]:
    payload = event_payload("deployment_status.created", head_sha=sha)
    payload["deployment_status"]["target_url"] = preview
    return payload


def _runs(server: Running) -> list[Any]:
    return list(
        reversed(server.db.list_runs(prompt_id=None, report_status=None, limit=20, offset=0))
    )


def _url_maps(server: Running) -> list[dict[str, str]]:
    return [dict(run.request["urlMap"]) for run in _runs(server)]


def _rollout_of(server: Running, run_id: str) -> str:
    row = server.db.get_run(run_id=run_id)
    return row.rollout_id or "" if row is not None else ""


def _until(predicate: Any, what: Any) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, what()
        time.sleep(0.02)


# --- 1. the preview of label and /eval runs -------------------------------------------------


def test_a_label_run_gets_the_head_commits_deployment_not_pr_text(
    serve: Any, github: FakeGitHub
) -> None:
    github.add_deployment(sha="ef" * 20, statuses=[("success", "https://other-commit.example")])
    github.add_deployment(sha=SHA, statuses=[("success", "https://pr-12.preview.example.com")])
    server = serve()
    _deliver(server, "pull_request", _label())
    assert _url_maps(server) == [{"app.example.com": "https://pr-12.preview.example.com"}]
    asked = [(r.route, r.query.get("sha")) for r in github.requests if "deployments" in r.route]
    assert asked[0] == (f"/repos/{REPO}/deployments", SHA)


def test_a_command_run_without_a_deployment_uses_the_prompts_own_addresses(
    serve: Any, github: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    server = serve()
    with caplog.at_level(logging.INFO, logger="evals_action.server"):
        _deliver(server, "issue_comment", _command())
    assert _url_maps(server) == [{}]
    said = [r.getMessage() for r in caplog.records if "no successful deployment" in r.message]
    assert len(said) == 1, caplog.text
    assert SHA[:12] in said[0]


def test_the_environment_filter_picks_that_environments_deployment(
    serve: Any, github: FakeGitHub
) -> None:
    github.add_deployment(sha=SHA, environment="Preview", statuses=[("success", "https://pv.ex")])
    github.add_deployment(sha=SHA, environment="Storybook", statuses=[("success", "https://sb.ex")])
    server = serve(environments=["Preview"])
    _deliver(server, "issue_comment", _command())
    assert _url_maps(server) == [{"app.example.com": "https://pv.ex"}]
    environments = {r.query.get("environment") for r in github.requests if "deploy" in r.route}
    assert environments == {"Preview", None}  # the listing asked; the statuses need no filter


def test_a_deployment_whose_newest_status_failed_is_skipped(serve: Any, github: FakeGitHub) -> None:
    """The older deployment's success counts; the newer one succeeded once, then failed."""
    github.add_deployment(sha=SHA, statuses=[("success", "https://older.example")])
    github.add_deployment(
        sha=SHA,
        statuses=[("success", "https://newer.example"), ("failure", "https://newer.example")],
    )
    github.add_deployment(sha=SHA, statuses=[("in_progress", "https://newest.example")])
    server = serve()
    _deliver(server, "pull_request", _label())
    assert _url_maps(server) == [{"app.example.com": "https://older.example"}]


def test_a_success_without_an_http_url_is_no_preview(serve: Any, github: FakeGitHub) -> None:
    github.add_deployment(sha=SHA, statuses=[("success", "ftp://files.example")])
    server = serve()
    _deliver(server, "pull_request", _label())
    assert _url_maps(server) == [{}]


# --- 2. template variables from the webhook config ------------------------------------------


def test_template_vars_come_from_the_config_and_the_environment_and_stay_secret(
    serve: Any,
    github: FakeGitHub,
    rollouts: FakeRollouts,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    github.add_deployment(sha=SHA, statuses=[("success", "https://pr-12.preview.example.com")])
    server = serve(
        prompts=["signup"],
        template_vars={"plan": "pro"},
        template_vars_env={"password": "EVALS_DEMO_PASSWORD"},
    )
    with caplog.at_level(logging.DEBUG):
        _deliver(server, "issue_comment", _command())
        (rollout_id,) = rollouts.started()
        rollouts.finish(rollout_id)
        (run,) = _runs(server)
        server.until(run.run_id, lambda body: body["status"] == models.COMPLETED)
        _until(lambda: _final(github, SHA), lambda: github.statuses(SHA))
    sent = json.dumps(rollouts.requests[rollout_id])
    assert "on the pro plan with " + PASSWORD in sent, "the agent gets the real value"
    assert run.request["templateArgs"] == {"plan": "pro", "password": "***"}
    assert PASSWORD not in caplog.text
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("evals.sqlite3*"))
    assert b"pro plan" in stored
    assert PASSWORD.encode() not in stored
    written = json.dumps([github.statuses(SHA), github.comments(PR)])
    assert PASSWORD not in written


def test_a_prompt_whose_vars_are_not_all_set_is_skipped_naming_them(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = serve(prompts=["regional", "smoke"], template_vars={"plan": "pro"})
    with caplog.at_level(logging.INFO, logger="evals_action.server"):
        _deliver(server, "pull_request", _label())
    assert [run.prompt_id for run in _runs(server)] == ["smoke"]
    (skipped,) = [r.getMessage() for r in caplog.records if "skipped" in r.message]
    named = skipped.split("variable(s)")[1]
    assert "regional" in skipped
    assert "region" in named
    assert "plan" not in named


# --- 3. a deployment without a pull request -------------------------------------------------


def _final(github: FakeGitHub, sha: str) -> list[dict[str, Any]]:
    return [s for s in github.statuses(sha) if s["state"] != "pending"]


def test_a_deployment_without_a_pull_request_is_reported_as_a_commit_status_only(
    serve: Any, github: FakeGitHub, rollouts: FakeRollouts
) -> None:
    server = serve()
    _deliver(server, "deployment_status", _deployment(NO_PR_SHA, "https://main.example.com"))
    (run,) = _runs(server)
    assert (run.pull_request, run.sha) == (None, NO_PR_SHA)
    (rollout_id,) = rollouts.started()
    rollouts.finish(rollout_id)
    body = server.until(run.run_id, lambda body: body["status"] == models.COMPLETED)
    _until(lambda: _final(github, NO_PR_SHA), lambda: github.statuses(NO_PR_SHA))
    (status,) = github.statuses(NO_PR_SHA)
    expected = outcome.final(models.Run.from_wire(body))  # what the action writes for it
    assert (status["state"], status["context"], status["description"], status["target_url"]) == (
        expected.state,
        "2027/eval/smoke",
        outcome.status_description(expected.text),
        expected.target_url,
    )
    assert expected.state == "success"
    assert [r for r in github.requests if "/comments" in r.route] == []


def test_deployments_of_one_commit_without_a_pr_supersede_by_commit(
    serve: Any, github: FakeGitHub, rollouts: FakeRollouts
) -> None:
    """A redeploy of the commit supersedes the run still in flight; only the new one reports."""
    server = serve()
    _deliver(server, "deployment_status", _deployment(NO_PR_SHA, "https://first.example.com"))
    _deliver(server, "deployment_status", _deployment(NO_PR_SHA, "https://second.example.com"))
    first, second = _runs(server)
    assert server.status_of(first.run_id) == models.SUPERSEDED
    _until(lambda: _rollout_of(server, second.run_id), lambda: "the new run never started")
    rollouts.finish(_rollout_of(server, second.run_id))
    body = server.until(second.run_id, lambda body: body["status"] == models.COMPLETED)
    _until(lambda: _final(github, NO_PR_SHA), lambda: github.statuses(NO_PR_SHA))
    (status,) = _final(github, NO_PR_SHA)
    assert status["target_url"] == outcome.final(models.Run.from_wire(body)).target_url


def test_runs_the_action_reports_are_not_superseded_by_commit(serve: Any) -> None:
    """The action's own runs without a PR (it writes their status itself) keep today's rule,
    by pull request: neither another such run nor a webhook run of the commit supersedes them."""
    server = serve()
    context = {"repository": REPO, "sha": NO_PR_SHA}
    ids = [server.start(prompt_id="smoke", template_args={}, context=context) for _ in range(2)]
    _deliver(server, "deployment_status", _deployment(NO_PR_SHA, "https://main.example.com"))
    assert len(_runs(server)) == 3
    assert [server.status_of(i) == models.SUPERSEDED for i in ids] == [False, False]
