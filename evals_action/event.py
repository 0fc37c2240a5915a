"""Which pull request gets the comment and which commit gets the status (contract §2).

`resolve` reads the event payload and, where the event does not say, asks GitHub through the
`Lookups` it is given (a `github_api.GitHub` in production). Fork PRs on `pull_request` are
flagged for a clean skip: their token is read-only and their secrets are absent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from evals_action import errors, github_api, models

PR_EVENTS = frozenset({"pull_request", "pull_request_target"})

FORK_WARNING = (
    "PR is from a fork: on pull_request events its token is read-only and secrets are absent, "
    "so the eval is skipped. To evaluate fork PRs, either trigger on pull_request_target "
    "(safe here: this action never checks out or runs PR code) or guard the step with "
    "`if: github.event.pull_request.head.repo.full_name == github.repository`."
)


class Lookups(Protocol):
    def pull(self, *, number: int) -> github_api.Pull: ...

    def open_pulls_for_commit(self, *, sha: str) -> list[github_api.Pull]: ...


def load_payload(path: str) -> dict[str, Any]:
    """The event payload at `GITHUB_EVENT_PATH`, or `{}` when there is none."""
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise errors.ConfigError(
            [f"GITHUB_EVENT_PATH could not be read: {exc.strerror} ({path})"]
        ) from exc
    except json.JSONDecodeError as exc:
        raise errors.ConfigError(
            [f"GITHUB_EVENT_PATH is not valid JSON: {exc.msg} ({path})"]
        ) from exc
    return data if isinstance(data, dict) else {}


def resolve(
    *,
    event_name: str,
    payload: Mapping[str, Any],
    repository: str,
    default_sha: str,
    pr_override: int | None,
    sha_override: str | None,
    lookups: Lookups | None,
) -> models.Target:
    """The PR and commit for this event, after the `pr-number`/`sha` overrides."""
    repository = repository or _get(payload, "repository", "full_name") or ""
    if event_name in PR_EVENTS and isinstance(payload.get("pull_request"), dict):
        pr = payload["pull_request"]
        fork = event_name == "pull_request" and _is_fork(pr, repository)
        return models.Target(
            sha=sha_override or _get(pr, "head", "sha") or default_sha or None,
            pr_number=pr_override or _int(pr.get("number")),
            repository=repository,
            is_fork_skip=fork and pr_override is None,
        )
    sha, pr_number = _from_event(event_name=event_name, payload=payload, default_sha=default_sha)
    sha = sha_override or sha
    pr_number = pr_override or pr_number
    if event_name == "issue_comment" and pr_number is None:
        raise errors.ConfigError(
            [
                "could not derive pull request number from event context: this issue_comment is "
                "on a plain issue, not a pull request (guard the job with "
                "`if: github.event.issue.pull_request`)"
            ]
        )
    if pr_number is not None and sha is None:
        sha = (
            _need(lookups, what=f"read the head commit of #{pr_number}")
            .pull(number=pr_number)
            .head_sha
        )
    if pr_number is None and sha:
        pr_number = _find_pr(_need(lookups, what=f"find the pull request for {sha[:12]}"), sha=sha)
    if pr_number is None:
        raise errors.ConfigError(
            [
                "could not derive pull request number from event context "
                f"({event_name or 'no event'}{', commit ' + sha[:12] if sha else ''}): "
                "no open pull request has this commit; "
                "pass pr-number (and sha) explicitly"
            ]
        )
    return models.Target(sha=sha, pr_number=pr_number, repository=repository)


def _from_event(
    *, event_name: str, payload: Mapping[str, Any], default_sha: str
) -> tuple[str | None, int | None]:
    """(sha, pr) as far as the payload alone tells; None where a lookup is needed."""
    if event_name == "deployment_status":
        return _get(payload, "deployment", "sha") or default_sha or None, None
    if event_name == "status":
        return models.nonempty(payload.get("sha")) or default_sha or None, None
    if event_name == "issue_comment":
        issue = payload.get("issue") if isinstance(payload.get("issue"), dict) else {}
        if not isinstance(issue, dict) or not issue.get("pull_request"):
            return None, None
        return None, _int(issue.get("number"))
    if event_name == "workflow_run":
        run = payload.get("workflow_run") if isinstance(payload.get("workflow_run"), dict) else {}
        pulls = run.get("pull_requests") if isinstance(run, dict) else None
        first = pulls[0] if isinstance(pulls, list) and pulls and isinstance(pulls[0], dict) else {}
        sha = models.nonempty(run.get("head_sha")) if isinstance(run, dict) else None
        return sha or default_sha or None, _int(first.get("number"))
    return default_sha or None, None


def _find_pr(lookups: Lookups, *, sha: str) -> int | None:
    """The open PR whose head is `sha`, else the first open PR containing it."""
    pulls = [p for p in lookups.open_pulls_for_commit(sha=sha) if p.state == "open"]
    for pull in pulls:
        if pull.head_sha == sha:
            return pull.number
    return pulls[0].number if pulls else None


def is_fork_pull_request(payload: Mapping[str, Any], *, repository: str) -> bool:
    """The payload's pull request comes from another repository (or a deleted one)."""
    pr = payload.get("pull_request")
    if not isinstance(pr, Mapping):
        return False
    return _is_fork(pr, repository or _get(payload, "repository", "full_name") or "")


def _is_fork(pr: Mapping[str, Any], repository: str) -> bool:
    head_repo = _get(pr, "head", "repo", "full_name")
    base_repo = _get(pr, "base", "repo", "full_name") or repository
    if head_repo is None:  # the fork was deleted
        return True
    return head_repo.lower() != base_repo.lower()


def _need(lookups: Lookups | None, *, what: str) -> Lookups:
    if lookups is None:
        raise errors.ConfigError(
            [f"could not {what} without GitHub access: pass pr-number and sha"]
        )
    return lookups


def _get(data: Any, *keys: str) -> str | None:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return models.nonempty(data)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
