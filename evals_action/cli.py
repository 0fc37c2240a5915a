"""The `evals-action` command. It only translates: options and environment in, exit code out.

Exit codes: 0 done (including did-not-finish, superseded, timeout, fork skip), 1 eval failed or an
unrecoverable error, 2 bad configuration. Only click and the table of inputs (`inputs`, standard
library only) are imported at start-up, so `--help` is fast; everything else is imported when a
command runs. The options of `run` are the rows of `inputs.TABLE`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

import click

from evals_action import __version__, inputs

# What `scripts/run-action.py` (the action's entry point) passes as click's `obj`.
AS_ACTION = "action"


def _with_run_options(fn: Any) -> Any:
    """One option per row of `inputs.TABLE`; each is also `EVALS_<OPTION>`. The variables of
    on/off options are not read by click (its idea of a boolean is not the contract's) but by
    `settings`, like every other input."""
    for item in reversed(inputs.TABLE):
        shown = f"  [default: {item.shown}]" if item.shown else ""
        if item.flag:
            option = click.option(
                f"--{item.name}/--no-{item.name}",
                item.name.replace("-", "_"),
                default=None,
                help=f"{item.help}{shown}  [env var: {item.env}=true|false]",
            )
        else:
            option = click.option(
                f"--{item.name}",
                item.name.replace("-", "_"),
                envvar=item.env,
                show_envvar=True,
                default=None,
                metavar="TEXT",
                help=item.help + shown,
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
        item = inputs.BY_NAME[key.replace("_", "-")]
        if isinstance(value, bool):
            environ[item.env] = "true" if value else "false"
        elif value is not None or not item.flag:
            environ[item.env] = value or ""
    return environ


def _run(*, environ: Mapping[str, str], mode: str, as_action: bool = False) -> int:
    """`as_action`: run by the action's entry point; else by a person (or a script) whose
    messages should name the CLI's options, unless it runs as the action step in Actions."""
    from evals_action import actions_runtime, errors, settings, wiring

    if wiring.skip_fork(environ=environ, mode=mode, secrets=_raw_secrets(environ)):
        return 0
    actions = mode == "action" and environ.get("GITHUB_ACTIONS", "").lower() == "true"
    runner = actions_runtime.StepIO(actions=actions)
    names = settings.Names(cli=not (as_action or actions))
    try:
        config = settings.load(environ, need_github_token=mode == "action", names=names)
    except errors.ConfigError as exc:
        _report_config(exc.problems, runner=runner, secrets=_raw_secrets(environ))
        return exc.exit_code
    deps = wiring.real_deps(config=config, mode=mode)
    runner = deps.step
    try:
        return wiring.run(config=config, mode=mode, deps=deps)
    except errors.ConfigError as exc:
        _report_config(exc.problems, runner=runner, secrets=config.secrets)
        return exc.exit_code
    except errors.EvalsActionError as exc:
        runner.annotate("error", exc.message)
        return exc.exit_code


def _raw_secrets(environ: Mapping[str, str]) -> list[str]:
    """The secrets to mask before the inputs are checked. One shorter than the minimum is
    refused by `settings`; masking it would garble every line it occurs in, the refusal too."""
    from evals_action import convert

    values = [environ.get(item.env, "").strip() for item in inputs.SECRETS]
    return [v for v in values if len(v) >= convert.MIN_SECRET_LENGTH]


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
