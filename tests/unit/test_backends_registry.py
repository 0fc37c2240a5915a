"""backends' registry: the only place that tells the backends apart."""

from __future__ import annotations

import pathlib

import pytest

from evals_action import backends, errors, settings
from evals_action.backends import evals_api

BASE = {
    "EVALS_API_KEY": "key-1234",
    "EVALS_PROMPT_ID": "prompt-1",
    "EVALS_TEMPLATE_VARS": '{"plan": "pro"}',
    "EVALS_API_BASE_URL": "https://evals.example.com",
    "EVALS_WAIT_TIMEOUT_MINUTES": "20",
    "EVALS_ROLLOUT_TIMEOUT_MINUTES": "5",
    "EVALS_PROMPT_FILE": "p.json",
    "EVALS_ROLLOUT_URL": "https://agent.example.com",
    "EVALS_WORKFLOW": "rollout.yml",
}


def load(backend: str) -> settings.Settings:
    return settings.load({**BASE, "EVALS_BACKEND": backend}, need_github_token=False)


@pytest.mark.parametrize(
    ("backend", "minutes", "dashboard"),
    [
        ("evals-api", 20, "https://evals.example.com/dashboard"),
        ("remote", 5, None),
        ("github-workflow", 5, None),
    ],
)
def test_a_rollout_waits_for_its_own_deadline_and_has_no_dashboard(
    backend: str, minutes: float, dashboard: str | None
) -> None:
    config = load(backend)
    assert backends.deadline_minutes(settings=config) == minutes
    assert backends.dashboard_url(settings=config) == dashboard


@pytest.mark.parametrize(
    ("backend", "line"),
    [
        ("", "2027 eval action: API base=https://x.example"),
        (" evals-api ", "2027 eval action: API base=https://x.example"),
        (" remote", "2027 eval action: backend=remote (api-base-url is not used)"),
        ("lambda", "2027 eval action: backend=lambda (api-base-url is not used)"),
    ],
)
def test_the_first_log_line_names_the_api_only_for_the_evals_api(backend: str, line: str) -> None:
    """The raw input is worded before it is checked (a fork PR is skipped before that)."""
    assert backends.banner(backend=backend, api_base_url="https://x.example") == line


def test_a_backend_reads_the_common_inputs_and_its_own() -> None:
    remote, workflow = backends.KINDS["remote"].inputs, backends.KINDS["github-workflow"].inputs
    assert {"prompt-id", "url-map", "prompt-file", "rollout-url", "tracing-api-key"} <= set(remote)
    assert not {"api-key", "workflow", "workflow-token"} & set(remote)
    assert {"prompt-id", "prompt-file", "workflow", "row-id"} <= set(workflow)
    assert not {"api-key", "rollout-url"} & set(workflow)
    assert {"prompt-id", "api-key", "api-base-url"} <= set(backends.DEFAULT.inputs)
    assert not {"prompt-file", "rollout-url", "workflow"} & set(backends.DEFAULT.inputs)


def test_a_missing_input_names_the_backend_that_needs_it_unless_it_is_the_default() -> None:
    names = settings.Names(cli=True)
    assert backends.DEFAULT.missing(name="api-key", required=names.required) == (
        "--api-key is required (or set EVALS_API_KEY)"
    )
    assert backends.KINDS["remote"].missing(name="rollout-url", required=names.required) == (
        "--rollout-url is required (or set EVALS_ROLLOUT_URL) when backend is remote"
    )


def test_the_gateway_status_needs_a_tracing_url_on_remote_only() -> None:
    gateway = {**BASE, "EVALS_ROLLOUT_STATUS": "gateway"}
    with pytest.raises(errors.ConfigError) as info:
        settings.load({**gateway, "EVALS_BACKEND": "remote"}, need_github_token=False)
    assert info.value.problems == ("tracing-url input is required when rollout-status is gateway",)
    settings.load({**gateway, "EVALS_BACKEND": "github-workflow"}, need_github_token=False)


def test_the_evals_api_backend_is_built_from_its_two_inputs() -> None:
    built = backends.create(
        settings=load("evals-api"),
        target=None,  # type: ignore[arg-type]  # the evals API client needs no target
        session=None,
        github=None,  # type: ignore[arg-type]
        sleep=lambda _: None,
        clock=lambda: 0.0,
    )
    assert isinstance(built, evals_api.EvalsApiBackend)


def test_preflight_reads_the_prompt_file_of_rollouts_only(tmp_path: pathlib.Path) -> None:
    """A rollout's missing prompt file is a configuration problem before any call."""
    missing = {**BASE, "EVALS_PROMPT_FILE": str(tmp_path / "missing.json")}
    backends.preflight(settings=settings.load(missing, need_github_token=False))
    remote = settings.load({**missing, "EVALS_BACKEND": "remote"}, need_github_token=False)
    with pytest.raises(errors.ConfigError):
        backends.preflight(settings=remote)
