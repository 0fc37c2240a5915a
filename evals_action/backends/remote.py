"""The `remote` backend: an Eval Protocol rollout service (`rollout-contracts.md`, `remote`).

A thin adapter: settings → `eval_protocol.remote_client.RemoteRolloutClient` → `base.Backend`.
One rollout per action run; the client speaks the wire contract, `polling` owns the timing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from evals_action import github_api, models, polling, settings
from evals_action.backends import base, rollout_settings
from evals_action.eval_protocol import init, prompts, remote_client, results

# Eval Protocol's client tries `/init` three times (5xx, resets, timeouts; 429 too, honouring
# Retry-After, where the reference gives up: a 429 says "later", not "never"): `polling.INIT`.


class RemoteBackend:
    """`base.Backend` over a `RemoteRolloutClient`: one rollout per action run."""

    def __init__(
        self,
        *,
        client: remote_client.RemoteRolloutClient,
        rollout: rollout_settings.Rollout,
    ) -> None:
        self._client = client
        self._rollout = rollout
        self._text: str | None = prompts.prompt_text(rollout.prompt.messages)

    @property
    def start_policy(self) -> polling.RetryPolicy:
        return polling.INIT

    @property
    def supports_long_poll(self) -> bool:
        return False

    def describe(self, *, request: models.StartRequest) -> models.RequestPreview:
        return models.RequestPreview(
            method="POST",
            url=self._client.init_url,
            headers={"Content-Type": "application/json"},
            body=self._init_body(request, api_key="***" if self._rollout.api_key else ""),
        )

    def _init_body(self, request: models.StartRequest, *, api_key: str) -> dict[str, Any]:
        aimed = self._rollout.aimed(request)
        self._text = aimed.text
        return init.init_request(
            prompt=self._rollout.prompt,
            messages=aimed.messages,
            meta=aimed.meta,
            model_base_url=self._rollout.model_base_url,
            api_key=api_key,
        )

    def start(self, *, request: models.StartRequest) -> models.StartedRun:
        self._client.init(request=self._init_body(request, api_key=self._rollout.api_key))
        ids = self._rollout.ids
        link = self._client.status_link(rollout_id=ids.rollout_id)
        return models.StartedRun(
            run_id=ids.rollout_id,
            run_url=link,
            status_url=link,
            extra_outputs=ids.outputs(),
        )

    def fetch(self, *, run_id: str, wait_seconds: float = 0) -> models.Run:
        state = self._client.status(rollout_id=run_id)
        # Read after `status`: once `auto` met a 404 on /status, the link is the gateway's.
        link = self._client.status_link(rollout_id=run_id)
        return results.run_from_state(
            state=state,
            run_id=run_id,
            run_url=link,
            status_url=link,
            title=self._rollout.prompt.title,
            text=self._text,
        )

    def cancel(self, *, run_id: str) -> None:
        """The contract has no cancel call: the service times the rollout out itself."""

    def baseline(self, *, prompt_id: str, current_run_id: str) -> models.Report | None:
        return None


def create(
    *,
    settings: settings.Settings,
    target: models.Target,
    session: requests.Session,
    github: Callable[..., github_api.GitHub],
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> base.Backend:
    """The remote backend for these settings; reads the prompt file (`ConfigError` if bad)."""
    started = rollout_settings.from_settings(settings_=settings, target=target)
    rollout = settings.rollout
    client = remote_client.RemoteRolloutClient(
        session=session,
        rollout_url=rollout.rollout_url,
        status_mode=rollout.status_mode,
        tracing_url=rollout.tracing_url or None,
        tracing_api_key=rollout.tracing_api_key or None,
    )
    return RemoteBackend(client=client, rollout=started)
