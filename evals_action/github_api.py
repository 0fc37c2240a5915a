"""GitHub, through PyGithub. The only module that imports `github`.

`GitHub` is a small façade with the calls the action makes; PyGithub's exceptions become
`errors.GitHubError` here, with a message naming the call and what to check. Requests are kept
to the minimum: objects are lazy, comments are listed 100 at a time, and the token's identity is
only asked for (`GET /user`) when a comment carrying our marker exists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from evals_action import errors

if TYPE_CHECKING:
    import github

# The identity behind GITHUB_TOKEN; `GET /user` answers 403 for installation tokens.
ACTIONS_BOT = "github-actions[bot]"

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Pull:
    number: int
    head_sha: str
    state: str


@dataclasses.dataclass(frozen=True)
class Comment:
    id: int
    body: str
    author: str


class GitHub:
    """The action's GitHub calls for one repository."""

    def __init__(
        self,
        *,
        token: str,
        api_url: str,
        repository: str,
        user_agent: str,
        timeout: float = 15.0,
        retries: int = 2,
        backoff_factor: float = 1.0,
    ) -> None:
        import github as gh

        retry = gh.GithubRetry(total=retries, backoff_factor=backoff_factor)
        self._gh = gh.Github(
            base_url=api_url,
            auth=gh.Auth.Token(token),
            user_agent=user_agent,
            timeout=int(max(1, timeout)),
            per_page=100,
            retry=retry,
            lazy=True,
        )
        self._repo = self._gh.get_repo(repository)
        self._repository = repository
        self._identity: str | None = None
        # Comment objects seen while listing or creating, so an update needs no extra GET.
        self._seen: dict[int, Any] = {}
        self.api_url = api_url

    # --- who we are -------------------------------------------------------------------------

    def identity(self) -> str:
        """The login comments are posted as; cached."""
        if self._identity is None:
            import github as gh

            try:
                self._identity = self._gh.get_user().login
            except gh.GithubException as exc:
                if exc.status != 403:
                    raise _error("read the token's identity (GET /user)", exc) from exc
                self._identity = ACTIONS_BOT
        return self._identity

    # --- pull requests ----------------------------------------------------------------------

    def pull(self, *, number: int) -> Pull:
        return _call(f"read pull request #{number}", lambda: _pull(self._repo.get_pull(number)))

    def open_pulls_for_commit(self, *, sha: str) -> list[Pull]:
        def list_them() -> list[Pull]:
            pulls = self._repo.get_commit(sha).get_pulls()
            return [_pull(p) for p in pulls if p.state == "open"]

        return _call(f"list pull requests for commit {sha[:12]}", list_them)

    # --- comments ---------------------------------------------------------------------------

    def comments(self, *, issue_number: int) -> Iterator[Comment]:
        """Every comment on the PR, oldest first, fetched 100 per request."""
        import github as gh

        try:
            for c in self._repo.get_issue(issue_number).get_comments():
                self._seen[c.id] = c
                yield Comment(id=c.id, body=c.body or "", author=c.user.login if c.user else "")
        except gh.GithubException as exc:
            raise _error(f"list comments of #{issue_number}", exc) from exc

    def create_comment(self, *, issue_number: int, body: str) -> Comment:
        def create() -> Comment:
            c = self._repo.get_issue(issue_number).create_comment(body)
            self._seen[c.id] = c
            author = c.user.login if c.user else ""
            if author and self._identity is None:
                self._identity = author
            return Comment(id=c.id, body=c.body or "", author=author)

        return _call(f"create a comment on #{issue_number}", create)

    def update_comment(self, *, issue_number: int, comment_id: int, body: str) -> None:
        def update() -> None:
            comment = self._seen.get(comment_id)
            if comment is None:
                comment = self._repo.get_issue(issue_number).get_comment(comment_id)
            comment.edit(body)

        _call(f"update comment {comment_id}", update)

    def delete_comment(self, *, issue_number: int, comment_id: int) -> None:
        def delete() -> None:
            comment = self._seen.pop(comment_id, None)
            if comment is None:
                comment = self._repo.get_issue(issue_number).get_comment(comment_id)
            comment.delete()

        _call(f"delete comment {comment_id}", delete)

    # --- statuses ---------------------------------------------------------------------------

    def create_status(
        self, *, sha: str, state: str, context: str, description: str, target_url: str | None
    ) -> None:
        def create() -> None:
            kwargs: dict[str, Any] = {
                "state": state,
                "context": context,
                "description": description,
            }
            if target_url:
                kwargs["target_url"] = target_url
            self._repo.get_commit(sha).create_status(**kwargs)

        _call(f"set commit status '{context}' on {sha[:12]}", create)


def _pull(p: github.PullRequest.PullRequest) -> Pull:
    return Pull(number=p.number, head_sha=p.head.sha, state=p.state)


def _call(what: str, fn: Callable[[], T]) -> T:
    import github as gh

    try:
        return fn()
    except gh.GithubException as exc:
        raise _error(what, exc) from exc
    except OSError as exc:  # connection refused, reset, DNS: requests' errors derive from OSError
        raise errors.GitHubError(f"could not {what}: network error ({type(exc).__name__})") from exc


_HINTS = {
    401: "the token is invalid or expired",
    403: "the token lacks permission (needs pull-requests: write and statuses: write; fork PRs "
    "on pull_request get a read-only token)",
    404: "the repository, pull request or commit was not found, or the token cannot see it",
    422: "GitHub rejected the request as invalid",
}


def _error(what: str, exc: Any) -> errors.GitHubError:
    status = getattr(exc, "status", None)
    data = getattr(exc, "data", None)
    detail = data.get("message") if isinstance(data, dict) else None
    hint = _HINTS.get(status, "GitHub answered with an error") if isinstance(status, int) else ""
    text = f"could not {what}: HTTP {status}"
    if detail:
        text += f" ({str(detail)[:200]})"
    if hint:
        text += f": {hint}"
    return errors.GitHubError(text, status=status if isinstance(status, int) else None)


# --- Actions (github-workflow backend) ---
#
# `Actions` drives a rollout workflow in `workflow-repo` (`rollout-contracts.md`, github-workflow).
# Unlike the comment and status calls above, these feed the polling loop, so failures become the
# API error tree: rate limits (403/429 with Retry-After or x-ratelimit-*) and 5xx are transient,
# 401/403/404/422 are fatal, other 4xx are client errors.

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

    def __init__(self, *, github: GitHub, download_timeout: float = 60.0) -> None:
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
    import requests

    from evals_action import http

    try:
        with http.new_session(max_bytes=max_bytes, accept=None) as session:
            response = session.get(url, timeout=(10.0, timeout))
    except errors.APIError as exc:  # a transport limit: too slow, or larger than max_bytes
        raise type(exc)(f"could not {what}: {exc.message}", status=exc.status) from None
    except requests.RequestException as exc:
        raise errors.TransientAPIError(
            f"could not {what}: network error ({type(exc).__name__})"
        ) from None  # the signed URL carries a credential; keep it out of tracebacks
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

    from evals_action import http

    wait = http.parse_retry_after(headers.get("retry-after"))
    if wait is not None:
        return wait
    if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
        try:
            return max(0.0, float(headers["x-ratelimit-reset"]) - time.time())
        except ValueError:
            return None
    return None
