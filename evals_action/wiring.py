"""The CLI's edge: the real collaborators, built once, and the run kind chosen once.

`run` picks where the report goes (GitHub for the action, the terminal for `--local`) and
`dry-run`'s printout; `real_deps` builds the HTTP session, the GitHub factory, the step I/O, the
clock and the ids; `skip_fork` decides a fork PR before the inputs are checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from evals_action import (
    action,
    actions_runtime,
    convert,
    errors,
    event,
    models,
    reporting,
    settings,
    sinks,
)

ACTION = "action"
LOCAL = "local"
DRY_RUN = "dry-run"


def run(*, config: settings.Settings, mode: str, deps: action.Deps) -> int:
    """The flow for `mode`; its exit code."""
    if mode == DRY_RUN:
        return action.preview(config=config, deps=deps)
    if mode == ACTION:
        return action.run(config=config, deps=deps, sink=sinks.to_github)
    if not config.wait:
        raise errors.ConfigError(
            [
                "--no-wait leaves the report to the evals server, which writes it to GitHub, "
                "and --local writes nothing there: drop one of them"
            ]
        )
    return action.run(
        config=config, deps=deps, sink=sinks.to_terminal, target=_local_target(config)
    )


def _local_target(config: settings.Settings) -> models.Target | None:
    """`--local` without an event: the PR and commit come from the inputs (or none)."""
    if config.github.event_path:
        return None
    return models.Target(
        sha=config.sha or config.github.sha or None,
        pr_number=config.pr_number,
        repository=config.github.repository or None,
    )


def step_io(
    *, github: settings.GitHubContext, mode: str, secrets: Sequence[str] = ()
) -> actions_runtime.StepIO:
    """The step's I/O: outputs, summary and workflow commands only for the action itself."""
    if mode != ACTION:
        return actions_runtime.StepIO(secret_values=secrets)
    return actions_runtime.StepIO(
        output_path=github.output_path,
        summary_path=github.summary_path,
        actions=github.actions,
        secret_values=secrets,
    )


def real_deps(*, config: settings.Settings, mode: str) -> action.Deps:
    """The one place real collaborators are built."""
    import random
    import time
    import uuid

    from evals_action import github_api, transport

    def github(token: str = "", repository: str = "") -> github_api.GitHub:
        return github_api.GitHub(
            token=token or config.github_token,
            api_url=config.github.api_url,
            repository=repository or config.github.repository,
            user_agent=transport.USER_AGENT,
        )

    return action.Deps(
        session=transport.new_session(),
        github=github,
        step=step_io(github=config.github, mode=mode, secrets=config.secrets),
        clock=time.monotonic,
        sleep=time.sleep,
        rand=random.uniform,
        new_id=lambda: str(uuid.uuid4()),
        new_session=transport.new_session,
    )


def skip_fork(*, environ: Mapping[str, str], mode: str, secrets: Sequence[str]) -> bool:
    """A fork PR on `pull_request` is skipped before the inputs are checked: its token is
    read-only and its secrets are absent by design, so a missing api-key must not fail it.
    Returns True when it skipped (warning, `final-status=skipped`, a summary line)."""
    github = settings.load_github_context(environ)
    if mode == DRY_RUN or github.event_name != "pull_request" or environ.get("EVALS_PR_NUMBER"):
        return False
    try:
        payload = event.load_payload(github.event_path)
    except errors.ConfigError:
        return False  # reported with the other problems
    if not event.is_fork_pull_request(payload, repository=github.repository):
        return False
    step = step_io(github=github, mode=mode)
    for secret in secrets:
        step.add_secret(secret)
    step.info(
        reporting.banner(backend=environ.get("EVALS_BACKEND", ""), api_base_url=_api_base(environ))
    )
    step.annotate("warning", event.FORK_WARNING)
    step.set_outputs({"final-status": "skipped"})
    step.write_summary(f"### 2027 // skipped\n\n{event.FORK_WARNING}\n")
    return True


def _api_base(environ: Mapping[str, str]) -> str:
    raw = environ.get("EVALS_API_BASE_URL", "") or convert.DEFAULT_API_BASE_URL
    try:
        return convert.clean_url(name="api-base-url", raw=raw)
    except ValueError:
        return raw.strip()
