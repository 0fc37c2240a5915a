"""The backend interface `action.py` drives, whatever runs the agent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from evals_action import models

if TYPE_CHECKING:
    from evals_action import polling


class Backend(Protocol):
    """Start one eval and observe it.

    Errors: `errors.TransientAPIError` (retried with backoff, honouring `retry_after`),
    `errors.ClientAPIError` (fatal after three in a row), `errors.FatalAPIError` (fatal at once).
    Implementations never sleep and never retry by themselves: timing belongs to `polling`.
    """

    def start(self, *, request: models.StartRequest) -> models.StartedRun:
        """Create the run. Called again, with the same request, when it raised a transient error."""
        ...

    def describe(self, *, request: models.StartRequest) -> models.RequestPreview:
        """The request `start` would send (no network, secrets shown as `***`), for dry runs."""
        ...

    def fetch(self, *, run_id: str, wait_seconds: float = 0) -> models.Run:
        """Read the run's current state. `wait_seconds` > 0 asks for a long poll when supported."""
        ...

    def cancel(self, *, run_id: str) -> None:
        """Best effort: stop the run when our deadline passes. Never raises."""
        ...

    def baseline(self, *, prompt_id: str, current_run_id: str) -> models.Report | None:
        """The newest published successful report with metrics, or None. Never raises."""
        ...

    @property
    def start_policy(self) -> polling.RetryPolicy:
        """How `start` is retried on transient errors (evals API: 1 + 3 retries;
        a rollout service's `/init`: 3 tries, as Eval Protocol's client does)."""
        ...

    @property
    def supports_long_poll(self) -> bool:
        """True once the server advertised long polling."""
        ...
