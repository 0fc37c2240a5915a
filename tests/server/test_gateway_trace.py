"""An unchanged Eval Protocol agent: no result, no /status; graded from the gateway's trace."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from evals_action.server import config, rollout_clients
from tests.backends import servers

from .conftest import running_server

KEY = "fw-shared-SECRET-5566778899"  # Fireworks-style: one key for the model and the gateway


def settings(*, agent: str, gateway: str) -> config.ServerConfig:
    port = urllib.parse.urlsplit(gateway).port
    raw = {
        "server": {"poll_interval_seconds": 0.02, "long_poll_max_seconds": 20},
        "fetch": {"allow_private_networks": True},  # the preview is on loopback
        "prompts": [
            {
                "id": "shop",
                "title": "Buy socks",
                "text": "Buy {{item}} on http://app.example.com.",
                "template_vars": ["item"],
                "rollout": {
                    "target": "remote",
                    "url": agent,
                    "tracing_url": gateway,
                    "tracing_api_key_env": "EP_KEY",
                    "model_base_url": f"http://localhost:{port}",
                    "model_api_key_env": "EP_KEY",
                    "completion_params": {"model": "accounts/fw/models/base"},
                },
                "checks": [{"type": "contains", "value": "{{item}}"}],
            }
        ],
    }
    return config.parse(raw=raw, environ={"EP_KEY": KEY})


@pytest.fixture
def gateway() -> Iterator[servers.TracingGateway]:
    with servers.TracingGateway(api_key=KEY, model_reply="Bought the socks, size 42.") as fake:
        yield fake
        assert fake.violations == []


def test_answer_in_the_trace_is_graded(tmp_path: Path, gateway: servers.TracingGateway) -> None:
    """auto → gateway status → trace of the proxied model call → its last assistant message."""
    with (
        servers.EvalProtocolAgent(gateway_url=gateway.url, gateway_key=KEY) as agent,
        running_server(
            database=tmp_path / "evals.sqlite3",
            settings_=settings(agent=agent.url, gateway=gateway.url),
            client_factory=rollout_clients.backend_clients,
        ) as server,
    ):
        run_id = server.start(prompt_id="shop", template_args={"item": "socks"})
        body = server.until(run_id, lambda b: b["status"] in ("completed", "failed"))
        assert agent.failures == []
        assert agent.violations == []
    report = body["report"]
    assert body["status"] == "completed", body
    assert (report["answer"], report["score"], report["outcome"]) == (
        "Bought the socks, size 42.",
        100,
        "succeeded",
    )
    (trace,) = gateway.traces
    assert trace["tags"][0].startswith("rollout_id:ro-")
    fetched = [r for r in gateway.requests if r.path == "/v1/traces/pointwise"]
    assert [r.query["tags"] for r in fetched] == [trace["tags"][0]]
