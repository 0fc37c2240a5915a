"""The `evals-action` command. It only translates: options and environment in, exit code out.

Exit codes: 0 done (including did-not-finish, superseded, timeout, fork skip), 1 eval failed or an
unrecoverable error, 2 bad configuration. Only click is imported at start-up, so `--help` is fast;
everything else is imported when a command runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

import click

from evals_action import __version__

# (option, default shown in --help, help). Each is also EVALS_<OPTION> (upper case, - → _).
RUN_OPTIONS: tuple[tuple[str, str | None, str], ...] = (
    ("api-key", None, "Bearer key for the evals API (required for evals-api). Masked."),
    ("api-base-url", "https://2027.dev/evals", "Evals API root. https:// except on loopback."),
    ("prompt-id", None, "Prompt UUID to run (required)."),
    ("url-map", "{}", "JSON object: production hostname → preview URL."),
    (
        "template-vars",
        None,
        "JSON object of the prompt's template variables (sent as templateArgs).",
    ),
    (
        "deployment-url",
        "first url-map value",
        "Preview URL; required when url-map has several entries.",
    ),
    ("wait-timeout-minutes", "20", "How long to wait for the run, from its creation."),
    ("poll-interval-seconds", "20", "Base interval between status checks (jittered, backed off)."),
    ("timeout-fails", "false", "On timeout set the status to failure instead of success."),
    ("skip-comment", "false", "Post no PR comment."),
    ("skip-status", "false", "Set no commit status."),
    ("github-token", "$GITHUB_TOKEN", "Token for the comment and status. Masked."),
    ("pr-number", "from the event", "Pull request to comment on."),
    ("sha", "from the event", "Commit that gets the status."),
    ("status-context", "2027/eval/<slug>", "Fixed commit status context."),
    ("backend", "evals-api", "evals-api, remote or github-workflow."),
    (
        "prompt-file",
        None,
        "Rollout backends: JSON prompt file (title, messages, tools, completion_params).",
    ),
    (
        "completion-params",
        None,
        "Rollout backends: JSON object overriding the file's completion_params.",
    ),
    ("model-base-url", None, "Rollout backends: OpenAI-compatible base URL for the agent."),
    ("model-api-key", None, "Rollout backends: key passed to the agent. Masked."),
    ("rollout-timeout-minutes", "wait-timeout-minutes", "Rollout backends: rollout deadline."),
    ("rollout-url", None, "remote: base URL of the rollout service."),
    ("rollout-status", "auto", "remote: completion detection: service, gateway or auto."),
    ("tracing-url", None, "remote: Eval Protocol tracing gateway base URL."),
    ("tracing-api-key", None, "remote: tracing gateway key. Masked."),
    ("workflow-repo", "this repository", "github-workflow: owner/repo of the rollout workflow."),
    ("workflow", None, "github-workflow: workflow file name or id."),
    ("workflow-ref", "main", "github-workflow: ref to dispatch on."),
    ("workflow-token", "github-token", "github-workflow: token with actions: write. Masked."),
    ("invocation-id", "gh-<run id>-<attempt>", "Correlation invocation_id."),
    ("experiment-id", "<owner>/<repo>#<pr>", "Correlation experiment_id."),
    ("rollout-id", "fresh unique id", "Correlation rollout_id."),
    ("correlation-run-id", "random per run", "Correlation run_id."),
    ("row-id", "prompt-id", "Correlation row_id."),
)


# On/off options: `--skip-comment` / `--no-skip-comment`. Their variables are not read by click
# (its idea of a boolean is not the contract's) but by `settings`, like every other input.
FLAGS = frozenset({"timeout-fails", "skip-comment", "skip-status"})
# What `scripts/run-action.py` (the action's entry point) passes as click's `obj`.
AS_ACTION = "action"


def env_name(option: str) -> str:
    return "EVALS_" + option.upper().replace("-", "_")


def _with_run_options(fn: Any) -> Any:
    for name, default, text in reversed(RUN_OPTIONS):
        shown = f"  [default: {default}]" if default else ""
        if name in FLAGS:
            option = click.option(
                f"--{name}/--no-{name}",
                name.replace("-", "_"),
                default=None,
                help=f"{text}{shown}  [env var: {env_name(name)}=true|false]",
            )
        else:
            option = click.option(
                f"--{name}",
                name.replace("-", "_"),
                envvar=env_name(name),
                show_envvar=True,
                default=None,
                metavar="TEXT",
                help=text + shown,
            )
        fn = option(fn)
    return fn


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="evals-action")
def main() -> None:
    """Agent-experience evals on every pull request.

    Starts an eval run on an evals REST API (or a rollout backend), waits for it, posts a sticky
    PR comment and a commit status, and writes step outputs and a job summary. Drop-in
    replacement for the managed 2027 evals action.

    \b
    Exit codes: 0 done (incl. did-not-finish, superseded, timeout, fork skip),
                1 eval failed or unrecoverable error, 2 bad configuration.
    """


@main.command("run")
@_with_run_options
@click.option(
    "--dry-run",
    is_flag=True,
    help="Validate, resolve the PR and commit, print the request "
    "and the comment/status it would write. Sends nothing, writes nothing.",
)
@click.option(
    "--local",
    is_flag=True,
    help="Run the eval for real and print the comment, status and "
    "outputs here. No GitHub writes, no GitHub context needed.",
)
@click.pass_obj
def run_command(obj: Any, /, dry_run: bool, local: bool, **options: str | bool | None) -> None:
    """Run one eval for the current pull request.

    Every option is also read from its environment variable (EVALS_*), which is how action.yml
    passes its inputs; an empty value counts as not set. GitHub context comes from the runner's
    GITHUB_* variables (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_SHA,
    GITHUB_API_URL, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, ...).
    """
    if dry_run and local:
        _fail_usage(["--dry-run and --local cannot be used together: pick one"])
    mode = "dry-run" if dry_run else "local" if local else "action"
    environ = _environ(options)
    sys.exit(_run(environ=environ, mode=mode, as_action=obj == AS_ACTION))


def _environ(options: Mapping[str, str | bool | None]) -> dict[str, str]:
    environ = dict(os.environ)
    for key, value in options.items():
        name = env_name(key.replace("_", "-"))
        if isinstance(value, bool):
            environ[name] = "true" if value else "false"
        elif value is not None or key.replace("_", "-") not in FLAGS:
            environ[name] = value or ""
    return environ


def _run(*, environ: Mapping[str, str], mode: str, as_action: bool = False) -> int:
    """`as_action`: run by the action's entry point; else by a person (or a script) whose
    messages should name the CLI's options, unless it runs as the action step in Actions."""
    from evals_action import action, errors, settings, workflow

    if action.skip_fork(environ=environ, mode=mode, secrets=_raw_secrets(environ)):
        return 0
    actions = mode == "action" and environ.get("GITHUB_ACTIONS", "").lower() == "true"
    runner = workflow.Runner(actions=actions)
    names = settings.Names(cli=not (as_action or actions))
    try:
        config = settings.load(environ, need_github_token=mode == "action", names=names)
    except errors.ConfigError as exc:
        _report_config(exc.problems, runner=runner, secrets=_raw_secrets(environ))
        return exc.exit_code
    deps = action.real_deps(config=config, mode=mode)
    runner = deps.runner
    try:
        return action.run(config=config, mode=mode, deps=deps)
    except errors.ConfigError as exc:
        _report_config(exc.problems, runner=runner, secrets=config.secrets)
        return exc.exit_code
    except errors.EvalsActionError as exc:
        runner.annotate("error", exc.message)
        return exc.exit_code


