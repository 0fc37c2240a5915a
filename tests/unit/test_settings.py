"""settings.load: every input of contract §1, every problem reported at once."""

from __future__ import annotations

import pytest

from evals_action import errors, settings

BASE = {
    "EVALS_API_KEY": "key-1234",
    "EVALS_PROMPT_ID": "prompt-1",
    "EVALS_URL_MAP": '{"example.com": "https://pr-1.example.dev"}',
    "EVALS_GITHUB_TOKEN": "ghs_token",
    "GITHUB_REPOSITORY": "octo-org/octo-repo",
}


def load(**env: str) -> settings.Settings:
    return settings.load({**BASE, **env})


def problems(**env: str) -> tuple[str, ...]:
    with pytest.raises(errors.ConfigError) as info:
        settings.load({**BASE, **env})
    assert info.value.exit_code == 2
    return info.value.problems


def test_defaults_match_the_contract() -> None:
    """Unset inputs take the documented defaults."""
    s = load()
    assert s.api_base_url == "https://2027.dev/evals"
    assert s.wait_timeout_minutes == 20
    assert s.poll_interval_seconds == 20
    assert (s.timeout_fails, s.skip_comment, s.skip_status) == (False, False, False)
    assert s.deployment_url == "https://pr-1.example.dev"
    assert s.template_vars is None
    assert s.backend == "evals-api"
    assert s.github.api_url == "https://api.github.com"


def test_secrets_are_hidden_from_repr() -> None:
    """A settings object printed by accident shows no secret."""
    s = load(EVALS_MODEL_API_KEY="model-secret", EVALS_TRACING_API_KEY="trace-secret")
    text = repr(s)
    for secret in ("key-1234", "ghs_token", "model-secret", "trace-secret"):
        assert secret not in text
    assert set(s.secrets) == {"key-1234", "ghs_token", "model-secret", "trace-secret"}


def test_empty_string_means_unset() -> None:
    """`""` for an input behaves exactly like an absent variable."""
    assert load(EVALS_WAIT_TIMEOUT_MINUTES="", EVALS_API_BASE_URL="").wait_timeout_minutes == 20


def test_trailing_slashes_are_stripped() -> None:
    assert load(EVALS_API_BASE_URL="https://evals.example.com/x///").api_base_url == (
        "https://evals.example.com/x"
    )


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.5.6.7", "[::1]"])
def test_http_is_allowed_on_loopback(host: str) -> None:
    assert load(EVALS_API_BASE_URL=f"http://{host}:8080").api_base_url == f"http://{host}:8080"


def test_http_elsewhere_is_refused() -> None:
    assert problems(EVALS_API_BASE_URL="http://evals.example.com") == (
        "api-base-url must use https:// (plain http is only allowed for localhost) "
        "(got 'http://evals.example.com')",
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("False", False),
        ("0", False),
        ("no", False),
    ],
)
def test_booleans_accept_the_documented_spellings(raw: str, expected: bool) -> None:
    assert load(EVALS_TIMEOUT_FAILS=raw).timeout_fails is expected


def test_every_problem_is_reported_at_once() -> None:
    """All bad inputs in one go, one line each, with the contract's wording."""
    found = problems(
        EVALS_API_KEY="",
        EVALS_PROMPT_ID="",
        EVALS_URL_MAP="{nope",
        EVALS_TEMPLATE_VARS="[1]",
        EVALS_WAIT_TIMEOUT_MINUTES="soon",
        EVALS_POLL_INTERVAL_SECONDS="0",
        EVALS_SKIP_COMMENT="maybe",
    )
    assert found == (
        "api-key input is required",
        "prompt-id input is required",
        "url-map must be valid JSON: Expecting property name enclosed in double quotes at line 1 "
        "column 2",
        "template-vars must be a JSON object",
        "wait-timeout-minutes must be a positive number (got 'soon')",
        "poll-interval-seconds must be a positive number (got '0')",
        "skip-comment must be true or false (got 'maybe')",
    )


@pytest.mark.parametrize("raw", ["-1", "0", "nan", "inf", "1e999"])
def test_wait_timeout_must_be_positive_and_finite(raw: str) -> None:
    assert problems(EVALS_WAIT_TIMEOUT_MINUTES=raw) == (
        f"wait-timeout-minutes must be a positive number (got '{raw}')",
    )


def test_fractional_minutes_are_allowed() -> None:
    assert load(EVALS_WAIT_TIMEOUT_MINUTES="0.5").wait_timeout_minutes == 0.5


def test_url_map_must_be_an_object() -> None:
    assert problems(EVALS_URL_MAP="[]") == ("url-map must be a JSON object",)


def test_url_map_must_not_be_empty_without_template_vars() -> None:
    assert problems(EVALS_URL_MAP="{}") == (
        "url-map must have at least one entry (or set template-vars for prompts that use "
        "template variables instead of a preview URL)",
    )


def test_empty_url_map_is_fine_with_template_vars() -> None:
    s = load(EVALS_URL_MAP="", EVALS_TEMPLATE_VARS='{"plan": "pro"}')
    assert s.url_map == {}
    assert s.template_vars == {"plan": "pro"}
    assert s.deployment_url is None


