"""Tokens for the server's own GitHub calls: a GitHub App's installation tokens, or a plain token.

A `TokenSource` answers `token(repository=...)` and `login()`, whom its tokens write as.
`AppTokens` authenticates as the App with a short JWT signed by its private key (PyGithub's
`Auth.AppAuth`), finds the repository's installation (`GET /repos/{owner}/{repo}/installation`),
mints an installation token (`POST /app/installations/{id}/access_tokens`) and caches it until
`margin_seconds` before it expires (GitHub gives one hour). Its tokens write as `<slug>[bot]`,
learned once from `GET /app` (`GET /user` answers 403 for installation tokens). `StaticToken`
is the fallback for the simplest setups; its login is unknown (None: ask `GET /user`).
`client` builds a PyGithub client with a source's token. Failures become `errors.GitHubError`
naming the call and what to check, never a key or a token.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from evals_action import errors

if TYPE_CHECKING:
    import github

# Refresh this long before GitHub's `expires_at`, so a token never expires mid-report.
DEFAULT_MARGIN_SECONDS = 300.0


@dataclasses.dataclass(frozen=True)
class PullInfo:
    """A pull request as webhook decisions see it."""

    number: int
    head_sha: str
    fork: bool  # head repository differs from the base, or was deleted
    open: bool


@dataclasses.dataclass(frozen=True)
class DeploymentInfo:
    """A deployment of a commit, as a label or command run's preview lookup sees it."""

    id: int
    environment: str
    created_at: float  # seconds since the epoch


@dataclasses.dataclass(frozen=True)
class DeploymentStatusInfo:
    state: str
    target_url: str
    environment_url: str


class TokenSource(Protocol):
    def token(self, *, repository: str) -> str: ...

    def login(self) -> str | None: ...


@dataclasses.dataclass(frozen=True)
class StaticToken:
    """One token for every repository (a personal or fine-grained token, or `GITHUB_TOKEN`)."""

    value: str = dataclasses.field(repr=False)

    def token(self, *, repository: str) -> str:
        return self.value

    def login(self) -> str | None:
        """Unknown without asking GitHub (`GET /user`, which the caller does when needed)."""
        return None


@dataclasses.dataclass(frozen=True)
class _Cached:
    token: str = dataclasses.field(repr=False)
    expires_at: float


class AppTokens:
    """Installation tokens of one GitHub App, cached per installation until near expiry."""

    def __init__(
        self,
        *,
        app_id: str,
        private_key: str,
        api_url: str,
        user_agent: str,
        clock: Callable[[], float] = time.time,
        margin_seconds: float = DEFAULT_MARGIN_SECONDS,
        timeout: float = 15.0,
    ) -> None:
        import github as gh
        import jwt

        try:
            auth = gh.Auth.AppAuth(app_id, private_key)
            auth.create_jwt()  # fails now, not on the first webhook, when the key is unusable
        except (ValueError, TypeError, AssertionError, jwt.PyJWTError) as exc:
            raise errors.ConfigError(
                [f"github.private_key_file: not a usable RSA private key ({type(exc).__name__})"]
            ) from None
        self._integration = gh.GithubIntegration(
            auth=auth, base_url=api_url, user_agent=user_agent, timeout=int(max(1, timeout))
        )
        self._clock, self._margin = clock, margin_seconds
        self._installations: dict[str, int] = {}
        self._cache: dict[int, _Cached] = {}
        self._login: str | None = None
        self._lock = threading.Lock()

    def login(self) -> str:
        """The App's bot login, `<slug>[bot]`, which its installation tokens write as; asked
        once (`GET /app` with the App's JWT) and kept for this source's life."""
        with self._lock:
            if self._login is None:
                what = "read the GitHub App's own login (GET /app)"
                slug = _call(what, lambda: self._integration.get_app().slug)
                if not isinstance(slug, str) or not slug:
                    raise errors.GitHubError(f"could not {what}: GitHub's answer has no slug")
                self._login = f"{slug}[bot]"
            return self._login

    def token(self, *, repository: str) -> str:
        """A token valid for at least `margin_seconds` more for the App's installation there."""
        with self._lock:
            installation = self._installation(repository=repository)
            cached = self._cache.get(installation)
            if cached is None or cached.expires_at - self._margin <= self._clock():
                try:
                    cached = self._mint(installation=installation)
                except errors.GitHubError as exc:
                    if exc.status == 404:  # reinstalled: look the installation up again next time
                        self._installations.pop(repository.lower(), None)
                    raise
                self._cache[installation] = cached
            return cached.token

    def _installation(self, *, repository: str) -> int:
        key = repository.lower()
        if key not in self._installations:
            owner, _, name = repository.partition("/")
            what = f"find the GitHub App's installation on {repository} (is the App installed?)"
            found = _call(what, lambda: self._integration.get_repo_installation(owner, name).id)
            self._installations[key] = int(found)
        return self._installations[key]

    def _mint(self, *, installation: int) -> _Cached:
        what = f"create an installation token for installation {installation}"
        granted = _call(what, lambda: self._integration.get_access_token(installation))
        expires = granted.expires_at
        if expires is None:
            raise errors.GitHubError(f"could not {what}: GitHub's answer has no expires_at")
        return _Cached(token=granted.token, expires_at=expires.timestamp())


