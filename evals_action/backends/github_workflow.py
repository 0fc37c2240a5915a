"""The `github-workflow` backend: an Eval Protocol rollout workflow (`rollout-contracts.md`).

A thin adapter: settings → `eval_protocol.workflow_client.WorkflowRolloutClient` →
`base.Backend`. `start` dispatches the workflow (once, even when retried) and finds the run
named `rollout:<rollout_id>`; `fetch` reads the run and, once it succeeded, its `rollout-result`
artifact; `cancel` cancels it when our deadline passes.
"""

from __future__ import annotations

from collections.abc import Callable

import requests

from evals_action import errors, github_actions_api, github_api, models, polling, settings
from evals_action.backends import base, rollout_settings
from evals_action.eval_protocol import init, prompts, results, workflow_client


class GithubWorkflowBackend:
    """`base.Backend` over a dispatched workflow: one rollout per action run."""

    def __init__(
        self,
        *,
        client: workflow_client.WorkflowRolloutClient,
        rollout: rollout_settings.Rollout,
    ) -> None:
        self._client = client
        self._rollout = rollout
        self._ids = rollout.ids
        self._text: str | None = prompts.prompt_text(rollout.prompt.messages)

    @property
    def start_policy(self) -> polling.RetryPolicy:
        return polling.START

    @property
    def supports_long_poll(self) -> bool:
        return False

    @property
    def run_name(self) -> str:
        return workflow_client.run_name(rollout_id=self._ids.rollout_id)

    def start(self, *, request: models.StartRequest) -> models.StartedRun:
        """Dispatch (once, even when retried after a transient error), then find the run."""
        if self._client.dispatched_at is None:
            aimed = self._rollout.aimed(request)
            self._text = aimed.text
            self._client.dispatch(inputs=self._inputs(aimed, api_key=self._rollout.api_key))
        run = self._client.find_run(name=self.run_name)
        if run is None:
            return models.StartedRun(
                run_id=self.run_name,
                run_url=self._client.workflow_page(),
                extra_outputs=self._ids.outputs(),
            )
        run_id = str(run.id)
        return models.StartedRun(
            run_id=run_id,
            run_url=run.html_url,
            status_url=self._client.api_run_url(run_id),
            extra_outputs={**self._ids.outputs(), "rollout-run-url": run.html_url},
        )

    def describe(self, *, request: models.StartRequest) -> models.RequestPreview:
        api_key = "***" if self._rollout.api_key else ""
        return models.RequestPreview(
            method="POST",
            url=self._client.dispatch_url,
            headers={"Authorization": "token ***"},
            body={
                "ref": self._client.ref,
                "inputs": self._inputs(self._rollout.aimed(request), api_key=api_key),
            },
        )

    def _inputs(self, aimed: init.Targeted, *, api_key: str) -> dict[str, str]:
        return workflow_client.dispatch_inputs(
            completion_params=self._rollout.prompt.completion_params,
            meta=aimed.meta,
            model_base_url=self._rollout.model_base_url,
            api_key=api_key,
        )

    def fetch(self, *, run_id: str, wait_seconds: float = 0) -> models.Run:
        if run_id == self.run_name:
            return models.Run(
                run_id=run_id,
                status=models.FAILED,
                run_url=self._client.workflow_page(),
                failure_reason=(
                    f"Failed to find workflow run in GHA with rollout_id {self._ids.rollout_id}"
                ),
                prompt_title=self._rollout.prompt.title,
                prompt_text=self._text,
            )
        run, state = self._client.state(run_id=run_id)
        return results.run_from_state(
            state=state,
            run_id=run_id,
            run_url=run.html_url,
            status_url=self._client.api_run_url(run_id),
            title=self._rollout.prompt.title,
            text=self._text,
        )

    def cancel(self, *, run_id: str) -> None:
        """Best effort: ask GitHub to cancel the run; never raises."""
        if run_id != self.run_name:
            self._client.cancel(run_id=run_id)

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
    """The github-workflow backend; reads the prompt file (`ConfigError` if bad).

    `github(token=..., repository=...)` builds the façade; it is called (with `workflow-token`, else
    `github-token`, and `workflow-repo`) only on the first GitHub request.
    """
    started = rollout_settings.from_settings(settings_=settings, target=target)
    rollout = settings.rollout
    repository = rollout.workflow_repo or settings.github.repository or (target.repository or "")
    if not repository:
        raise errors.ConfigError(
            ["workflow-repo input is required when the repository is unknown (outside Actions)"]
        )
    client = workflow_client.WorkflowRolloutClient(
        actions=lambda: github_actions_api.Actions(
            github=github(
                token=rollout.workflow_token or settings.github_token, repository=repository
            )
        ),
        repository=repository,
        workflow=rollout.workflow,
        ref=rollout.workflow_ref or "main",
        api_url=settings.github.api_url,
        server_url=settings.github.server_url,
        sleep=sleep,
    )
    return GithubWorkflowBackend(client=client, rollout=started)
