"""Backends start a run and report its state. `base.Backend` is the one interface.

- `evals_api`: the evals REST API (managed 2027 service or `evals-action serve`).
- `remote`: an Eval Protocol remote rollout service (`POST /init`).
- `github_workflow`: an Eval Protocol rollout workflow dispatched on GitHub Actions.

`create` picks one from `settings.backend`, importing only the module it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evals_action import github_api, models, settings
    from evals_action.backends import base


def preflight(*, settings: settings.Settings) -> None:
    """What a backend can check without the network (a rollout's prompt file), before any call:
    raises `errors.ConfigError`."""
    if settings.backend != "evals-api":
        from evals_action.backends import rollout_settings

        rollout_settings.load_prompt(rollout=settings.rollout)


def create(
    *,
    settings: settings.Settings,
    target: models.Target,
    session: Any,
    github: Callable[..., github_api.GitHub],
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> base.Backend:
    if settings.backend == "remote":
        from evals_action.backends import remote

        return remote.create(
            settings=settings,
            target=target,
            session=session,
            github=github,
            sleep=sleep,
            clock=clock,
        )
    if settings.backend == "github-workflow":
        from evals_action.backends import github_workflow

        return github_workflow.create(
            settings=settings,
            target=target,
            session=session,
            github=github,
            sleep=sleep,
            clock=clock,
        )
    from evals_action.backends import evals_api

    return evals_api.EvalsApiBackend(
        session=session, base_url=settings.api_base_url, api_key=settings.api_key
    )