def _raw_secrets(environ: Mapping[str, str]) -> list[str]:
    """The secrets to mask before the inputs are checked. One shorter than the minimum is
    refused by `settings`; masking it would garble every line it occurs in, the refusal too."""
    from evals_action import settings

    names = ("API_KEY", "GITHUB_TOKEN", "MODEL_API_KEY", "TRACING_API_KEY", "WORKFLOW_TOKEN")
    values = [environ.get(env_name(n.lower().replace("_", "-")), "").strip() for n in names]
    return [v for v in values if len(v) >= settings.MIN_SECRET_LENGTH]


def _report_config(problems: Any, *, runner: Any, secrets: Any) -> None:
    for secret in secrets:
        if secret:
            runner.add_secret(secret)
    for problem in problems:
        runner.annotate("error", problem)


def _fail_usage(problems: list[str]) -> None:
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    sys.exit(2)


def _register_server_commands() -> None:
    try:
        from evals_action.server import cli as server_cli
    except ImportError:  # the server extra is optional; its module imports only click
        return
    main.add_command(server_cli.serve)
    main.add_command(server_cli.demo)


def _register_agent_command() -> None:
    from evals_action.agent import cli as agent_cli  # imports only click

    main.add_command(agent_cli.agent)


_register_server_commands()
_register_agent_command()

if __name__ == "__main__":
    main()
