"""`POST /api/v1/github/webhooks` end to end on loopback: GitHub's example payloads, signed with
the secret, start runs whose final comment and status the server writes; forged, replayed and
read-only deliveries start nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from evals_action import models
from evals_action.server import config, rollout_clients, webhook_routes
from tests.fakes.events import event_payload
from tests.fakes.github import FakeGitHub

from .conftest import WAIT, FakeRollouts, Running, Stack, running_server

SECRET = "whsec-route-0123456789"  # noqa: S105  (a test's webhook secret)
SHA = "cd" * 20
PR = 12
ENV = {"EVALS_WEBHOOK_SECRET": SECRET, "EVALS_GITHUB_TOKEN": "ghs_fake_installation_token"}
TEXT = (
    "You are testing the web app at http://app.example.com.\n"
    'Sign up for an account, then create a project named "demo".\n'
    'The app\'s API: POST /api/signup with {"email", "password"} returns {"token"};\n'
    'POST /api/projects with {"name"} and the header "Authorization: Bearer <token>" creates a\n'
    "project; GET /api/projects lists projects. When you are done, say which project you created."
)


def _settings(*, agent: str, github: FakeGitHub) -> config.ServerConfig:
    raw: dict[str, Any] = {
        "server": {"poll_interval_seconds": 0.02},
        "fetch": {"allow_private_networks": True},
        "prompts": [
            {
                "id": "smoke",
                "title": "Create the demo project",
                "text": TEXT,
                "rollout": {
                    "target": "remote",
                    "url": agent,
                    "completion_params": {"model": "fixed-plan"},
                },
                "checks": [{"type": "contains", "value": "demo"}],
            }
        ],
        "github": {
            "api_url": github.url,
            "token_env": "EVALS_GITHUB_TOKEN",
            "webhook_secret_env": "EVALS_WEBHOOK_SECRET",
        },
        "webhooks": {
            "repositories": [
                {
                    "repository": "octo-org/octo-repo",
                    "prompts": ["smoke"],
                    "deployment_status": True,
                    "command": "/eval",
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
        fake.set_role(login="reader", role="read")
        yield fake


def _deliver(
    server: Running, event: str, payload: Any, *, delivery: str = "", secret: str = SECRET
) -> requests.Response:
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    headers = {
        "X-Hub-Signature-256": signature,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Event": event,
        "Content-Type": "application/json",
    }
    response = requests.post(
        server.url + webhook_routes.PATH, data=raw, headers=headers, timeout=WAIT
    )
    assert server.state.webhooks.wait_idle(timeout=WAIT)
    return response


def _deployment(preview: str) -> dict[str, Any]:
    payload = event_payload("deployment_status.created", head_sha=SHA)
    payload["deployment_status"]["target_url"] = preview
    return payload


def _command(login: str) -> dict[str, Any]:
    payload = event_payload("issue_comment.created", pr_number=PR)
    payload["comment"]["body"] = "/eval"
    payload["sender"]["login"] = payload["comment"]["user"]["login"] = login
    return payload


def _runs(server: Running) -> list[Any]:
    return server.db.list_runs(prompt_id=None, report_status=None, limit=10, offset=0)


def test_a_deployment_runs_the_prompt_and_the_server_reports_it(
    tmp_path: Path, example_stack: Stack, github: FakeGitHub
) -> None:
    with running_server(
        database=tmp_path / "db",
        settings_=_settings(agent=example_stack.agent, github=github),
        client_factory=rollout_clients.backend_clients,
    ) as server:
        response = _deliver(server, "deployment_status", _deployment(example_stack.preview))
        assert response.status_code == 202, response.text
        (run,) = _runs(server)
        assert (run.repository, run.pull_request, run.sha) == ("octo-org/octo-repo", PR, SHA)
        assert run.request["urlMap"] == {"app.example.com": example_stack.preview}
        server.until(run.run_id, lambda body: body["status"] == models.COMPLETED)
        deadline = time.monotonic() + WAIT
        while not github.comments(PR) or "Running" in github.comments(PR)[0]["body"]:
            assert time.monotonic() < deadline, github.comments(PR)
            time.sleep(0.02)

    (status,) = github.statuses(SHA)
    assert (status["state"], status["context"]) == ("success", "2027/eval/create-the-demo-project")
    assert "**Succeeded**" in github.comments(PR)[0]["body"]
    assert not github.take_violations()


@pytest.fixture
def hooked(tmp_path: Path, github: FakeGitHub) -> Iterator[Running]:
    with running_server(
        database=tmp_path / "db",
        settings_=_settings(agent="http://127.0.0.1:9", github=github),
        client_factory=FakeRollouts().factory,
    ) as server:
        yield server


def test_a_forged_signature_is_refused_and_runs_nothing(
    hooked: Running, github: FakeGitHub
) -> None:
    response = _deliver(hooked, "deployment_status", _deployment("https://p.example"), secret="x")
    assert response.status_code == 401
    assert SECRET not in response.text
    assert _runs(hooked) == []
    assert github.requests == []


def test_a_replayed_delivery_runs_nothing_more(hooked: Running) -> None:
    payload = _deployment("https://pr-12.preview.example.com")
    assert _deliver(hooked, "deployment_status", payload, delivery="d-1").status_code == 202
    assert len(_runs(hooked)) == 1
    assert _deliver(hooked, "deployment_status", payload, delivery="d-1").status_code == 202
    assert len(_runs(hooked)) == 1


def test_a_command_runs_only_for_a_user_who_can_write(hooked: Running, github: FakeGitHub) -> None:
    assert _deliver(hooked, "issue_comment", _command("reader")).status_code == 202
    assert _runs(hooked) == []
    assert _deliver(hooked, "issue_comment", _command("maintainer")).status_code == 202
    (run,) = _runs(hooked)
    assert (run.pull_request, run.sha, run.request["urlMap"]) == (PR, SHA, {})
