"""GitHub Actions through PyGithub: dispatch a rollout workflow, find its runs, read and
download their artifacts, cancel them (`rollout-contracts.md`, github-workflow).

`Actions` drives a rollout workflow in `workflow-repo`. Unlike the comment and status calls of
`github_api`, these feed the polling loop, so failures become the API error tree: rate limits
(403/429 with Retry-After or x-ratelimit-*) and 5xx are transient, 401/403/404/422 are fatal,
other 4xx are client errors. Artifact zips are fetched from GitHub's signed URL through
`transport`, without the token (PyGithub would forward it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from evals_action import errors, github_api

T = TypeVar("T")

ARTIFACT_MAX_BYTES = 20 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class WorkflowRun:
    id: int
    name: str
    status: str
    conclusion: str | None
    html_url: str


@dataclasses.dataclass(frozen=True)
class Artifact:
    id: int
    name: str
    expired: bool
    size_in_bytes: int


class Actions:
    """Workflow dispatch, runs and artifacts of the façade's repository; one request per call
    except listings, which fetch 100 items per page and only as far as the caller iterates."""

    def __init__(self, *, github: github_api.GitHub, download_timeout: float = 60.0) -> None:
        import github as gh

        # The façade's own client, minus PyGithub's retries: they would sleep on their own, and
        # swallow the Retry-After the polling loop needs. Same token, base URL and throttling.
        settings = github._gh.requester.kwargs
        settings.update(retry=None, lazy=True)
        self._gh = gh.Github(**settings)
        self._repo = self._gh.get_repo(github._repository)
        self._requester = self._gh.requester
        self._download_timeout = download_timeout

    def dispatch(self, *, workflow: str, ref: str, inputs: dict[str, str]) -> None:
        """`POST .../actions/workflows/{workflow}/dispatches` (204)."""
        _actions_call(
            f"dispatch workflow '{workflow}' on '{ref}'",
            lambda: self._workflow(workflow).create_dispatch(ref=ref, inputs=inputs, throw=True),
        )

    def workflow_runs(
        self, *, workflow: str, event: str, branch: str, created: str
    ) -> Iterator[WorkflowRun]:
        """Runs of one workflow, newest first, paginated lazily (stop iterating to stop paging)."""
        what = f"list runs of workflow '{workflow}'"
        pages = self._workflow(workflow).get_runs(event=event, branch=branch, created=created)
        iterator = iter(pages)
        while True:
            item = _actions_call(what, lambda: next(iterator, None))
            if item is None:
                return
            yield _workflow_run(item)

    def workflow_run(self, *, run_id: int) -> WorkflowRun:
        """`GET .../actions/runs/{run_id}`."""
        return _actions_call(
            f"read workflow run {run_id}",
            lambda: _workflow_run(self._repo.get_workflow_run(run_id)),
        )

    def cancel_run(self, *, run_id: int) -> None:
        """`POST .../actions/runs/{run_id}/cancel` (202); 409 means it already finished."""
        _actions_call(
            f"cancel workflow run {run_id}",
            lambda: self._requester.requestJsonAndCheck(
                "POST", f"{self._repo.url}/actions/runs/{run_id}/cancel"
            ),
        )

    def run_artifacts(self, *, run_id: int, name: str | None = None) -> Iterator[Artifact]:
        """`GET .../actions/runs/{run_id}/artifacts` (filtered by `name` on the server)."""
        import github as gh

        params: dict[str, Any] = {"name": name} if name else {}
        pages = gh.PaginatedList.PaginatedList(
            gh.Artifact.Artifact,
            self._requester,
            f"{self._repo.url}/actions/runs/{run_id}/artifacts",
            params,
            list_item="artifacts",
        )
        iterator = iter(pages)
        while True:
            item = _actions_call(f"list artifacts of run {run_id}", lambda: next(iterator, None))
            if item is None:
                return
            yield Artifact(
                id=item.id,
                name=item.name,
                expired=bool(item.expired),
                size_in_bytes=int(item.size_in_bytes or 0),
            )

    def download_artifact(self, *, artifact_id: int, max_bytes: int = ARTIFACT_MAX_BYTES) -> bytes:
        """The artifact's zip: `GET .../artifacts/{id}/zip` answers 302 to a short-lived signed
        URL (often on another host), which is fetched without our token."""
        what = f"download artifact {artifact_id}"

        def locate() -> str:
            status, headers, body = self._requester.requestJson(
                "GET", f"{self._repo.url}/actions/artifacts/{artifact_id}/zip"
            )
            location = headers.get("location")
            if status in (301, 302, 303, 307) and location:
                return str(location)
            import json

            import github as gh

            data: Any = None
            try:
                data = json.loads(body) if body else None
            except ValueError:
                data = None
            raise gh.GithubException(status, data, headers)

        location = _actions_call(what, locate)
        return _fetch_signed(
            location, what=what, timeout=self._download_timeout, max_bytes=max_bytes
        )

    def _workflow(self, workflow: str) -> Any:
        return self._repo.get_workflow(int(workflow) if workflow.isdigit() else workflow)


def _workflow_run(run: Any) -> WorkflowRun:
    return WorkflowRun(
        id=int(run.id),
        name=run.name or "",
        status=run.status or "",
        conclusion=run.conclusion,
        html_url=run.html_url or "",
    )


def _fetch_signed(url: str, *, what: str, timeout: float, max_bytes: int) -> bytes:
    """The artifact zip, without our token (the URL is signed), within `transport`'s limits."""
    from evals_action import transport

    try:
        with transport.new_session(max_bytes=max_bytes, accept=None) as session:
            response = transport.request(
                session, method="GET", url=url, timeout=(10.0, timeout), allow_redirects=True
            )
    except transport.Unanswered as exc:
        raise errors.TransientAPIError(
            f"could not {what}: network error ({exc.kind})"
        ) from None  # the signed URL carries a credential; keep it out of tracebacks
    except errors.APIError as exc:  # a transport limit: too slow, or larger than max_bytes
        raise type(exc)(f"could not {what}: {exc.message}", status=exc.status) from None
    if response.status_code >= 400:
        error = errors.TransientAPIError if response.status_code >= 500 else errors.ClientAPIError
        raise error(
            f"could not {what}: HTTP {response.status_code} from the download URL",
            status=response.status_code,
        )
    return response.content


