"""The server's rollouts, reached only through the Eval Protocol layer's clients.

- `RolloutClient` is what the worker pool (`worker`) needs: `init` and `status`, and optionally
  `cancel` (`Cancellable`) and `trace_messages` (`Traced`);
- `backend_clients` builds the real one for a prompt's `[rollout]`: an
  `eval_protocol.remote_client.RemoteRolloutClient`, or `WorkflowRollouts` over an
  `eval_protocol.workflow_client.WorkflowRolloutClient`;
- `init_request` builds a run's `InitRequest` with the same helpers as the action's `remote`
  backend, so both target previews and name correlation ids the same way;
- `with_trace` adds a tracing gateway's conversation to a result that has none.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import requests

from evals_action import errors, github_actions_api, github_api, models, transport
from evals_action.eval_protocol import init, prompts, remote_client, results, states
from evals_action.eval_protocol import workflow_client as workflow
from evals_action.server import config, store


class RolloutClient(Protocol):
    """Start a rollout and observe it (the shape `RemoteRolloutClient` has)."""

    def init(self, *, request: dict[str, Any]) -> None: ...
    def status(self, *, rollout_id: str) -> states.RolloutState: ...


@runtime_checkable
class Cancellable(Protocol):
    """A client that can stop a rollout when the run's deadline passes (best effort)."""

    def cancel(self, *, rollout_id: str) -> None: ...


@runtime_checkable
class Traced(Protocol):
    """A client that can read the conversation from a tracing gateway's trace (`remote`)."""

    def trace_messages(self, *, rollout_id: str) -> list[dict[str, Any]] | None: ...


ClientFactory = Callable[[config.Rollout, requests.Session], RolloutClient]


# The settings as the server's config file calls them (the action's inputs have other names).
CONFIG_NAMES = remote_client.SettingNames(
    url="the url of the prompt's [prompts.rollout] in the config",
    tracing_url="tracing_url in [prompts.rollout]",
    status_mode="status_mode in [prompts.rollout]",
)


def backend_clients(rollout: config.Rollout, session: requests.Session) -> RolloutClient:
    """The real clients, from the Eval Protocol layer (never a second copy here)."""
    if rollout.target == "remote":
        return remote_client.RemoteRolloutClient(
            session=session,
            rollout_url=rollout.url,
            status_mode=rollout.status_mode,
            tracing_url=rollout.tracing_url,
            tracing_api_key=rollout.tracing_api_key,
            names=CONFIG_NAMES,
        )
    return WorkflowRollouts(rollout=rollout, sleep=time.sleep)


