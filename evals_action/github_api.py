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
        identity: str | None = None,
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
        self._identity = identity  # known already (a server's earlier report): no `GET /user`
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

    @property
    def known_identity(self) -> str | None:
        """The identity if it was already learned, without asking GitHub."""
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
