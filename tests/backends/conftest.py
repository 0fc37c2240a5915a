"""Fixtures for the rollout backends: loopback fakes, a prompt file, settings from inputs."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from evals_action import models, settings, transport

from . import servers

MODEL_KEY = "sk-model-SECRET-1234567890"
TRACING_KEY = "tr-gateway-SECRET-0987654321"
WORKFLOW_TOKEN = "ghs_workflowSECRET1122334455"
SECRETS = (MODEL_KEY, TRACING_KEY, WORKFLOW_TOKEN)

PROMPT = {
    "title": "Checkout works",
    "messages": [
        {"role": "system", "content": "You are a shopper."},
        {"role": "user", "content": "Buy {{item}} on https://shop.example.com/cart please."},
    ],
    "tools": [{"type": "function", "function": {"name": "browse", "parameters": {}}}],
    "completion_params": {"model": "accounts/fw/models/base", "temperature": 0},
}
TARGET = models.Target(sha="a" * 40, pr_number=12, repository="octo/shop")


@pytest.fixture
def service() -> Iterator[servers.RolloutService]:
    with servers.RolloutService() as fake:
        yield fake
        assert fake.violations == []


@pytest.fixture
def gateway() -> Iterator[servers.TracingGateway]:
    with servers.TracingGateway(api_key=TRACING_KEY) as fake:
        yield fake
        assert fake.violations == []


@pytest.fixture
def prompt_file(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "prompt.json"
    path.write_text(json.dumps(PROMPT), encoding="utf-8")
    return path


@pytest.fixture
def make_settings(prompt_file: pathlib.Path) -> Callable[..., settings.Settings]:
    """`settings.load` from `EVALS_*` inputs, as the action would read them."""

    def make(**inputs: str) -> settings.Settings:
        env = {
            "EVALS_API_KEY": "unused-evals-key",
            "EVALS_PROMPT_ID": "prompt-123",
            "EVALS_URL_MAP": json.dumps({"shop.example.com": "https://pr-12.preview.dev"}),
            "EVALS_TEMPLATE_VARS": json.dumps({"item": "socks"}),
            "EVALS_PROMPT_FILE": str(prompt_file),
            "EVALS_MODEL_BASE_URL": "https://models.example.com/v1",
            "EVALS_MODEL_API_KEY": MODEL_KEY,
            "EVALS_SKIP_COMMENT": "true",
            "EVALS_SKIP_STATUS": "true",
            "GITHUB_RUN_ID": "777",
            "GITHUB_RUN_ATTEMPT": "2",
            "GITHUB_REPOSITORY": "octo/shop",
        }
        env.update(
            {k if k.startswith("GITHUB_") else "EVALS_" + k.upper(): v for k, v in inputs.items()}
        )
        return settings.load(env, need_github_token=False)

    return make


def start_request(config: settings.Settings) -> models.StartRequest:
    return models.StartRequest(
        prompt_id=config.prompt_id,
        url_map=config.url_map,
        template_args=config.template_vars,
        idempotency_key="idem-1",
    )


def no_github() -> Any:
    raise AssertionError("the remote backend must not talk to GitHub")


def no_sleep(seconds: float) -> None:
    raise AssertionError(f"the backend slept {seconds} s on its own")


@pytest.fixture
def session() -> Iterator[Any]:
    with transport.new_session() as s:
        yield s


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
            assert secret[:12] not in text
