"""The run's GitHub façades: ours (our repository and token) built once and reused, any other
built on demand, and the pull-request look-ups the event resolution needs.

PyGithub is imported only when a façade is first built (`github_api.GitHub`), so a run that
never talks to GitHub never pays for it.
"""

from __future__ import annotations

from collections.abc import Callable

from evals_action import event, github_api


class GitHubAccess:
    """GitHub for this run: one cached façade for our token and repository."""

    def __init__(
        self,
        *,
        factory: Callable[..., github_api.GitHub],
        token: str,
        repository: str,
    ) -> None:
        self._factory = factory  # (token=, repository=) → façade; defaults: ours
        self._token = token
        self._repository = repository
        self._main: github_api.GitHub | None = None

    def for_token(self, token: str = "", repository: str = "") -> github_api.GitHub:
        """The façade for our repository and token (cached), or another one when asked."""
        if (token or self._token) == self._token and (
            not repository or repository == self._repository
        ):
            if self._main is None:
                self._main = self._factory()
            return self._main
        return self._factory(token=token, repository=repository)

    def lookups(self) -> event.Lookups | None:
        """Look-ups that build the façade (and import PyGithub) only when an event needs one."""
        return self if self._token else None

    def pull(self, *, number: int) -> github_api.Pull:
        return self.for_token().pull(number=number)

    def open_pulls_for_commit(self, *, sha: str) -> list[github_api.Pull]:
        return self.for_token().open_pulls_for_commit(sha=sha)
