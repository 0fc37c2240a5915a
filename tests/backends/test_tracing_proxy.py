"""A tracing proxy as `model-base-url`: the correlation ids ride in its path (as Eval Protocol)."""

from __future__ import annotations

import base64
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
import requests

from evals_action import settings
from evals_action.backends import remote

from . import servers
from .conftest import TARGET, TRACING_KEY, no_github, no_sleep, start_request

UPSTREAM = "https://api.fireworks.ai/inference/v1"


def start(config: settings.Settings, session: Any) -> str:
    made = remote.create(
        settings=config,
        target=TARGET,
        session=session,
        github=no_github,
        sleep=no_sleep,
        clock=time.monotonic,
    )
    return made.start(request=start_request(config)).run_id


@pytest.mark.parametrize(
    "base",
    [
        "https://tracing.fireworks.ai",
        "https://tracing.fireworks.ai/",
        "https://litellm-gateway.internal.example/v1",
    ],
)
def test_proxy_url_gets_the_five_ids_and_the_encoded_upstream(
    service: servers.RolloutService,
    make_settings: Callable[..., settings.Settings],
    session: Any,
    base: str,
) -> None:
    """Eval Protocol's hosts: `/rollout_id/…/row_id/…/encoded_base_url/<b64 of base_url>`."""
    config = make_settings(
        backend="remote",
        rollout_url=service.url,
        model_base_url=base,
        completion_params=f'{{"base_url": "{UPSTREAM}"}}',
    )
    rollout_id = start(config, session)
    (body,) = service.inits
    meta = body["metadata"]
    encoded = base64.urlsafe_b64encode(UPSTREAM.encode()).decode()
    assert body["model_base_url"] == (
        f"{base.rstrip('/')}/rollout_id/{rollout_id}/invocation_id/gh-777-2"
        f"/experiment_id/octo%252Fshop%2312/run_id/{meta['run_id']}/row_id/prompt-123"
        f"/encoded_base_url/{encoded}"
    )


def test_other_model_urls_are_sent_verbatim(
    service: servers.RolloutService,
    make_settings: Callable[..., settings.Settings],
    session: Any,
) -> None:
    """Only Eval Protocol's conditions trigger the encoding (127.0.0.1 is not `localhost`)."""
    for url in ("https://models.example.com/v1", "http://127.0.0.1:8000/v1"):
        start(make_settings(backend="remote", rollout_url=service.url, model_base_url=url), session)
    assert [b["model_base_url"] for b in service.inits] == [
        "https://models.example.com/v1",
        "http://127.0.0.1:8000/v1",
    ]


def test_a_localhost_proxy_tags_the_agents_model_calls_with_its_rollout(
    service: servers.RolloutService,
    gateway: servers.TracingGateway,
    make_settings: Callable[..., settings.Settings],
    session: Any,
) -> None:
    """The agent calls `{model_base_url}/chat/completions`; the proxy routes it, tags the trace."""
    port = urllib.parse.urlsplit(gateway.url).port
    config = make_settings(
        backend="remote", rollout_url=service.url, model_base_url=f"http://localhost:{port}"
    )
    rollout_id = start(config, session)
    (body,) = service.inits
    answer = requests.post(
        body["model_base_url"] + "/chat/completions",
        json={"model": "m", "messages": body["messages"]},
        headers={"Authorization": f"Bearer {TRACING_KEY}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    (trace,) = gateway.traces
    meta = body["metadata"]
    assert trace["tags"] == [
        f"rollout_id:{rollout_id}",
        "invocation_id:gh-777-2",
        "experiment_id:octo%2Fshop#12",  # a `/` cannot survive routing; once more unquoted
        f"run_id:{meta['run_id']}",
        "row_id:prompt-123",
    ]
    assert urllib.parse.unquote(trace["tags"][2]) == f"experiment_id:{meta['experiment_id']}"