def _actions_call(what: str, fn: Callable[[], T]) -> T:
    import github as gh

    try:
        return fn()
    except gh.GithubException as exc:
        raise _actions_error(what, exc) from exc
    except OSError as exc:
        raise errors.TransientAPIError(
            f"could not {what}: network error ({type(exc).__name__})"
        ) from exc


_ACTIONS_HINTS = {
    401: "the workflow-token is invalid or expired",
    403: "the workflow-token lacks actions: write on the workflow repository",
    404: "the workflow repository, the workflow file or the run was not found, or the "
    "workflow-token cannot see it",
    422: "GitHub rejected the request (the workflow needs a workflow_dispatch trigger with exactly "
    "the inputs completion_params, metadata, model_base_url and api_key, and the ref must exist)",
}


def _actions_error(what: str, exc: Any) -> errors.APIError:
    status = getattr(exc, "status", None)
    headers = {str(k).lower(): str(v) for k, v in (getattr(exc, "headers", None) or {}).items()}
    data = getattr(exc, "data", None)
    detail = data.get("message") if isinstance(data, dict) else None
    text = f"could not {what}: HTTP {status}" + (f" ({str(detail)[:200]})" if detail else "")
    retry_after = _rate_limit_wait(headers)
    if status == 429 or (status == 403 and retry_after is not None):
        return errors.TransientAPIError(
            f"{text}: rate limited by GitHub", status=status, retry_after=retry_after
        )
    if isinstance(status, int) and status >= 500:
        return errors.TransientAPIError(text, status=status)
    if status in _ACTIONS_HINTS:
        return errors.FatalAPIError(f"{text}: {_ACTIONS_HINTS[status]}", status=status)
    return errors.ClientAPIError(text, status=status if isinstance(status, int) else None)


def _rate_limit_wait(headers: dict[str, str]) -> float | None:
    """Seconds to wait from `Retry-After`, else from `x-ratelimit-reset` when none remain."""
    import time

    from evals_action import transport

    wait = transport.parse_retry_after(headers.get("retry-after"))
    if wait is not None:
        return wait
    if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
        try:
            return max(0.0, float(headers["x-ratelimit-reset"]) - time.time())
        except ValueError:
            return None
    return None
