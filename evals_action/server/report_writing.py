"""What the server's two reporters share: `reporter` (one run) and `suite_reporter` (a suite).

`Writing` holds their collaborators (the store, the `[github]` tokens, the API and public URLs,
the secrets, the stop event, the GitHub façade's factory, the clock), answers a repository's
token and the login it writes as, and tries a report's writes a bounded number of times:
`attempt` is one whole attempt that answers what GitHub refused (nothing: all written). After a
refusal the next attempt waits on `polling.expo_delays` (2 s, then 4 s by default); a stopping
server ends the wait at once and leaves the report due for the next start.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable

from evals_action import github_api, github_app, polling
from evals_action.server import store

log = logging.getLogger("evals_action.server")

ATTEMPTS = 3  # writes of one report before it ends in `error`


@dataclasses.dataclass(frozen=True)
class Writing:
    db: store.Store
    tokens: github_app.TokenSource
    api_url: str  # GitHub's
    public_url: str  # this server's, without a trailing slash
    secrets: tuple[str, ...]
    stop: threading.Event
    retry_delay: float = 2.0
    github: Callable[..., github_api.GitHub] = github_api.GitHub
    clock: Callable[[], float] = time.time
    attempts: int = ATTEMPTS

    def credentials(self, *, repository: str) -> tuple[str, str | None]:
        """The token for `repository` and the login it writes as when known without asking
        GitHub (an App's `<slug>[bot]`; None for a plain token); raises `errors.GitHubError`."""
        return self.tokens.token(repository=repository), self.tokens.login()

    def retried(self, *, what: str, attempt: Callable[[], list[str]]) -> list[str] | None:
        """`[]` once an attempt wrote everything; the last attempt's problems when every one
        was refused; None when the server stopped while waiting to try again."""
        problems: list[str] = []
        for number in range(1, self.attempts + 1):
            problems = attempt()
            if not problems:
                return []
            log.warning(
                "%s: GitHub refused the report (attempt %d of %d): %s",
                what,
                number,
                self.attempts,
                "; ".join(problems),
            )
            delays = polling.expo_delays(base_delay=self.retry_delay, count=number)
            if number < self.attempts and self.stop.wait(delays[-1]):
                return None
        return problems


def failure_reason(problems: list[str]) -> str:
    """What the `error` status says when GitHub refused every attempt."""
    return f"The evals server could not write the report to GitHub ({problems[0]})"