def client(
    *, source: TokenSource, repository: str, api_url: str, user_agent: str, retries: int = 2
) -> github.Github:
    """A PyGithub client authenticated with `source`'s current token for `repository`;
    5xx and rate limits are retried `retries` times (PyGithub's own default is 10)."""
    import github as gh

    return gh.Github(
        base_url=api_url,
        auth=gh.Auth.Token(source.token(repository=repository)),
        user_agent=user_agent,
        lazy=True,
        retry=gh.GithubRetry(total=retries, backoff_factor=1.0) if retries else None,
    )


def _call(what: str, fn: Callable[[], Any]) -> Any:
    import github as gh
    import requests

    try:
        return fn()
    except gh.GithubException as exc:
        hint = _HINTS.get(exc.status, "")
        raise errors.GitHubError(
            f"could not {what}: HTTP {exc.status}{hint}", status=exc.status
        ) from None
    except requests.RequestException as exc:
        raise errors.GitHubError(f"could not {what}: {type(exc).__name__}") from None


_HINTS = {
    401: " (check github.app_id and that private_key_file is the App's current key)",
    404: " (install the App on the repository, or check github.app_id)",
}


class RepositoryReads:
    """The reads webhook decisions need (`server.webhooks.GitHubReads`), with a source's tokens."""

    def __init__(
        self, *, source: TokenSource, api_url: str, user_agent: str, retries: int = 2
    ) -> None:
        self._source, self._api_url, self._user_agent = source, api_url, user_agent
        self._retries = retries

    def permission(self, *, repository: str, login: str) -> str:
        """`admin`, `write` (maintain too), `read` (triage too) or `none`, as GitHub answers."""
        repo = self._repo(repository=repository)
        what = f"read {login}'s permission on {repository}"
        return str(_call(what, lambda: repo.get_collaborator_permission(login)))

    def pull(self, *, repository: str, number: int) -> PullInfo:
        repo = self._repo(repository=repository)
        pull = _call(f"read pull request #{number} of {repository}", lambda: repo.get_pull(number))
        return _pull_info(pull=pull, repository=repository)

    def pulls_for_commit(self, *, repository: str, sha: str) -> list[PullInfo]:
        repo = self._repo(repository=repository)

        def list_them() -> list[PullInfo]:
            pulls = repo.get_commit(sha).get_pulls()
            return [_pull_info(pull=p, repository=repository) for p in pulls]

        return list(_call(f"list pull requests for commit {sha[:12]}", list_them))

    def deployments(
        self, *, repository: str, sha: str, environment: str | None, limit: int
    ) -> list[DeploymentInfo]:
        """The commit's `limit` newest deployments (of `environment`, when given), newest first
        as GitHub lists them."""
        repo = self._repo(repository=repository)
        where = {"environment": environment} if environment else {}

        def list_them() -> list[DeploymentInfo]:
            found = itertools.islice(repo.get_deployments(sha=sha, **where), limit)
            return [
                DeploymentInfo(id=d.id, environment=d.environment, created_at=_epoch(d.created_at))
                for d in found
            ]

        return list(_call(f"list the deployments of commit {sha[:12]}", list_them))

    def newest_deployment_status(
        self, *, repository: str, deployment_id: int
    ) -> DeploymentStatusInfo | None:
        """The deployment's newest status (GitHub lists them newest first); None without one."""
        repo = self._repo(repository=repository)

        def newest() -> DeploymentStatusInfo | None:
            deployment = repo.get_deployment(deployment_id)
            status = next(iter(deployment.get_statuses()), None)
            if status is None:
                return None
            return DeploymentStatusInfo(
                state=str(status.state),
                target_url=status.target_url or "",
                environment_url=status.environment_url or "",
            )

        what = f"read the statuses of deployment {deployment_id} of {repository}"
        found: DeploymentStatusInfo | None = _call(what, newest)
        return found

    def _repo(self, *, repository: str) -> Any:
        gh = client(
            source=self._source,
            repository=repository,
            api_url=self._api_url,
            user_agent=self._user_agent,
            retries=self._retries,
        )
        return gh.get_repo(repository)


def _epoch(value: Any) -> float:
    return float(value.timestamp()) if value is not None else 0.0


def _pull_info(*, pull: Any, repository: str) -> PullInfo:
    head_repo = pull.head.repo
    base = pull.base.repo.full_name if pull.base.repo is not None else repository
    fork = head_repo is None or head_repo.full_name.lower() != base.lower()
    return PullInfo(
        number=pull.number, head_sha=pull.head.sha, fork=fork, open=pull.state == "open"
    )
