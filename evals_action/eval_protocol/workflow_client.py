"""An Eval Protocol rollout workflow on GitHub Actions (`rollout-contracts.md`, `github-workflow`).

`WorkflowRolloutClient` dispatches the workflow with its four string inputs (`dispatch_inputs`),
finds the run named `rollout:<rollout_id>` (`polling.FIND_RUN`: looking again after 1, 2, 4, 8,
16 s with the injected `sleep`, stopping at the first match), reads the run's state and, once it
succeeded, its `rollout-result` artifact (`read_result`), and cancels it. All GitHub calls go
through `github_actions_api.Actions`. The action's `backends/github_workflow.py` and the server's
worker use it.
"""

from __future__ import annotations

import datetime
import io
import json
import logging
import time
import urllib.parse
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

from evals_action import errors, github_actions_api, models, polling, transport
from evals_action.eval_protocol import init, results, states, tracing

log = logging.getLogger(__name__)

# Runs created this long before our dispatch still match (clock skew between us and GitHub).
CREATED_SLACK_SECONDS = 120
COMPLETED_CONCLUSIONS = frozenset({"success", "neutral"})


def run_name(*, rollout_id: str) -> str:
    """The `run-name` the rollout workflow gives its run."""
    return f"rollout:{rollout_id}"


def dispatch_inputs(
    *,
    completion_params: Mapping[str, Any],
    meta: Mapping[str, Any],
    model_base_url: str,
    api_key: str,
) -> dict[str, str]:
    """Exactly the four `workflow_dispatch` inputs, all strings (GitHub rejects others)."""
    return {
        "completion_params": init.shell_safe_json(completion_params),
        "metadata": init.shell_safe_json(meta),
        "model_base_url": tracing.model_url(
            base_url=model_base_url, metadata=meta, completion_params=completion_params
        ),
        "api_key": api_key,
    }


