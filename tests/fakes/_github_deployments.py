"""What FakeGitHub knows about deployments and their statuses, shaped like GitHub's answers.

Behaves like GitHub where the project depends on it:
- `GET /repos/{o}/{r}/deployments` lists newest first, filtered by `sha`, `ref`, `task` and
  `environment` (exact matches); `GET .../deployments/{id}/statuses` lists a deployment's
  statuses newest first, and answers 404 for a deployment the repository does not have;
- a status's `environment_url` and `log_url` are `""` when none was given, as GitHub answers.
FakeGitHub pages both listings (with `Link`) and checks them against the OpenAPI description.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from tests.fakes import _github_objects as objects

STATES = ("error", "failure", "inactive", "pending", "success", "queued", "in_progress")


@dataclasses.dataclass
class Status:
    id: int
    state: str
    target_url: str
    environment_url: str
    created_at: str


@dataclasses.dataclass
class Deployment:
    id: int
    repo: str  # lower-case full name
    sha: str
    ref: str
    task: str
    environment: str
    created_at: str
    statuses: list[Status] = dataclasses.field(default_factory=list)  # oldest first


class Deployments:
    """The deployments of every repository, with ids as GitHub hands them out (increasing)."""

    def __init__(self) -> None:
        self._all: dict[int, Deployment] = {}
        self._next = {"deployment": 1_100_000_001, "status": 2_200_000_001}

    def add(
        self,
        *,
        repo: str,
        sha: str,
        environment: str,
        ref: str,
        task: str,
        created_at: str,
        statuses: Sequence[Sequence[str]],
    ) -> int:
        """A deployment; `statuses` oldest first, each (state, target_url[, environment_url])."""
        deployment = Deployment(
            id=self._next["deployment"],
            repo=repo.lower(),
            sha=sha,
            ref=ref,
            task=task,
            environment=environment,
            created_at=created_at,
        )
        self._next["deployment"] += 1
        for state, *urls in statuses:
            if state not in STATES or not 1 <= len(urls) <= 2:
                raise ValueError(f"a status is (state in {STATES}, target_url[, environment_url])")
            deployment.statuses.append(
                Status(
                    id=self._next["status"],
                    state=state,
                    target_url=urls[0],
                    environment_url=urls[1] if len(urls) > 1 else "",
                    created_at=created_at,
                )
            )
            self._next["status"] += 1
        self._all[deployment.id] = deployment
        return deployment.id

    def listing(self, *, repo: str, query: Mapping[str, str]) -> list[Deployment]:
        """The repository's deployments matching the query's filters, newest first."""
        wanted = {k: query[k] for k in ("sha", "ref", "task", "environment") if k in query}
        found = [
            d
            for d in self._all.values()
            if d.repo == repo.lower() and all(getattr(d, k) == v for k, v in wanted.items())
        ]
        return sorted(found, key=lambda d: d.id, reverse=True)

    def get(self, *, repo: str, deployment_id: int) -> Deployment | None:
        found = self._all.get(deployment_id)
        return found if found is not None and found.repo == repo.lower() else None


def deployment_json(
    site: objects.Site, *, full_name: str, record: Deployment, creator: dict[str, Any]
) -> dict[str, Any]:
    url = f"{site.api}/repos/{full_name}/deployments/{record.id}"
    return {
        "url": url,
        "id": record.id,
        "node_id": objects.node_id("Deployment", record.id),
        "sha": record.sha,
        "ref": record.ref,
        "task": record.task,
        "payload": {},
        "original_environment": record.environment,
        "environment": record.environment,
        "description": None,
        "creator": creator,
        "created_at": record.created_at,
        "updated_at": record.created_at,
        "statuses_url": f"{url}/statuses",
        "repository_url": f"{site.api}/repos/{full_name}",
        "transient_environment": False,
        "production_environment": False,
    }


def status_json(
    site: objects.Site,
    *,
    full_name: str,
    deployment: Deployment,
    record: Status,
    creator: dict[str, Any],
) -> dict[str, Any]:
    deployment_url = f"{site.api}/repos/{full_name}/deployments/{deployment.id}"
    return {
        "url": f"{deployment_url}/statuses/{record.id}",
        "id": record.id,
        "node_id": objects.node_id("DeploymentStatus", record.id),
        "state": record.state,
        "creator": creator,
        "description": "",
        "environment": deployment.environment,
        "target_url": record.target_url,
        "created_at": record.created_at,
        "updated_at": record.created_at,
        "deployment_url": deployment_url,
        "repository_url": f"{site.api}/repos/{full_name}",
        "environment_url": record.environment_url,
        "log_url": record.target_url,
    }
