"""The remote backend against a loopback rollout service and tracing gateway."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from evals_action import errors, models, settings
from evals_action.backends import remote
from evals_action.eval_protocol import remote_client, states
from tests.fakes._http import Reply

from . import servers
from .conftest import (
    MODEL_KEY,
    TARGET,
    TRACING_KEY,
    assert_no_secret,
    no_github,
    no_sleep,
    start_request,
)


def backend_for(config: settings.Settings, session: Any) -> remote.RemoteBackend:
    made = remote.create(
        settings=config,
        target=TARGET,
        session=session,
        github=no_github,
        sleep=no_sleep,
        clock=time.monotonic,
    )
    assert isinstance(made, remote.RemoteBackend)
    return made


@pytest.fixture
def started(
    service: servers.RolloutService,
    make_settings: Callable[..., settings.Settings],
    session: Any,
) -> tuple[remote.RemoteBackend, models.StartedRun]:
    config = make_settings(backend="remote", rollout_url=service.url, rollout_status="service")
    backend = backend_for(config, session)
    return backend, backend.start(request=start_request(config))


def test_init_request_is_exactly_the_contract(
    service: servers.RolloutService,
    started: tuple[remote.RemoteBackend, models.StartedRun],
) -> None:
    """POST /init sends the six InitRequest keys, targeted messages and the metadata ids."""
    _, run = started
    (body,) = service.inits
    meta = body["metadata"]
    assert body == {
        "completion_params": {"model": "accounts/fw/models/base", "temperature": 0},
        "messages": [
            {"role": "system", "content": "You are a shopper."},
            {"role": "user", "content": "Buy socks on https://pr-12.preview.dev/cart please."},
        ],
        "tools": [{"type": "function", "function": {"name": "browse", "parameters": {}}}],
        "model_base_url": "https://models.example.com/v1",
        "metadata": {
            "invocation_id": "gh-777-2",
            "experiment_id": "octo/shop#12",
            "rollout_id": meta["rollout_id"],
            "run_id": meta["run_id"],
            "row_id": "prompt-123",
            "url_map": {"shop.example.com": "https://pr-12.preview.dev"},
            "template_args": {"item": "socks"},
        },
        "api_key": MODEL_KEY,
    }
    assert len(meta["rollout_id"]) >= 16
    assert meta["rollout_id"] != meta["run_id"]
    assert run.run_id == meta["rollout_id"]
    assert run.run_url == f"{service.url}/status?rollout_id={meta['rollout_id']}"
    assert dict(run.extra_outputs) == {
        "invocation-id": "gh-777-2",
        "experiment-id": "octo/shop#12",
        "rollout-id": meta["rollout_id"],
        "correlation-run-id": meta["run_id"],
        "row-id": "prompt-123",
    }


def test_init_sends_null_for_unset_keys(
    service: servers.RolloutService,
    make_settings: Callable[..., settings.Settings],
    session: Any,
    tmp_path: Any,
) -> None:
    """Keys are present even when null: no tools, no model URL, no api key."""
    prompt = tmp_path / "bare.json"
    prompt.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}))
    config = make_settings(
        backend="remote",
        rollout_url=service.url,
        prompt_file=str(prompt),
        completion_params='{"model": "m"}',
        model_base_url="",
        model_api_key="",
        rollout_id="r-fixed",
        invocation_id="inv",
        experiment_id="exp",
        correlation_run_id="run",
    )
    backend_for(config, session).start(request=start_request(config))
    (body,) = service.inits
    assert body["tools"] is None
    assert body["model_base_url"] is None
    assert body["api_key"] is None
    assert body["completion_params"] == {"model": "m"}
    assert {k: body["metadata"][k] for k in ("invocation_id", "experiment_id", "rollout_id")} == {
        "invocation_id": "inv",
        "experiment_id": "exp",
        "rollout_id": "r-fixed",
    }
    assert body["metadata"]["run_id"] == "run"


def test_retried_start_reuses_the_rollout_id(
    service: servers.RolloutService,
    make_settings: Callable[..., settings.Settings],
    session: Any,
) -> None:
    """A 503 on /init is transient; the retry sends the same rollout_id."""
    service.init_replies.append(Reply(503, {"detail": "warming up"}, {"Retry-After": "3"}))
    config = make_settings(backend="remote", rollout_url=service.url)
    backend = backend_for(config, session)
    with pytest.raises(errors.TransientAPIError) as caught:
        backend.start(request=start_request(config))
    assert caught.value.status == 503
    assert caught.value.retry_after == 3
    run = backend.start(request=start_request(config))
    sent = [r.json["metadata"]["rollout_id"] for r in service.requests if r.path == "/init"]
    assert sent == [run.run_id, run.run_id]


def test_init_4xx_is_fatal_with_the_body_redacted(
    service: servers.RolloutService,
    make_settings: Callable[..., settings.Settings],
    session: Any,
) -> None:
    """A 422 echoing the request (api_key included) is fatal; the key never shows."""
    echo = {"detail": [{"msg": "bad model", "input": {"api_key": MODEL_KEY}}], "pad": "x" * 400}
    service.init_replies.append(Reply(422, echo))
    config = make_settings(backend="remote", rollout_url=service.url)
    with pytest.raises(errors.FatalAPIError) as caught:
        backend_for(config, session).start(request=start_request(config))
    message = str(caught.value)
    assert "HTTP 422" in message
    assert "bad model" in message
    assert "***" in message
    assert len(message) < 300 + 200
    assert_no_secret(message, repr(caught.value.args))


def test_init_key_cut_at_300_chars_never_leaks_a_prefix(
    service: servers.RolloutService,
    make_settings: Callable[..., settings.Settings],
    session: Any,
) -> None:
    """Redaction happens before the 300-character cut, so no partial key survives."""
    body = "e" * 290 + MODEL_KEY
    service.init_replies.append(Reply(400, body.encode()))
    config = make_settings(backend="remote", rollout_url=service.url)
    with pytest.raises(errors.FatalAPIError) as caught:
        backend_for(config, session).start(request=start_request(config))
    assert_no_secret(str(caught.value))
    assert MODEL_KEY[:5] not in str(caught.value)


def test_init_timeout_is_transient_and_never_echoes_the_payload(
    make_settings: Callable[..., settings.Settings],
    session: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A service that never answers: transient error naming the URL, not the body or key."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never answers
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    monkeypatch.setattr(remote_client, "INIT_TIMEOUT", (1.0, 0.2))
    config = make_settings(backend="remote", rollout_url=url)
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(errors.TransientAPIError) as caught:
            backend_for(config, session).start(request=start_request(config))
    finally:
        listener.close()
    assert "no answer" in str(caught.value)
    assert url in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert_no_secret(str(caught.value), caplog.text)


def test_unreachable_service_is_transient(
    make_settings: Callable[..., settings.Settings], session: Any
) -> None:
    """Connection refused → transient, with a hint to check rollout-url."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = make_settings(backend="remote", rollout_url=f"http://127.0.0.1:{port}")
    with pytest.raises(errors.TransientAPIError, match="check rollout-url"):
        backend_for(config, session).start(request=start_request(config))