def test_empty_template_vars_object_counts_as_unset() -> None:
    assert load(EVALS_TEMPLATE_VARS="{}").template_vars is None


def test_url_map_values_must_be_full_urls() -> None:
    assert problems(EVALS_URL_MAP='{"a.com": "pr-1.a.dev"}') == (
        "url-map value for 'a.com' must be a full http(s):// URL (got \"pr-1.a.dev\")",
    )


def test_several_url_map_entries_need_a_deployment_url() -> None:
    two = '{"a.com": "https://pr.a.dev", "b.com": "https://pr.b.dev"}'
    assert problems(EVALS_URL_MAP=two) == (
        "url-map has multiple entries, set 'deployment-url' input explicitly to disambiguate",
    )
    assert load(EVALS_URL_MAP=two, EVALS_DEPLOYMENT_URL="https://pr.b.dev").deployment_url == (
        "https://pr.b.dev"
    )


def test_github_token_falls_back_to_github_token_variable() -> None:
    s = settings.load({**BASE, "EVALS_GITHUB_TOKEN": "", "GITHUB_TOKEN": "ghs_fallback"})
    assert s.github_token == "ghs_fallback"


def test_github_token_is_required_unless_nothing_is_written() -> None:
    env = {**BASE, "EVALS_GITHUB_TOKEN": ""}
    with pytest.raises(errors.ConfigError) as info:
        settings.load(env)
    assert "github-token input is required" in info.value.problems[0]
    settings.load({**env, "EVALS_SKIP_COMMENT": "true", "EVALS_SKIP_STATUS": "true"})
    settings.load(env, need_github_token=False)


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("EVALS_PR_NUMBER", "abc", "pr-number must be a positive whole number (got 'abc')"),
        ("EVALS_PR_NUMBER", "0", "pr-number must be a positive whole number (got '0')"),
        ("EVALS_SHA", "xyz", "sha must be a commit SHA of hexadecimal digits (got 'xyz')"),
        (
            "EVALS_BACKEND",
            "lambda",
            "backend must be one of evals-api, remote, github-workflow (got 'lambda')",
        ),
    ],
)
def test_overrides_are_validated(name: str, raw: str, message: str) -> None:
    assert problems(**{name: raw}) == (message,)


def test_rollout_backends_name_their_required_inputs() -> None:
    assert problems(EVALS_BACKEND="remote") == (
        "prompt-file input is required when backend is remote",
        "rollout-url input is required when backend is remote",
    )
    assert problems(EVALS_BACKEND="github-workflow", EVALS_PROMPT_FILE="p.json") == (
        "workflow input is required when backend is github-workflow",
    )


def test_rollout_timeout_defaults_to_wait_timeout() -> None:
    assert load(EVALS_WAIT_TIMEOUT_MINUTES="7").rollout.timeout_minutes == 7


def test_api_key_is_only_required_for_the_evals_api_backend() -> None:
    s = load(
        EVALS_API_KEY="",
        EVALS_BACKEND="remote",
        EVALS_PROMPT_FILE="p.json",
        EVALS_ROLLOUT_URL="https://agent.example.com",
    )
    assert s.api_key == ""
    assert problems(EVALS_API_KEY="") == ("api-key input is required",)


def test_invalid_template_vars_is_one_problem_not_two() -> None:
    """A broken template-vars still counts as given: no extra "url-map must have" line."""
    assert problems(EVALS_URL_MAP="{}", EVALS_TEMPLATE_VARS="{bad") == (
        "template-vars must be valid JSON: Expecting property name enclosed in double quotes at "
        "line 1 column 2",
    )


def test_every_secret_shorter_than_eight_characters_is_refused_by_name() -> None:
    """Masking a 1-7 character secret would garble the log; no real key is that short."""
    too_short = "is too short to be a real key or token (at least 8 characters): check that the "
    too_short += "secret it comes from holds the whole value"
    assert problems(
        EVALS_GITHUB_TOKEN="ghs_123",
        EVALS_MODEL_API_KEY="m",
        EVALS_TRACING_API_KEY="  trace  ",
        EVALS_WORKFLOW_TOKEN="1234567",
    ) == tuple(
        f"{name} {too_short}"
        for name in ("github-token", "model-api-key", "tracing-api-key", "workflow-token")
    )
    assert load(EVALS_MODEL_API_KEY="12345678").rollout.model_api_key == "12345678"


def test_cli_names_name_the_options() -> None:
    """From a terminal: `--prompt-id is required (or set EVALS_PROMPT_ID)`, `--url-map ...`."""
    with pytest.raises(errors.ConfigError) as info:
        settings.load(
            {**BASE, "EVALS_PROMPT_ID": "", "EVALS_URL_MAP": "[]", "EVALS_SKIP_STATUS": "on"},
            names=settings.Names(cli=True),
        )
    assert info.value.problems == (
        "--prompt-id is required (or set EVALS_PROMPT_ID)",
        "--url-map must be a JSON object",
        "EVALS_SKIP_STATUS must be true or false (got 'on')",
    )
