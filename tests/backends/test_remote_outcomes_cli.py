"""The remote backend's terminal codes through `evals-action run --local`: the outcome rows."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from tests.fakes._http import Reply

from . import servers
from .conftest import MODEL_KEY, assert_no_secret

ROLLOUT_ID = "ro-fixed-1"


def run_cli(
    service: servers.RolloutService,
    prompt_file: pathlib.Path,
    *,
    mode: str = "--local",
    **extra: str,
) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALS_", "GITHUB_"))} | {
        "EVALS_PROMPT_ID": "prompt-123",
        "EVALS_BACKEND": "remote",
        "EVALS_PROMPT_FILE": str(prompt_file),
        "EVALS_ROLLOUT_URL": service.url,
        "EVALS_ROLLOUT_STATUS": "service",
        "EVALS_ROLLOUT_ID": ROLLOUT_ID,
        "EVALS_MODEL_BASE_URL": "https://models.example.com/v1",
        "EVALS_MODEL_API_KEY": MODEL_KEY,
        "EVALS_URL_MAP": '{"shop.example.com": "https://pr-12.shop.dev"}',
        "EVALS_POLL_INTERVAL_SECONDS": "0.05",
        "EVALS_PR_NUMBER": "12",
        "EVALS_SHA": "a" * 40,
        **extra,
    }
    done = subprocess.run(
        [sys.executable, "-m", "evals_action", "run", mode],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=prompt_file.parent,
    )
    output = done.stdout + done.stderr
    assert_no_secret(output)
    return done.returncode, output


@pytest.mark.parametrize(
    ("fails", "line"),
    [
        ("false", "Status: success '2027/eval/checkout-works': Still running — see status page"),
        (
            "true",
            "Status: failure '2027/eval/checkout-works': Eval timed out — failing per "
            "timeout-fails=true",
        ),
    ],
)
def test_deadline_exceeded_code_4_honours_timeout_fails(
    service: servers.RolloutService, prompt_file: pathlib.Path, fails: str, line: str
) -> None:
    """Eval Protocol code 4 is a timeout, so `timeout-fails` decides its status."""
    service.script(ROLLOUT_ID, {"terminated": True, "status": {"code": 4, "message": "deadline"}})
    code, output = run_cli(service, prompt_file, EVALS_TIMEOUT_FAILS=fails)
    assert code == 0, output
    assert line in output
    assert "final-status: running" in output


def test_error_code_13_fails_with_the_agents_message(
    service: servers.RolloutService, prompt_file: pathlib.Path
) -> None:
    service.script(
        ROLLOUT_ID, {"terminated": True, "status": {"code": 13, "message": "agent crashed"}}
    )
    code, output = run_cli(service, prompt_file)
    assert code == 1, output
    assert "Status: error '2027/eval/checkout-works': agent crashed" in output


def test_init_is_tried_three_times_then_the_step_fails(
    service: servers.RolloutService, prompt_file: pathlib.Path
) -> None:
    """Rollout contract: 5xx on `/init` is retried, three tries in all (waits 1 s, 2 s)."""
    for _ in range(3):
        service.init_replies.append(Reply(503, {"detail": "busy"}))
    code, output = run_cli(service, prompt_file)
    assert code == 1, output
    assert "gave up after 3 attempts" in output
    assert len([r for r in service.requests if r.path == "/init"]) == 3


def test_dry_run_prints_the_init_request_without_the_key(
    service: servers.RolloutService, prompt_file: pathlib.Path
) -> None:
    """Contract §8: the dry run prints the request it would send; the model key is `***`."""
    code, output = run_cli(service, prompt_file, mode="--dry-run")
    assert code == 0, output
    assert f"Request: POST {service.url}/init" in output
    assert '"api_key": "***"' in output
    assert '"rollout_id": "ro-fixed-1"' in output
    assert "pr-12.shop.dev" in output  # the prompt already points at the preview
    assert service.requests == []