class WorkflowRollouts:
    """`RolloutClient` over `workflow_client.WorkflowRolloutClient`.

    `init` dispatches the workflow and finds the run named `rollout:<id>`; `status` reads its
    conclusion and its `rollout-result` artifact. This adapter only keeps, per rollout id, the
    client and the GitHub run it found. The map lives in memory, so after a restart a workflow
    rollout cannot be followed and its run fails with that reason. The result goes through the
    report schema (`results.run_from_state`, then `results.result_from_report`), as the action's
    backend reads it: the final answer the checks see is the result's `summary`; the
    conversation (`messages`) does not come through.
    """

    def __init__(self, *, rollout: config.Rollout, sleep: Callable[[float], None]) -> None:
        self._rollout = rollout
        self._sleep = sleep
        self._active: dict[str, tuple[workflow.WorkflowRolloutClient, str | None]] = {}
        self._dispatching: dict[str, workflow.WorkflowRolloutClient] = {}  # found no run yet

    def init(self, *, request: dict[str, Any]) -> None:
        """Dispatch once, then find the run. Retried (the run driver's `INIT` policy) after a
        transient error, it only looks again: the workflow was dispatched already."""
        meta = request["metadata"]
        rollout_id = meta["rollout_id"]
        client = self._dispatching.setdefault(rollout_id, self._client())
        if client.dispatched_at is None:
            client.dispatch(
                inputs=workflow.dispatch_inputs(
                    completion_params=dict(request.get("completion_params") or {}),
                    meta=meta,
                    model_base_url=request.get("model_base_url") or "",
                    api_key=request.get("api_key") or "",
                )
            )
        run = client.find_run(name=workflow.run_name(rollout_id=rollout_id))
        self._active[rollout_id] = (self._dispatching.pop(rollout_id), str(run.id) if run else None)

    def _client(self) -> workflow.WorkflowRolloutClient:
        rollout = self._rollout
        token = rollout.workflow_token or ""
        return workflow.WorkflowRolloutClient(
            actions=lambda: github_actions_api.Actions(
                github=github_api.GitHub(
                    token=token,
                    api_url=rollout.github_api_url,
                    repository=rollout.workflow_repo,
                    user_agent=transport.USER_AGENT,
                )
            ),
            repository=rollout.workflow_repo,
            workflow=rollout.workflow,
            ref=rollout.workflow_ref,
            api_url=rollout.github_api_url,
            server_url=rollout.github_server_url,
            sleep=self._sleep,
        )

    def status(self, *, rollout_id: str) -> states.RolloutState:
        if rollout_id not in self._active:
            raise errors.FatalAPIError(
                "the server restarted while this workflow rollout ran, and a workflow run "
                "cannot be followed after a restart; start a new run"
            )
        client, run_id = self._active[rollout_id]
        if run_id is None:
            return states.RolloutState(
                terminal=True,
                status=models.FAILED,
                message=f"Failed to find workflow run in GHA with rollout_id {rollout_id}",
            )
        _, state = client.state(run_id=run_id)
        run = results.run_from_state(state=state, run_id=run_id, run_url="")
        result = results.result_from_report(run.report) if run.report else None
        return dataclasses.replace(state, message=run.failure_reason, result=result)

    def cancel(self, *, rollout_id: str) -> None:
        if rollout_id in self._active:
            client, run_id = self._active.pop(rollout_id)
            if run_id is not None:
                client.cancel(run_id=run_id)


def init_request(*, run: store.RunRow, prompt: config.Prompt, rollout_id: str) -> dict[str, Any]:
    """The Eval Protocol `InitRequest` for one run, aimed at the run's preview."""
    args = run.request.get("templateArgs") or {}
    url_map = run.request.get("urlMap") or {}
    rollout = prompt.rollout
    ids = init.Correlation(
        invocation_id=f"evals-server-{run.run_id}",
        experiment_id=f"{run.repository}#{run.pull_request}"
        if run.repository and run.pull_request is not None
        else run.run_id,
        rollout_id=rollout_id,
        run_id=run.run_id,
        row_id=prompt.id,
    )
    aimed = init.targeted(messages=prompt.messages, ids=ids, url_map=url_map, template_args=args)
    return init.init_request(
        prompt=prompts.Prompt(
            title=prompt.title,
            messages=tuple(dict(m) for m in prompt.messages),
            tools=[dict(t) for t in prompt.tools] if prompt.tools is not None else None,
            completion_params=dict(rollout.completion_params),
        ),
        messages=aimed.messages,
        meta=aimed.meta,
        model_base_url=rollout.model_base_url,
        api_key=rollout.model_api_key or "",
    )


def with_trace(
    *, result: Mapping[str, Any] | None, client: RolloutClient, rollout_id: str | None
) -> Mapping[str, Any] | None:
    """The result, with the gateway trace's conversation as its `messages` when it has none.

    An unchanged Eval Protocol agent reports no result: its answer is in the trace its model
    calls left on the tracing gateway, which is where Eval Protocol reads it too.
    """
    if (result or {}).get("messages") or not rollout_id or not isinstance(client, Traced):
        return result
    messages = client.trace_messages(rollout_id=rollout_id)
    return {**(result or {}), "messages": messages} if messages else result
