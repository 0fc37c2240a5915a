"""The error tree. Every expected failure is one of these; the CLI maps them to exit codes.

    EvalsActionError            exit 1, base of all expected errors
    ├── ConfigError             exit 2: bad input; carries every problem found (one line each)
    ├── APIError                a remote system (evals API, rollout service, GitHub) failed us
    │   ├── TransientAPIError   5xx, 429, network errors, timeouts: retried with backoff
    │   ├── ClientAPIError      other 4xx, unreadable bodies: fatal after three in a row
    │   └── FatalAPIError       401, 403, 404, missing required fields: fatal at once
    ├── GitHubError             a GitHub write or lookup failed (message names the call)
    └── Cancelled               SIGINT/SIGTERM arrived; the status is set to `error` first

Messages say what happened, the likely cause and what to do, on one line, and never contain a
secret (they are passed through `redact` before they are printed anywhere).
"""

from __future__ import annotations

from collections.abc import Sequence


class EvalsActionError(Exception):
    """Base of every expected error. `exit_code` is what the CLI returns for it."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(EvalsActionError):
    """Bad configuration; `problems` lists each one, reported together."""

    exit_code = 2

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


class APIError(EvalsActionError):
    """A remote API call failed. `status` is the HTTP status when there was a response."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientAPIError(APIError):
    """Worth retrying. `retry_after` is the server's Retry-After in seconds, when it sent one."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class ClientAPIError(APIError):
    """A 4xx other than 401/403/404, or a body we cannot read: fatal after three in a row."""


class FatalAPIError(APIError):
    """Not worth retrying: authentication, permission, not found, a required field missing."""


class GitHubError(EvalsActionError):
    """A GitHub call failed; the message names the call and what to check."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Cancelled(EvalsActionError):
    """The process was asked to stop (SIGINT or SIGTERM)."""
