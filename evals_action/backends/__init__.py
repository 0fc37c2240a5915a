"""Backends start a run and report its state. `base.Backend` is the one interface.

- `evals_api`: the evals REST API (managed 2027 service or `evals-action serve`).
- `remote`: an Eval Protocol remote rollout service (`POST /init`).
- `github_workflow`: an Eval Protocol rollout workflow dispatched on GitHub Actions.

The registry (`KINDS`) is the one place that tells the backends apart: each `Kind` declares the
inputs it cannot run without, and whether it is an Eval Protocol rollout (the agent runs from our
prompt file, under the rollout deadline) or the evals API (which knows the prompt, has a
dashboard, and is the one reached through api-base-url); which backends read an input is a
column of `inputs.TABLE`. Code outside this package asks the small functions below, never
compares `settings.backend` with a name. `create` builds one, importing only the module it needs.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evals_action import github_api, models, settings
    from evals_action.backends import base

# In `inputs.Input.backends`: the input is read by every rollout backend.
ROLLOUT = "rollout"


@dataclasses.dataclass(frozen=True)
class Kind:
    """One backend, declared: what it reads and needs, and how it is built."""

    name: str
    module: str  # under `evals_action.backends`: the module that builds it
    required: tuple[str, ...] = ()  # inputs it cannot run without
    # (input, other input, value): the input is required when the other one has that value
    required_when: tuple[tuple[str, str, str], ...] = ()
    rollout: bool = True

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every input it reads: those of all backends, and its own (`inputs.Input.backends`)."""
        from evals_action import inputs

        return tuple(item.name for item in inputs.TABLE if self.reads(backends=item.backends))

    def reads(self, *, backends: tuple[str, ...]) -> bool:
        """Whether an input read by `backends` (`()`: by every backend) is read by this one."""
        return not backends or self.name in backends or (self.rollout and ROLLOUT in backends)

    def missing(self, *, name: str, required: Callable[[str], str]) -> str:
        """The problem line for a required input left unset (`required` words the name)."""
        if self is DEFAULT:
            return required(name)
        return f"{required(name)} when backend is {self.name}"


DEFAULT = Kind(
    name="evals-api",
    module="evals_api",
    required=("api-key",),
    rollout=False,
)
KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        DEFAULT,
        Kind(
            name="remote",
            module="remote",
            required=("prompt-file", "rollout-url"),
            required_when=(("tracing-url", "rollout-status", "gateway"),),
        ),
        Kind(
            name="github-workflow",
            module="github_workflow",
            required=("prompt-file", "workflow"),
        ),
    )
}
NAMES = tuple(KINDS)


def choices_text() -> str:
    """`evals-api, remote or github-workflow`."""
    return ", ".join(NAMES[:-1]) + " or " + NAMES[-1]


def kind_of(*, settings: settings.Settings) -> Kind:
    return KINDS[settings.backend]


def deadline_minutes(*, settings: settings.Settings) -> float:
    """How long the action waits: a rollout has its own deadline (rollout-timeout-minutes)."""
    if kind_of(settings=settings).rollout and settings.rollout.timeout_minutes:
        return settings.rollout.timeout_minutes
    return settings.wait_timeout_minutes


def dashboard_url(*, settings: settings.Settings) -> str | None:
    """The evals API's dashboard, linked from the comment; rollouts have none."""
    if kind_of(settings=settings).rollout:
        return None
    return f"{settings.api_base_url}/dashboard"


def banner(*, backend: str, api_base_url: str) -> str:
    """The log's first line (after the masks): which deployment this run talks to, worded as
    the managed action words it. `backend` is the raw input: it is not checked yet."""
    kind = KINDS.get(backend.strip() or DEFAULT.name)
    if kind is not None and not kind.rollout:
        return f"2027 eval action: API base={api_base_url}"
    return f"2027 eval action: backend={backend.strip()} (api-base-url is not used)"


def preflight(*, settings: settings.Settings) -> None:
    """What a backend can check without the network (a rollout's prompt file), before any call:
    raises `errors.ConfigError`."""
    if kind_of(settings=settings).rollout:
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
    kind = kind_of(settings=settings)
    module: Any = importlib.import_module(f"{__name__}.{kind.module}")
    if not kind.rollout:  # the evals API client takes its two inputs, not the whole settings
        api: base.Backend = module.EvalsApiBackend(
            session=session, base_url=settings.api_base_url, api_key=settings.api_key
        )
        return api
    backend: base.Backend = module.create(
        settings=settings, target=target, session=session, github=github, sleep=sleep, clock=clock
    )
    return backend
