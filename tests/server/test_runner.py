"""The runner's error handling: retries, refusals, deadlines, agent errors, surprises."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path
from typing import Any

import pytest
import requests

from evals_action import errors, models
from evals_action.eval_protocol import states
from evals_action.server import config, rollout_clients

from .conftest import Running, running_server, settings

DONE = states.RolloutState(terminal=True, status=models.COMPLETED, result={"outcome": "succeeded"})


class Scripted:
    """A rollout client that raises or answers what the test queued, in order."""

    def __init__(self, *, init: list[Any] | None = None, status: list[Any] | None = None) -> None:
        self.init_script = list(init or [])
        self.status_script = list(status or [])
        self.init_calls = 0
        self.cancelled: list[str] = []

    def factory(self, rollout: config.Rollout, session: requests.Session) -> Scripted:
        return self

    def init(self, *, request: dict[str, Any]) -> None:
        self.init_calls += 1
        if self.init_script:
            outcome = self.init_script.pop(0)
            if isinstance(outcome, BaseException):
                raise outcome

    def status(self, *, rollout_id: str) -> states.RolloutState:
        outcome = self.status_script.pop(0) if self.status_script else states.RUNNING_STATE
        if isinstance(outcome, BaseException):
            raise outcome
        assert isinstance(outcome, states.RolloutState)
        return outcome

    def cancel(self, *, rollout_id: str) -> None:
        self.cancelled.append(rollout_id)


def _transient() -> errors.TransientAPIError:
    return errors.TransientAPIError("HTTP 503", status=503, retry_after=0)


@pytest.fixture
def serve(tmp_path: Path) -> Any:
    def start(client: Scripted, settings_: config.ServerConfig | None = None) -> Any:
        return running_server(
            database=tmp_path / "db",
            settings_=settings_ or settings(),
            client_factory=client.factory,
        )

    return start


def _final(server: Running) -> dict[str, Any]:
    run_id = server.start(prompt_id="team/smoke test", template_args={})
    return server.until(run_id, lambda b: b["status"] not in ("pending", "running"))


def test_transient_init_errors_are_retried(serve: Any) -> None:
    client = Scripted(init=[_transient(), _transient()], status=[DONE])
    with serve(client) as server:
        assert _final(server)["status"] == "completed"
    assert client.init_calls == 3


def test_init_gives_up_after_three_transient_errors(serve: Any) -> None:
    client = Scripted(init=[_transient()] * 3)
    with serve(client) as server:
        body = _final(server)
    assert (body["status"], body["failureReason"]) == (
        "failed",
        "The rollout service did not accept the run: HTTP 503",
    )


def test_a_refused_init_fails_at_once(serve: Any) -> None:
    client = Scripted(init=[errors.FatalAPIError("HTTP 422: bad metadata", status=422)])
    with serve(client) as server:
        body = _final(server)
    assert body["failureReason"] == "The rollout service refused the run: HTTP 422: bad metadata"
    assert client.init_calls == 1


def test_status_errors_retry_then_three_client_errors_in_a_row_fail(serve: Any) -> None:
    bad = errors.ClientAPIError("HTTP 400", status=400)
    with serve(Scripted(status=[_transient(), bad, bad, DONE])) as server:
        assert _final(server)["status"] == "completed"
    with serve(Scripted(status=[bad, bad, bad])) as server:
        body = _final(server)
    assert body["failureReason"] == "The rollout service failed: HTTP 400"


def test_a_fatal_status_error_fails_the_run(serve: Any) -> None:
    with serve(Scripted(status=[errors.FatalAPIError("no /status")])) as server:
        assert _final(server)["failureReason"] == "The rollout service failed: no /status"


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (states.RolloutState(terminal=True, status=models.FAILED, message="OOM"), "OOM"),
        (
            states.RolloutState(terminal=True, status=models.FAILED),
            "The agent's rollout failed",
        ),
        (
            states.RolloutState(terminal=True, status=models.TIMED_OUT, message="code 4"),
            "The agent reported its deadline exceeded: code 4",
        ),
    ],
)
def test_agent_failures_become_failure_reasons(serve: Any, state: Any, reason: str) -> None:
    with serve(Scripted(status=[state])) as server:
        assert _final(server)["failureReason"] == reason


def test_the_prompts_deadline_fails_and_cancels_the_rollout(serve: Any) -> None:
    base = settings()
    prompt = dataclasses.replace(base.prompts["team/smoke test"], timeout_minutes=0.001)
    quick = dataclasses.replace(base, prompts={**base.prompts, prompt.id: prompt})
    client = Scripted()
    with serve(client, quick) as server:
        body = _final(server)
    assert body["failureReason"] == "The rollout did not finish within 0.001 minutes"
    assert len(client.cancelled) == 1


def test_an_unexpected_error_fails_the_run_instead_of_leaving_it_running(serve: Any) -> None:
    with serve(Scripted(status=[KeyError("surprise")])) as server:
        body = _final(server)
    assert body["failureReason"] == (
        "Internal error in the evals server while running the rollout; see the server log"
    )


def test_a_run_of_a_prompt_removed_from_the_config_fails_on_restart(tmp_path: Path) -> None:
    from evals_action.server import schema, store

    db = store.Store(path=tmp_path / "db")
    db.create_run(
        new=schema.NewRun(
            run_id="r-old",
            prompt_id="gone",
            request={"urlMap": {}},
            idempotency_key=None,
            repository=None,
            pull_request=None,
            sha=None,
            prompt_title="Gone",
            prompt_text="x",
        )
    )
    db.close()
    with running_server(
        database=tmp_path / "db", settings_=settings(), client_factory=Scripted().factory
    ) as server:
        body = server.until("r-old", lambda b: b["status"] == "failed")
    assert body["failureReason"] == "Prompt gone is no longer in the server's config"


def test_an_unreachable_agent_names_the_configs_url_not_the_actions_input() -> None:
    """The server's users set the agent's address as `url` in [prompts.rollout], not rollout-url."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: connection refused
    rollout = config.Rollout(target="remote", url=f"http://127.0.0.1:{port}")
    with requests.Session() as session:
        client = rollout_clients.backend_clients(rollout, session)
        with pytest.raises(errors.TransientAPIError) as caught:
            client.init(request={"metadata": {"rollout_id": "r-1"}})
    message = str(caught.value)
    assert message.endswith(
        "check the url of the prompt's [prompts.rollout] in the config and that the service is up"
    )
    assert "rollout-url" not in message