# --- service status ---------------------------------------------------------------------------


def test_service_status_running_then_finished_with_result(
    service: servers.RolloutService,
    started: tuple[remote.RemoteBackend, models.StartedRun],
) -> None:
    """terminated:false is running; terminated with code 100 and info.result is the report."""
    backend, run = started
    result = {
        "schema": 1,
        "rollout_id": run.run_id,
        "outcome": "succeeded",
        "score": 87,
        "grade": "B+",
        "summary": "checked out",
        "report_url": "https://reports.example.com/r/1",
        "metrics": {"timeSeconds": 134, "costUsd": 0.12, "errors": 1, "interruptions": 0},
    }
    service.script(
        run.run_id,
        {"terminated": False},
        {"terminated": True, "info": {"result": result}, "status": {"code": 100, "message": "ok"}},
    )
    first = backend.fetch(run_id=run.run_id)
    assert (first.status, first.terminal, first.report) == (models.RUNNING, False, None)
    assert first.prompt_title == "Checkout works"
    assert first.prompt_text == "Buy socks on https://pr-12.preview.dev/cart please."
    done = backend.fetch(run_id=run.run_id)
    assert done.status == models.COMPLETED
    assert done.report is not None
    report = done.report
    assert (report.outcome, report.score, report.grade, report.url) == (
        "succeeded",
        87.0,
        "B+",
        "https://reports.example.com/r/1",
    )
    assert report.what_didnt == "checked out"
    assert report.metrics == models.Metrics(
        time_seconds=134.0, cost_usd=0.12, errors=1, interruptions=0
    )
    assert report.raw["summary"] == {"whatDidnt": "checked out"}


