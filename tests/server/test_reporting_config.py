"""The `[github]`, `[oidc]` and `[webhooks]` tables of the server's TOML (docs/server.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from evals_action import errors
from evals_action.server import config, oidc, reporting_config, webhooks

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

DOCS = Path(__file__).resolve().parents[2] / "docs" / "server.md"
PROMPTS = """
[[prompts]]
id = "create-project"
text = "Sign up."
[prompts.rollout]
target = "remote"
url = "http://127.0.0.1:8700"
"""
KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIfake\n-----END RSA PRIVATE KEY-----\n"
ENV = {"EVALS_WEBHOOK_SECRET": "whsec-value-1234", "EVALS_GITHUB_TOKEN": "ghp_value_5678"}
PASSWORD = "pw-value-9d8c7b6a5e"  # noqa: S105  (a test's secret template value)


def _docs_example() -> str:
    """The TOML example of the docs' "GitHub App, webhooks and OIDC" section."""
    section = DOCS.read_text(encoding="utf-8").split("## GitHub App, webhooks and OIDC", 1)[1]
    return re.search(r"```toml\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def _parse(text: str, environ: dict[str, str] = ENV) -> reporting_config.ReportingConfig:
    return reporting_config.parse(
        raw=tomllib.loads(text + PROMPTS),
        environ=environ,
        prompt_ids=["create-project"],
        read_file=lambda path: KEY if path == Path("/etc/evals/github-app.pem") else _missing(),
    )


def _missing() -> str:
    raise FileNotFoundError(2, "No such file or directory")


def test_the_documented_example_parses_to_these_settings() -> None:
    """docs/server.md's example is valid, and means what the docs say."""
    parsed = _parse(_docs_example(), environ={**ENV, "EVALS_DEMO_PASSWORD": PASSWORD})
    assert parsed.github == reporting_config.GitHubSettings(
        api_url="https://api.github.com",
        app_id="123456",
        private_key=KEY,
        token="",
        webhook_secret="whsec-value-1234",
    )
    assert parsed.oidc == reporting_config.OidcSettings(
        issuer=oidc.GITHUB_ISSUER,
        audience="https://evals.example.com",
        rules=(
            oidc.Rule(
                repository="octo-org/octo-repo",
                refs=("refs/heads/main",),
                workflows=(".github/workflows/evals.yml",),
                event_names=("push", "pull_request"),
            ),
        ),
    )
    assert parsed.triggers == {
        "octo-org/octo-repo": webhooks.Triggers(
            repository="octo-org/octo-repo",
            prompts=("create-project",),
            deployment_status=True,
            environments=("Preview",),
            status_contexts=("netlify/*/deploy-preview",),
            label="run-evals",
            command="/eval",
            template_vars={"plan": "pro", "password": PASSWORD},
            secret_vars=frozenset({"password"}),
        )
    }
    assert parsed.replay_window_seconds == 72 * 3600
    assert set(parsed.secrets) == {KEY, "whsec-value-1234", PASSWORD}


def test_the_server_config_reads_these_tables_and_reports_their_problems_with_the_rest() -> None:
    """One file holds both: `config.parse` keeps the tables (`reporting`) and lists their
    problems together with the prompts' own."""
    text = '[github]\ntoken_env = "EVALS_GITHUB_TOKEN"\n'
    parsed = config.parse(raw=tomllib.loads(text + PROMPTS), environ=ENV)
    assert list(parsed.prompts) == ["create-project"]
    assert parsed.reporting.github is not None
    assert parsed.reporting.github.token == ENV["EVALS_GITHUB_TOKEN"]
    assert ENV["EVALS_GITHUB_TOKEN"] in parsed.secrets
    bad = '[server]\nworkers = 0\n[github]\ntoken_env = "UNSET_TOKEN"\n'
    with pytest.raises(errors.ConfigError) as caught:
        config.parse(raw=tomllib.loads(bad + PROMPTS), environ=ENV)
    assert len(caught.value.problems) == 2, caught.value.problems
    assert "github.token_env: the variable UNSET_TOKEN is not set" in caught.value.problems


def test_every_problem_is_reported_together_without_secrets() -> None:
    """One ConfigError (exit 2) on one line, naming each key; never a secret's value."""
    text = """
[github]
app_id = "my-app"
private_key_file = "/nowhere/key.pem"
token_env = "UNSET_TOKEN"
webhook_secret_env = "EVALS_WEBHOOK_SECRET"
colour = "blue"

[oidc]
allow = [{ repository = "not a repo" }]

[[webhooks.repositories]]
repository = "octo-org/octo-repo"
prompts = ["no-such-prompt"]
command = "eval now"
"""
    with pytest.raises(errors.ConfigError) as caught:
        _parse(text)
    message = str(caught.value)
    assert caught.value.exit_code == 2
    assert "\n" not in message
    for expected in (
        "github: unknown keys colour",
        "github.app_id must be the App's numeric id",
        "github.private_key_file: cannot read /nowhere/key.pem",
        "github.token_env: the variable UNSET_TOKEN is not set",
        "oidc.audience is required",
        "oidc.allow[0].repository must be owner/name",
        "webhooks.repositories[0].prompts must list prompt ids of [[prompts]]",
        "webhooks.repositories[0].command must look like /eval",
    ):
        assert expected in message
    assert "whsec-value-1234" not in message


def test_webhooks_need_a_secret_and_credentials() -> None:
    """Deliveries cannot be verified without the secret, nor permissions read without a token."""
    text = """
[[webhooks.repositories]]
repository = "octo-org/octo-repo"
prompts = ["create-project"]
label = "run-evals"
"""
    with pytest.raises(errors.ConfigError, match="webhook_secret_env"):
        _parse(text)
    with pytest.raises(errors.ConfigError, match="app_id \\+ private_key_file, or token_env"):
        _parse('[github]\nwebhook_secret_env = "EVALS_WEBHOOK_SECRET"\n' + text)


def test_a_repository_without_any_trigger_is_refused() -> None:
    """Listing a repository that nothing can start is a mistake worth a message."""
    text = """
[github]
token_env = "EVALS_GITHUB_TOKEN"
webhook_secret_env = "EVALS_WEBHOOK_SECRET"
[[webhooks.repositories]]
repository = "octo-org/octo-repo"
prompts = ["create-project"]
"""
    with pytest.raises(errors.ConfigError, match="enables no trigger"):
        _parse(text)


def test_no_tables_means_nothing_configured() -> None:
    """A prompts-only file still works: no GitHub, no OIDC, no webhooks."""
    assert _parse("") == reporting_config.ReportingConfig()


def test_secrets_stay_out_of_repr() -> None:
    """The settings can be logged without leaking the token, the key or the webhook secret."""
    text = (
        '[github]\ntoken_env = "EVALS_GITHUB_TOKEN"\nwebhook_secret_env = "EVALS_WEBHOOK_SECRET"\n'
    )
    shown = repr(_parse(text))
    assert "ghp_value_5678" not in shown
    assert "whsec-value-1234" not in shown


HOOKED = """
[github]
token_env = "EVALS_GITHUB_TOKEN"
webhook_secret_env = "EVALS_WEBHOOK_SECRET"
[[webhooks.repositories]]
repository = "octo-org/octo-repo"
prompts = ["create-project"]
label = "run-evals"
"""


def test_template_vars_and_their_secret_ones_from_the_environment() -> None:
    """`template_vars` are values; `template_vars_env` names variables, read once, and their
    values join the secrets every log line, stored text and GitHub write is redacted of."""
    text = HOOKED + (
        'template_vars = {plan = "pro"}\ntemplate_vars_env = {password = "EVALS_DEMO_PASSWORD"}\n'
    )
    parsed = _parse(text, environ={**ENV, "EVALS_DEMO_PASSWORD": PASSWORD})
    triggers = parsed.triggers["octo-org/octo-repo"]
    assert dict(triggers.template_vars) == {"plan": "pro", "password": PASSWORD}
    assert triggers.secret_vars == frozenset({"password"})
    assert PASSWORD in parsed.secrets
    assert "pro" not in parsed.secrets
    assert PASSWORD not in repr(parsed)
    whole = config.parse(
        raw=tomllib.loads(text + PROMPTS), environ={**ENV, "EVALS_DEMO_PASSWORD": PASSWORD}
    )
    assert PASSWORD in whole.secrets


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (
            'template_vars_env = {password = "EVALS_DEMO_PASSWORD"}',
            "webhooks.repositories[0].template_vars_env.password: the variable "
            "EVALS_DEMO_PASSWORD is not set",
        ),
        ("template_vars = {plan = 3}", "webhooks.repositories[0].template_vars.plan must be a"),
        ('template_vars = "plan=pro"', "webhooks.repositories[0].template_vars must be a table"),
        (
            'template_vars_env = {password = ""}',
            "webhooks.repositories[0].template_vars_env.password must be an environment",
        ),
        (
            'template_vars = {plan = "pro"}\ntemplate_vars_env = {plan = "EVALS_GITHUB_TOKEN"}',
            "webhooks.repositories[0]: template variable plan is in template_vars and _env",
        ),
        ("template_var = {}", "webhooks.repositories[0]: unknown keys template_var"),
        ("secret_vars = []", "webhooks.repositories[0]: unknown keys secret_vars"),
    ],
)
def test_bad_template_vars_are_one_line_naming_the_key(lines: str, problem: str) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        _parse(HOOKED + lines + "\n")
    message = str(caught.value)
    assert caught.value.exit_code == 2
    assert "\n" not in message
    assert problem in message
    assert ENV["EVALS_GITHUB_TOKEN"] not in message


def test_serve_refuses_an_unset_template_variable_with_exit_2(tmp_path: Path) -> None:
    """The real `evals-action serve`: one line naming the key and the variable, no traceback."""
    path = tmp_path / "evals.toml"
    path.write_text(
        HOOKED + 'template_vars_env = {password = "EVALS_DEMO_PASSWORD"}\n' + PROMPTS,
        encoding="utf-8",
    )
    unset = ("EVALS_DEMO_PASSWORD", "EVALS_SERVER_DATABASE")
    environ = {k: v for k, v in os.environ.items() if k not in unset}
    done = subprocess.run(
        [sys.executable, "-m", "evals_action", "serve", "--config", str(path)],
        cwd=tmp_path,
        env={**environ, **ENV},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "Error: webhooks.repositories[0].template_vars_env.password: the variable "
        "EVALS_DEMO_PASSWORD is not set\n"
    )
    assert list(tmp_path.iterdir()) == [path]  # no database started
