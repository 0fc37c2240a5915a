"""The `github-workflow` backend: an Eval Protocol rollout workflow (`rollout-contracts.md`).

`start` dispatches the workflow with its four string inputs and finds the run named
`rollout:<rollout_id>` (retrying 1, 2, 4, 8, 16 s with the injected `sleep`, stopping at the first
match); `fetch` reads the run and, once it succeeded, its `rollout-result` artifact; `cancel`
cancels it when our deadline passes. All GitHub calls go through `github_api.Actions`.
"""

from __future__ import annotations

import datetime
import io
import json
import logging
import time
import urllib.parse
import zipfile
from collections.abc import Callable
from typing import Any

import requests

from evals_action import errors, github_api, http, models, polling, settings
from evals_action.backends import base, rollout_common, tracing

log = logging.getLogger(__name__)

# Waits between looks for the dispatched run; the first look is immediate.
# Runs created this long before our dispatch still match (clock skew between us and GitHub).
CREATED_SLACK_SECONDS = 120
COMPLETED_CONCLUSIONS = frozenset({"success", "neutral"})


class GithubWorkflowBackend:
    """`base.Backend` over a dispatched workflow: one rollout per action run."""

    def __init__(
        self,
        *,
        actions: Callable[[], github_api.Actions],
        prompt: rollout_common.Prompt,
        ids: rollout_common.Correlation,
        repository: str,
        workflow: str,
        ref: str,
        model_base_url: str,
        api_key: str,
        api_url: str,
        server_url: str,
        sleep: Callable[[float], None],
        wall_clock: Callable[[], float] = time.time,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self._make_actions = actions
        self._actions: github_api.Actions | None = None
        self._prompt = prompt
        self._ids = ids
        self._repository = repository
        self._workflow = workflow
        self._ref = ref
        self._model_base_url = model_base_url
        self._api_key = api_key
        self._api_url = api_url.rstrip("/")
        self._server_url = server_url.rstrip("/")
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._warn: Callable[[str], None] = warn or log.warning
        self._text: str | None = rollout_common.prompt_text(prompt.messages)
        self._dispatched_at: float | None = None
        self._html_urls: dict[str, str] = {}
        self._results: dict[str, dict[str, Any] | None] = {}

    @property
    def start_policy(self) -> polling.RetryPolicy:
        return polling.START

    @property
    def supports_long_poll(self) -> bool:
        return False

    @property
    def run_name(self) -> str:
        return f"rollout:{self._ids.rollout_id}"

    # --- start ------------------------------------------------------------------------------

    def start(self, *, request: models.StartRequest) -> models.StartedRun:
        """Dispatch (once, even when retried after a transient error), then find the run."""
        if self._dispatched_at is None:
            self._dispatch(request)
        run = self._find_run()
        if run is None:
            return models.StartedRun(
                run_id=self.run_name,
                run_url=self._workflow_page(),
                extra_outputs=self._ids.outputs(),
            )
        run_id = str(run.id)
        self._html_urls[run_id] = run.html_url
        return models.StartedRun(
            run_id=run_id,
            run_url=run.html_url,
            status_url=self._api_run_url(run_id),
            extra_outputs={**self._ids.outputs(), "rollout-run-url": run.html_url},
        )

    def describe(self, *, request: models.StartRequest) -> models.RequestPreview:
        inputs = self.dispatch_inputs(request)
        if inputs["api_key"]:
            inputs["api_key"] = "***"
        return models.RequestPreview(
            method="POST",
            url=f"{self._api_url}/repos/{self._repository}/actions/workflows/{self._workflow}"
            "/dispatches",
            headers={"Authorization": "token ***"},
            body={"ref": self._ref, "inputs": inputs},
        )

    def dispatch_inputs(self, request: models.StartRequest) -> dict[str, str]:
        """Exactly the four `workflow_dispatch` inputs, all strings (GitHub rejects others)."""
        meta = rollout_common.metadata(
            ids=self._ids, url_map=request.url_map, template_args=request.template_args
        )
        return {
            "completion_params": rollout_common.shell_safe_json(self._prompt.completion_params),
            "metadata": rollout_common.shell_safe_json(meta),
            "model_base_url": tracing.model_url(
                base_url=self._model_base_url,
                metadata=meta,
                completion_params=self._prompt.completion_params,
            ),
            "api_key": self._api_key,
        }

    def _dispatch(self, request: models.StartRequest) -> None:
        messages = rollout_common.target_messages(
            messages=self._prompt.messages,
            template_args=request.template_args,
            url_map=request.url_map,
        )
        self._text = rollout_common.prompt_text(messages)
        when = self._wall_clock()
        self.actions.dispatch(
            workflow=self._workflow, ref=self._ref, inputs=self.dispatch_inputs(request)
        )
        self._dispatched_at = when

    def _find_run(self) -> github_api.WorkflowRun | None:
        """Look now, then after 1, 2, 4, 8, 16 s (longer when GitHub says Retry-After); stop at
        the first match. None when it never appeared; GitHub's last error when listing failed."""

        def look() -> github_api.WorkflowRun:
            found = self._match()
            if found is None:
                raise _NotListedYet(f"no workflow run named {self.run_name} yet")
            return found

        try:
            return polling.retry_call(look, policy=polling.FIND_RUN, sleep=self._sleep)
        except _NotListedYet:
            return None

    def _match(self) -> github_api.WorkflowRun | None:
        for run in self.actions.workflow_runs(
            workflow=self._workflow,
            event="workflow_dispatch",
            branch=branch_filter(self._ref),
            created=created_filter(self._dispatched_at or self._wall_clock()),
        ):
            if run.name == self.run_name:
                return run
        return None

    # --- fetch ------------------------------------------------------------------------------

    def fetch(self, *, run_id: str, wait_seconds: float = 0) -> models.Run:
        if run_id == self.run_name:
            return models.Run(
                run_id=run_id,
                status=models.FAILED,
                run_url=self._workflow_page(),
                failure_reason=(
                    f"Failed to find workflow run in GHA with rollout_id {self._ids.rollout_id}"
                ),
                prompt_title=self._prompt.title,
                prompt_text=self._text,
            )
        run = self.actions.workflow_run(run_id=_int_id(run_id))
        self._html_urls[run_id] = run.html_url
        state = self._state(run)
        return rollout_common.run_from_state(
            state=state,
            run_id=run_id,
            run_url=run.html_url,
            status_url=self._api_run_url(run_id),
            prompt=self._prompt,
            text=self._text,
        )

    def _state(self, run: github_api.WorkflowRun) -> rollout_common.RolloutState:
        if run.status != "completed":
            return rollout_common.RUNNING_STATE
        conclusion = run.conclusion or "unknown"
        if conclusion not in COMPLETED_CONCLUSIONS:
            return rollout_common.RolloutState(
                terminal=True,
                status=models.FAILED,
                message=f"GitHub Actions workflow concluded with '{conclusion}'",
            )
        return rollout_common.RolloutState(
            terminal=True, status=models.COMPLETED, result=self._result(run.id)
        )

    def _result(self, run_id: int) -> dict[str, Any] | None:
        """The `rollout-result` artifact's JSON, read once per run; None when absent or bad."""
        key = str(run_id)
        if key not in self._results:
            self._results[key] = self._read_result(run_id)
        return self._results[key]

    def _read_result(self, run_id: int) -> dict[str, Any] | None:
        artifact = next(
            (
                a
                for a in self.actions.run_artifacts(
                    run_id=run_id, name=rollout_common.RESULT_ARTIFACT
                )
                if a.name == rollout_common.RESULT_ARTIFACT
            ),
            None,
        )
        if artifact is None:
            return None
        if artifact.expired:
            self._warn(f"The {rollout_common.RESULT_ARTIFACT} artifact has expired; no score")
            return None
        try:
            data = self.actions.download_artifact(artifact_id=artifact.id)
        except (errors.ClientAPIError, errors.FatalAPIError) as exc:
            # Too large, gone, or refused: the run's conclusion still stands (contract: a
            # missing or malformed artifact is a warning and no result).
            self._warn(f"Could not download the {rollout_common.RESULT_ARTIFACT} artifact: {exc}")
            return None
        try:
            return rollout_common.check_result(result_from_zip(data))
        except ValueError as exc:
            self._warn(f"Ignoring the {rollout_common.RESULT_ARTIFACT} artifact: {exc}")
            return None

    # --- cancel, baseline -------------------------------------------------------------------

    def cancel(self, *, run_id: str) -> None:
        """Best effort: ask GitHub to cancel the run; never raises."""
        if run_id == self.run_name:
            return
        try:
            self.actions.cancel_run(run_id=_int_id(run_id))
        except errors.EvalsActionError as exc:
            self._warn(f"Could not cancel the rollout workflow run: {exc.message}")

    def baseline(self, *, prompt_id: str, current_run_id: str) -> models.Report | None:
        return None

    # --- helpers ----------------------------------------------------------------------------

    @property
    def actions(self) -> github_api.Actions:
        if self._actions is None:
            self._actions = self._make_actions()
        return self._actions

    def _workflow_page(self) -> str:
        workflow = urllib.parse.quote(self._workflow, safe="")
        return f"{self._server_url}/{self._repository}/actions/workflows/{workflow}"

    def _api_run_url(self, run_id: str) -> str:
        return f"{self._api_url}/repos/{self._repository}/actions/runs/{run_id}"


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
    """`rollout-result.json` from an artifact zip; `ValueError` when it is not there, not JSON,
    or over the limits of any answer (`http.MAX_BODY_BYTES` unpacked, `http.MAX_JSON_DEPTH`)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == "rollout-result.json"]
            if not names:
                raise ValueError(f"the zip has no {rollout_common.RESULT_FILE}")
            with archive.open(sorted(names, key=len)[0]) as member:
                raw = member.read(http.MAX_BODY_BYTES + 1)  # a zip bomb unpacks no further
    except zipfile.BadZipFile as exc:
        raise ValueError("the artifact is not a valid zip file") from exc
    if len(raw) > http.MAX_BODY_BYTES:
        raise ValueError(f"{rollout_common.RESULT_FILE} is larger than 1 MiB")
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{rollout_common.RESULT_FILE} is not valid JSON") from exc
    if http.too_deep(value):
        raise ValueError(f"{rollout_common.RESULT_FILE} is nested too deeply")
    return value


def _int_id(run_id: str) -> int:
    if not run_id.isdigit():
        raise errors.FatalAPIError(f"'{run_id}' is not a GitHub Actions run id")
    return int(run_id)


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
    rollout = settings.rollout
    prompt = rollout_common.load_prompt(rollout=rollout)
    repository = rollout.workflow_repo or settings.github.repository or (target.repository or "")
    if not repository:
        raise errors.ConfigError(
            ["workflow-repo input is required when the repository is unknown (outside Actions)"]
        )
    return GithubWorkflowBackend(
        actions=lambda: github_api.Actions(
            github=github(
                token=rollout.workflow_token or settings.github_token, repository=repository
            )
        ),
        prompt=prompt,
        ids=rollout_common.correlation(settings_=settings, target=target),
        repository=repository,
        workflow=rollout.workflow,
        ref=rollout.workflow_ref or "main",
        model_base_url=rollout.model_base_url,
        api_key=rollout.model_api_key,
        api_url=settings.github.api_url,
        server_url=settings.github.server_url,
        sleep=sleep,
    )


class _NotListedYet(errors.TransientAPIError):
    """The dispatched run is not in GitHub's listing yet: look again, on the same schedule."""