class WorkflowRolloutClient:
    """One rollout workflow in one repository; `dispatch` once, then find and read its run."""

    def __init__(
        self,
        *,
        actions: Callable[[], github_actions_api.Actions],
        repository: str,
        workflow: str,
        ref: str,
        api_url: str,
        server_url: str,
        sleep: Callable[[float], None],
        wall_clock: Callable[[], float] = time.time,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self._make_actions = actions
        self._actions: github_actions_api.Actions | None = None
        self.repository = repository
        self.workflow = workflow
        self.ref = ref
        self._api_url = api_url.rstrip("/")
        self._server_url = server_url.rstrip("/")
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._warn: Callable[[str], None] = warn or log.warning
        self.dispatched_at: float | None = None
        self._results: dict[str, dict[str, Any] | None] = {}

    @property
    def dispatch_url(self) -> str:
        return (
            f"{self._api_url}/repos/{self.repository}/actions/workflows/{self.workflow}/dispatches"
        )

    def dispatch(self, *, inputs: Mapping[str, str]) -> None:
        """Start the workflow; remembers when, for the run search."""
        when = self._wall_clock()
        self.actions.dispatch(workflow=self.workflow, ref=self.ref, inputs=dict(inputs))
        self.dispatched_at = when

    def find_run(self, *, name: str) -> github_actions_api.WorkflowRun | None:
        """Look now, then after 1, 2, 4, 8, 16 s (longer when GitHub says Retry-After); stop at
        the first match. None when it never appeared; GitHub's last error when listing failed."""

        def look() -> github_actions_api.WorkflowRun:
            found = self._match(name)
            if found is None:
                raise _NotListedYet(f"no workflow run named {name} yet")
            return found

        try:
            return polling.retry_call(look, policy=polling.FIND_RUN, sleep=self._sleep)
        except _NotListedYet:
            return None

    def _match(self, name: str) -> github_actions_api.WorkflowRun | None:
        for run in self.actions.workflow_runs(
            workflow=self.workflow,
            event="workflow_dispatch",
            branch=branch_filter(self.ref),
            created=created_filter(self.dispatched_at or self._wall_clock()),
        ):
            if run.name == name:
                return run
        return None

    def state(self, *, run_id: str) -> tuple[github_actions_api.WorkflowRun, states.RolloutState]:
        """The run and its rollout state (the artifact's result once it succeeded)."""
        run = self.actions.workflow_run(run_id=_int_id(run_id))
        if run.status != "completed":
            return run, states.RUNNING_STATE
        conclusion = run.conclusion or "unknown"
        if conclusion not in COMPLETED_CONCLUSIONS:
            return run, states.RolloutState(
                terminal=True,
                status=models.FAILED,
                message=f"GitHub Actions workflow concluded with '{conclusion}'",
            )
        return run, states.RolloutState(
            terminal=True, status=models.COMPLETED, result=self._result(run.id)
        )

    def _result(self, run_id: int) -> dict[str, Any] | None:
        """The `rollout-result` artifact's JSON, read once per run; None when absent or bad."""
        key = str(run_id)
        if key not in self._results:
            self._results[key] = read_result(actions=self.actions, run_id=run_id, warn=self._warn)
        return self._results[key]

    def cancel(self, *, run_id: str) -> None:
        """Best effort: ask GitHub to cancel the run; never raises."""
        try:
            self.actions.cancel_run(run_id=_int_id(run_id))
        except errors.EvalsActionError as exc:
            self._warn(f"Could not cancel the rollout workflow run: {exc.message}")

    @property
    def actions(self) -> github_actions_api.Actions:
        if self._actions is None:
            self._actions = self._make_actions()
        return self._actions

    def workflow_page(self) -> str:
        workflow = urllib.parse.quote(self.workflow, safe="")
        return f"{self._server_url}/{self.repository}/actions/workflows/{workflow}"

    def api_run_url(self, run_id: str) -> str:
        return f"{self._api_url}/repos/{self.repository}/actions/runs/{run_id}"


def read_result(
    *, actions: github_actions_api.Actions, run_id: int, warn: Callable[[str], None]
) -> dict[str, Any] | None:
    """A run's `rollout-result` artifact, checked; None (with a warning when it is there but
    unusable) otherwise. A missing or bad artifact never changes the run's conclusion."""
    name = results.RESULT_ARTIFACT
    artifact = next(
        (a for a in actions.run_artifacts(run_id=run_id, name=name) if a.name == name),
        None,
    )
    if artifact is None:
        return None
    if artifact.expired:
        warn(f"The {name} artifact has expired; no score")
        return None
    try:
        data = actions.download_artifact(artifact_id=artifact.id)
    except (errors.ClientAPIError, errors.FatalAPIError) as exc:
        # Too large, gone, or refused: the run's conclusion still stands (contract: a
        # missing or malformed artifact is a warning and no result).
        warn(f"Could not download the {name} artifact: {exc}")
        return None
    try:
        return results.check_result(result_from_zip(data))
    except ValueError as exc:
        warn(f"Ignoring the {name} artifact: {exc}")
        return None


def branch_filter(ref: str) -> str:
    """The `branch` filter for a dispatch ref (`refs/heads/x` and `refs/tags/x` → `x`)."""
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def created_filter(dispatched_at: float) -> str:
    """`>=<ISO 8601>`: runs created from two minutes before the dispatch on."""
    since = datetime.datetime.fromtimestamp(
        dispatched_at - CREATED_SLACK_SECONDS, datetime.timezone.utc
    )
    return ">=" + since.strftime("%Y-%m-%dT%H:%M:%SZ")


def result_from_zip(data: bytes) -> Any:
    """`rollout-result.json` from an artifact zip; `ValueError` when it is not there, not JSON, or
    over the limits of any answer (`transport.MAX_BODY_BYTES` unpacked, `MAX_JSON_DEPTH`)."""
    file = results.RESULT_FILE
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == file]
            if not names:
                raise ValueError(f"the zip has no {file}")
            with archive.open(sorted(names, key=len)[0]) as member:
                raw = member.read(transport.MAX_BODY_BYTES + 1)  # a zip bomb unpacks no further
    except zipfile.BadZipFile as exc:
        raise ValueError("the artifact is not a valid zip file") from exc
    if len(raw) > transport.MAX_BODY_BYTES:
        raise ValueError(f"{file} is larger than 1 MiB")
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{file} is not valid JSON") from exc
    if transport.too_deep(value):
        raise ValueError(f"{file} is nested too deeply")
    return value


def _int_id(run_id: str) -> int:
    if not run_id.isdigit():
        raise errors.FatalAPIError(f"'{run_id}' is not a GitHub Actions run id")
    return int(run_id)


class _NotListedYet(errors.TransientAPIError):
    """The dispatched run is not in GitHub's listing yet: look again, on the same schedule."""
