"""Fixtures for the server tests: a real server on loopback, a temporary database, a key.

Rollouts are either `FakeRollouts` (an in-process `rollout_clients.RolloutClient` whose rollouts end
when the test says so, for supersession, long polling and restarts) or the bundled example
agent and preview site behind the real `backends.remote` client.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from evals_action import models, transport
from evals_action.backends import evals_api
from evals_action.demo.examples import agent, preview_site
from evals_action.eval_protocol import states
from evals_action.server import (
    app,
    config,
    keys,
    rollout_clients,
    schema,
    serving,
    store,
    wakeups,
)

WAIT = 10.0  # seconds a poll-until may take before the test fails


class FakeClock:
    """A clock the test moves; starts at the real time so timestamps look normal."""

    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeRollouts:
    """A `rollout_clients.RolloutClient` for every run; the test decides when each rollout ends."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.requests: dict[str, dict[str, Any]] = {}
        self._states: dict[str, states.RolloutState] = {}
        self.status_calls = 0

    def factory(self, rollout: config.Rollout, session: requests.Session) -> FakeRollouts:
        return self

    def init(self, *, request: dict[str, Any]) -> None:
        rollout_id = request["metadata"]["rollout_id"]
        with self._changed:
            self.requests[rollout_id] = request
            self._states.setdefault(rollout_id, states.RUNNING_STATE)
            self._changed.notify_all()

    def status(self, *, rollout_id: str) -> states.RolloutState:
        with self._changed:
            self.status_calls += 1
            self._changed.notify_all()
            return self._states.get(rollout_id, states.RUNNING_STATE)

    def finish(
        self,
        rollout_id: str,
        *,
        status: str = models.COMPLETED,
        message: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> None:
        with self._changed:
            self._states[rollout_id] = states.RolloutState(
                terminal=True, status=status, message=message, result=result
            )

    def started(self, count: int = 1) -> list[str]:
        """Rollout ids, once at least `count` rollouts were sent `/init`."""
        with self._changed:
            ok = self._changed.wait_for(lambda: len(self.requests) >= count, timeout=WAIT)
            assert ok, f"only {len(self.requests)} of {count} rollouts started"
            return list(self.requests)


@dataclasses.dataclass
class Running:
    """A server under test."""

    url: str
    key: str
    database: Path
    db: store.Store
    changes: wakeups.Changes
    state: Any = None  # the app's `state` (its `webhooks` intake)

    def session(self, *, key: str | None = None) -> requests.Session:
        session = transport.new_session()
        session.headers["Authorization"] = f"Bearer {key or self.key}"
        return session

    def backend(self) -> evals_api.EvalsApiBackend:
        """The action's own client for the evals API."""
        return evals_api.EvalsApiBackend(
            session=transport.new_session(), base_url=self.url, api_key=self.key
        )

    def start(
        self,
        *,
        prompt_id: str = "signup",
        template_args: Mapping[str, str] | None = None,
        context: Mapping[str, Any] | None = None,
        preview: str = "http://127.0.0.1:9",
        idempotency_key: str = "",
    ) -> str:
        import uuid

        started = self.backend().start(
            request=models.StartRequest(
                prompt_id=prompt_id,
                url_map={"app.example.com": preview},
                template_args={"project_name": "demo"} if template_args is None else template_args,
                idempotency_key=idempotency_key or str(uuid.uuid4()),
                context=context,
            )
        )
        return started.run_id

    def run(self, run_id: str) -> dict[str, Any]:
        response = self.session().get(f"{self.url}/api/v1/runs/{run_id}", timeout=WAIT)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def until(self, run_id: str, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Poll (long polls, so no fixed sleeps) until the run satisfies `predicate`."""
        import time

        deadline = time.monotonic() + WAIT
        while True:
            body = (
                self.session()
                .get(f"{self.url}/api/v1/runs/{run_id}", params={"wait": 1}, timeout=WAIT)
                .json()
            )
            if predicate(body):
                return body
            assert time.monotonic() < deadline, f"run never got there: {body}"

    def until_watching(self, run_id: str) -> None:
        """Poll until a long poll is being held on the run (the server registered it)."""
        import time

        deadline = time.monotonic() + WAIT
        while self.changes.watching(run_id=run_id) == 0:
            assert time.monotonic() < deadline, "the long poll never arrived"
            time.sleep(0.005)

    def status_of(self, run_id: str) -> str:
        row = self.db.get_run(run_id=run_id)
        assert row is not None
        return row.status


def settings(**server: Any) -> config.ServerConfig:
    """Two prompts on a remote target, polled fast; previews on loopback allowed."""
    raw = {
        "server": {"poll_interval_seconds": 0.02, "long_poll_max_seconds": 20, **server},
        "fetch": {"allow_private_networks": True},  # the tests' previews are on loopback
        "prompts": [
            {
                "id": "signup",
                "title": "Sign up and create a project",
                "text": 'On http://app.example.com create a project named "{{project_name}}".',
                "template_vars": ["project_name"],
                "rollout": {"target": "remote", "url": "http://127.0.0.1:9"},
                "checks": [
                    {"type": "contains", "value": "{{project_name}}"},
                    {
                        "type": "http",
                        "url": "http://app.example.com/api/projects",
                        "json_contains": {"name": "{{project_name}}"},
                    },
                ],
            },
            {
                "id": "team/smoke test",
                "title": "Smoke <b>test</b>",
                "text": "Open http://app.example.com.",
                "rollout": {"target": "remote", "url": "http://127.0.0.1:9"},
            },
        ],
    }
    return config.parse(raw=raw, environ={})


@contextlib.contextmanager
def running_server(
    *,
    database: Path,
    settings_: config.ServerConfig | Callable[[str], config.ServerConfig],
    client_factory: rollout_clients.ClientFactory,
    **app_options: Any,
) -> Iterator[Running]:
    """`app_options` go to `app.create_app` (`clock`, `open_store`); `settings_` may be made
    from the server's URL (an OIDC audience)."""
    db = store.Store(path=database)
    _, key = keys.create(store=db, name="tests")
    sock = serving.listen(host="127.0.0.1", port=0)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    application = app.create_app(
        database=database,
        settings=settings_(url) if callable(settings_) else settings_,
        public_url=url,
        client_factory=client_factory,
        **app_options,
    )
    with serving.Background(app=application, sock=sock):
        yield Running(
            url=url,
            key=key,
            database=database,
            db=db,
            changes=application.state.changes,
            state=application.state,
        )
    db.close()


@pytest.fixture
def rollouts() -> FakeRollouts:
    return FakeRollouts()


@pytest.fixture
def server(tmp_path: Path, rollouts: FakeRollouts) -> Iterator[Running]:
    with running_server(
        database=tmp_path / "evals.sqlite3", settings_=settings(), client_factory=rollouts.factory
    ) as running:
        yield running


@dataclasses.dataclass(frozen=True)
class Stack:
    """The bundled example preview site and agent, on loopback."""

    preview: str
    agent: str


@pytest.fixture(scope="session")
def example_stack() -> Iterator[Stack]:
    with (
        serving.Background(app=preview_site.create_app()) as preview,
        serving.Background(app=agent.create_app()) as agent_server,
    ):
        yield Stack(preview=preview.url, agent=agent_server.url)


def example_settings(*, agent_url: str) -> config.ServerConfig:
    """The bundled example `prompts.toml`, pointed at the test's agent, polled fast."""
    from evals_action import demo

    loaded = demo.demo_settings(agent_url=agent_url, options=demo.Options())
    return dataclasses.replace(loaded, poll_interval_seconds=0.02)


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One server for a module's read-only tests (cheaper than one per test)."""
    fakes = FakeRollouts()
    database = tmp_path_factory.mktemp("shared") / "evals.sqlite3"
    with running_server(
        database=database, settings_=settings(), client_factory=fakes.factory
    ) as running:
        yield running


def ended_reported_run(
    db: store.Store, *, report: Mapping[str, Any], failure_reason: str, pull_request: int, sha: str
) -> schema.RunRow:
    """A `signup` run on octo-org/octo-repo that asked the server to report (`report`), stored
    and ended `failed` while no server ran: what a restarted server finds due."""
    run, _, _ = db.create_run(
        new=schema.NewRun(
            run_id="11111111-2222-3333-4444-555555555555",
            prompt_id="signup",
            request={"urlMap": {}, "templateArgs": {"project_name": "demo"}, "report": report},
            idempotency_key=None,
            repository="octo-org/octo-repo",
            pull_request=pull_request,
            sha=sha,
            prompt_title="Sign up and create a project",
            prompt_text="Sign up.",
        )
    )
    db.finish(run_id=run.run_id, status=models.FAILED, failure_reason=failure_reason)
    return run