@pytest.mark.parametrize(
    ("answer", "status", "reason", "outcome"),
    [
        ({"terminated": True}, models.COMPLETED, None, "succeeded"),
        (
            {"terminated": True, "status": {"code": 13, "message": "agent crashed"}},
            models.FAILED,
            "agent crashed",
            None,
        ),
        (
            {"terminated": True, "status": {"code": 4, "message": "too slow"}},
            models.TIMED_OUT,
            "too slow",
            None,
        ),
        (
            {"terminated": True, "status": {"code": 103, "message": "gibberish"}},
            models.COMPLETED,
            None,
            "response_quality_error",
        ),
    ],
)
def test_service_terminal_statuses(
    service: servers.RolloutService,
    started: tuple[remote.RemoteBackend, models.StartedRun],
    answer: dict[str, Any],
    status: str,
    reason: str | None,
    outcome: str | None,
) -> None:
    """Terminated without status is finished; codes map as in the contract table."""
    backend, run = started
    service.script(run.run_id, answer)
    seen = backend.fetch(run_id=run.run_id)
    assert (seen.status, seen.failure_reason) == (status, reason)
    assert (seen.report.outcome if seen.report else None) == outcome


def test_service_malformed_result_is_a_warning(
    service: servers.RolloutService,
    started: tuple[remote.RemoteBackend, models.StartedRun],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A result with a score of 900 is dropped with a warning; the rollout still succeeded."""
    backend, run = started
    service.script(run.run_id, {"terminated": True, "info": {"result": {"score": 900}}})
    with caplog.at_level(logging.WARNING):
        seen = backend.fetch(run_id=run.run_id)
    assert seen.report is not None
    assert seen.report.outcome == "succeeded"
    assert seen.report.score is None
    assert "score must be a number from 0 to 100" in caplog.text


def test_service_5xx_on_status_is_transient(
    service: servers.RolloutService,
    started: tuple[remote.RemoteBackend, models.StartedRun],
) -> None:
    """A 502 from /status is retried by the polling loop."""
    backend, run = started
    service.script(run.run_id, {"_reply": {"status": 502, "body": {"detail": "bad gateway"}}})
    with pytest.raises(errors.TransientAPIError):
        backend.fetch(run_id=run.run_id)


def test_service_mode_404_says_what_to_do(
    make_settings: Callable[..., settings.Settings], session: Any
) -> None:
    """rollout-status: service with no /status → fatal, pointing at gateway mode."""
    with servers.RolloutService(has_status=False) as svc:
        config = make_settings(backend="remote", rollout_url=svc.url, rollout_status="service")
        backend = backend_for(config, session)
        run = backend.start(request=start_request(config))
        with pytest.raises(errors.FatalAPIError, match="no GET /status.*gateway"):
            backend.fetch(run_id=run.run_id)


def test_auto_404_without_tracing_url_says_so(
    make_settings: Callable[..., settings.Settings], session: Any
) -> None:
    """auto with no /status and no tracing-url → an error asking for tracing-url."""
    with servers.RolloutService(has_status=False) as svc:
        config = make_settings(backend="remote", rollout_url=svc.url)
        backend = backend_for(config, session)
        run = backend.start(request=start_request(config))
        with pytest.raises(errors.FatalAPIError, match="set tracing-url"):
            backend.fetch(run_id=run.run_id)


# --- gateway status ---------------------------------------------------------------------------


def test_auto_falls_back_to_the_gateway_and_reads_the_logs(
    gateway: servers.TracingGateway,
    make_settings: Callable[..., settings.Settings],
    session: Any,
) -> None:
    """auto: /status 404 → /v1/status (and its link); a terminal code → one /logs lookup."""
    with servers.RolloutService(has_status=False) as svc:
        config = make_settings(
            backend="remote",
            rollout_url=svc.url,
            tracing_url=gateway.url,
            tracing_api_key=TRACING_KEY,
        )
        backend = backend_for(config, session)
        run = backend.start(request=start_request(config))
        assert backend.fetch(run_id=run.run_id).status == models.RUNNING  # status null
        gateway.post(rollout_id=run.run_id, code=101, message="working")
        assert backend.fetch(run_id=run.run_id).status == models.RUNNING
        gateway.post(rollout_id=run.run_id, code=13, message="browser crashed")
        gateway.post(rollout_id="someone-else", code=100, message="done")
        seen = backend.fetch(run_id=run.run_id)
        service_calls = [r.path for r in svc.requests]
    assert (seen.status, seen.failure_reason) == (models.FAILED, "browser crashed")
    assert run.run_url == f"{svc.url}/status?rollout_id={run.run_id}"  # not known yet at start
    # /status answered 404: the comment and the status now link the gateway's status instead.
    assert seen.run_url == seen.status_url == f"{gateway.url}/v1/status?rollout_id={run.run_id}"
    assert service_calls == ["/init", "/status"]  # the 404 is remembered
    calls = [(r.method, r.path) for r in gateway.requests]
    assert calls == [
        ("GET", "/v1/status"),
        ("GET", "/v1/status"),
        ("GET", "/v1/status"),
        ("GET", "/logs"),
    ]
    assert {r.header("authorization") for r in gateway.requests} == {f"Bearer {TRACING_KEY}"}
    assert [r.query["rollout_id"] for r in gateway.requests[:3]] == [run.run_id] * 3
    assert gateway.requests[3].query["tags"] == f"rollout_id:{run.run_id}"


def test_gateway_result_from_the_finish_log(
    gateway: servers.TracingGateway,
    service: servers.RolloutService,
    make_settings: Callable[..., settings.Settings],
    session: Any,
) -> None:
    """The finish entry's extras.result becomes the report; the key never goes to the service."""
    config = make_settings(
        backend="remote",
        rollout_url=service.url,
        rollout_status="gateway",
        tracing_url=gateway.url,
        tracing_api_key=TRACING_KEY,
    )
    backend = backend_for(config, session)
    run = backend.start(request=start_request(config))
    assert run.run_url == f"{gateway.url}/v1/status?rollout_id={run.run_id}"
    gateway.post(
        rollout_id=run.run_id,
        code=100,
        message="finished",
        result={"schema": 1, "outcome": "goal_not_met", "score": 40, "summary": "cart empty"},
    )
    seen = backend.fetch(run_id=run.run_id)
    assert seen.status == models.COMPLETED
    assert seen.report is not None
    assert (seen.report.outcome, seen.report.score, seen.report.what_didnt) == (
        "goal_not_met",
        40.0,
        "cart empty",
    )
    assert all(r.header("authorization") is None for r in service.requests)


def test_gateway_legacy_paths(
    make_settings: Callable[..., settings.Settings],
    service: servers.RolloutService,
    session: Any,
) -> None:
    """/v1/status 404 → /status; /logs 404 → /v1/logs; both remembered."""
    with servers.TracingGateway(v1_status=False, logs_path="/v1/logs") as gw:
        config = make_settings(
            backend="remote", rollout_url=service.url, rollout_status="gateway", tracing_url=gw.url
        )
        backend = backend_for(config, session)
        run = backend.start(request=start_request(config))
        gw.post(rollout_id=run.run_id, code=4, message="deadline")
        first = backend.fetch(run_id=run.run_id)
        second = backend.fetch(run_id=run.run_id)
        paths = [r.path for r in gw.requests]
        assert gw.violations == []
    assert first.status == second.status == models.TIMED_OUT
    assert first.failure_reason == "deadline"
    assert paths == [
        "/v1/status",
        "/status",
        "/logs",
        "/v1/logs",
        "/status",
        "/v1/logs",
    ]


def test_gateway_401_is_fatal_and_redacted(
    gateway: servers.TracingGateway,
    service: servers.RolloutService,
    make_settings: Callable[..., settings.Settings],
    session: Any,
) -> None:
    """A wrong tracing key → fatal 401; the message has no key."""
    config = make_settings(
        backend="remote",
        rollout_url=service.url,
        rollout_status="gateway",
        tracing_url=gateway.url,
        tracing_api_key="wrong-" + TRACING_KEY,
    )
    backend = backend_for(config, session)
    run = backend.start(request=start_request(config))
    with pytest.raises(errors.FatalAPIError) as caught:
        backend.fetch(run_id=run.run_id)
    assert caught.value.status == 401
    assert_no_secret(str(caught.value))


def test_client_is_usable_alone(service: servers.RolloutService, session: Any) -> None:
    """The server's integration surface: init + status with a plain InitRequest dict."""
    client = remote_client.RemoteRolloutClient(session=session, rollout_url=service.url + "/")
    body = {
        "completion_params": {"model": "m"},
        "messages": [{"role": "user", "content": "hi"}],
        "tools": None,
        "model_base_url": None,
        "metadata": {
            "invocation_id": "i",
            "experiment_id": "e",
            "rollout_id": "r1",
            "run_id": "x",
            "row_id": "p",
        },
        "api_key": None,
    }
    client.init(request=body)
    service.script("r1", {"terminated": True, "status": {"code": 100, "message": "done"}})
    assert client.status(rollout_id="r1") == states.RolloutState(
        terminal=True, status=models.COMPLETED, message="done", result=None
    )
    assert client.status(rollout_id="other") == states.RolloutState(
        terminal=False, status=models.RUNNING
    )
