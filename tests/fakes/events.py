"""Real webhook payloads (tests/data/github/webhooks) rewritten for a test's repository and PR.

`event_payload("pull_request.opened", owner="octo-org", repo="octo-repo", pr_number=12,
head_sha="ab" * 20)` loads GitHub's example and rewrites every place that names the repository,
the PR number or the head commit (URLs included), so the payload stays self-consistent. Write it
to a file for GITHUB_EVENT_PATH. `EVENTS` lists the names; a bare event name picks its first
example (`"pull_request"` is `pull_request.opened`).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

WEBHOOKS = Path(__file__).resolve().parents[1] / "data" / "github" / "webhooks"
EVENTS = tuple(sorted(p.stem for p in WEBHOOKS.glob("*.json")))

# Where each event names its PR number and its head commit.
_NUMBER: dict[str, Callable[[dict[str, Any]], int | None]] = {
    "pull_request": lambda p: p["number"],
    "issue_comment": lambda p: p["issue"]["number"],
}
_HEAD_SHA: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "pull_request": lambda p: p["pull_request"]["head"]["sha"],
    "deployment": lambda p: p["deployment"]["sha"],
    "deployment_status": lambda p: p["deployment"]["sha"],
    "status": lambda p: p["sha"],
    "workflow_run": lambda p: p["workflow_run"]["head_sha"],
}


def event_payload(
    name: str,
    *,
    owner: str = "octo-org",
    repo: str = "octo-repo",
    pr_number: int | None = None,
    head_sha: str | None = None,
    fork: bool = False,
    fork_owner: str = "fork-owner",
    head_repo_deleted: bool = False,
    on_pull_request: bool = True,
) -> dict[str, Any]:
    """One example payload, rewritten. `fork` moves a pull_request's head to `fork_owner`;
    `head_repo_deleted` makes it null; `on_pull_request=False` makes an issue_comment's issue a
    plain issue. `pr_number` on workflow_run fills `workflow_run.pull_requests`."""
    stem = _resolve(name)
    event = stem.split(".", 1)[0]
    payload: dict[str, Any] = json.loads((WEBHOOKS / f"{stem}.json").read_text(encoding="utf-8"))
    source = payload["repository"]["full_name"]
    # Other repositories an example names (workflow_run's head_repository) become ours too.
    names = {source} | set(re.findall(r'"full_name": "([^"/]+/[^"]+)"', json.dumps(payload)))
    owners = {name.partition("/")[0] for name in names}
    old_number = _NUMBER[event](payload) if event in _NUMBER else None
    old_sha = _HEAD_SHA[event](payload) if event in _HEAD_SHA else None

    def rewrite(text: str) -> str:
        if old_sha and head_sha:
            text = text.replace(old_sha, head_sha)
        for name in names:
            text = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", f"{owner}/{repo}", text)
        for old_owner in owners:
            text = re.sub(rf"(?<=/){re.escape(old_owner)}(?=/|$)", owner, text)
        if old_number is not None and pr_number is not None:
            text = re.sub(
                rf"/(pulls|issues|pull)/{old_number}(?=$|[/#?])", rf"/\1/{pr_number}", text
            )
        return owner if text in owners else text

    payload = _map_strings(payload, rewrite)
    for key in ("repository", "workflow_run"):
        for node in _repositories(payload.get(key)):
            node["name"] = repo
    if event == "pull_request":
        _pull_request(payload, pr_number, owner, repo, fork, fork_owner, head_repo_deleted)
    elif event == "issue_comment":
        _issue_comment(payload, pr_number, on_pull_request)
    elif event == "workflow_run" and pr_number is not None:
        _workflow_run_pull(payload, pr_number)
    return payload


def _resolve(name: str) -> str:
    if name in EVENTS:
        return name
    preferred = f"{name}.opened" if f"{name}.opened" in EVENTS else None
    matches = [e for e in EVENTS if e.split(".", 1)[0] == name]
    if preferred or matches:
        return preferred or matches[0]
    raise ValueError(f"no example payload {name!r}; known: {', '.join(EVENTS)}")


def _repositories(node: Any) -> list[dict[str, Any]]:
    """The repository objects in a payload part (those with a `full_name`)."""
    if isinstance(node, list):
        return [r for item in node for r in _repositories(item)]
    if not isinstance(node, dict):
        return []
    own = [node] if "full_name" in node else []
    return own + [r for value in node.values() for r in _repositories(value)]


def _map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    return value


def _pull_request(
    payload: dict[str, Any],
    pr_number: int | None,
    owner: str,
    repo: str,
    fork: bool,
    fork_owner: str,
    head_repo_deleted: bool,
) -> None:
    pull = payload["pull_request"]
    if pr_number is not None:
        payload["number"] = pull["number"] = pr_number
    for side in ("head", "base"):
        pull[side]["label"] = f"{owner}:{pull[side]['ref']}"
    head = pull["head"]
    if fork:
        forked = _map_strings(
            copy.deepcopy(head["repo"]),
            lambda s: s.replace(f"{owner}/{repo}", f"{fork_owner}/{repo}").replace(
                f"/{owner}", f"/{fork_owner}"
            ),
        )
        forked.update(fork=True, full_name=f"{fork_owner}/{repo}", id=forked["id"] + 1)
        forked["owner"]["login"] = fork_owner
        forked["owner"]["type"] = "User"
        head["repo"] = forked
        head["user"] = copy.deepcopy(forked["owner"])
        head["label"] = f"{fork_owner}:{head['ref']}"
    if head_repo_deleted:
        head["repo"] = None


def _issue_comment(payload: dict[str, Any], pr_number: int | None, on_pull_request: bool) -> None:
    issue = payload["issue"]
    if pr_number is not None:
        issue["number"] = pr_number
    if not on_pull_request:
        issue.pop("pull_request", None)
        return
    api = issue["repository_url"]
    html = issue["html_url"].replace("/issues/", "/pull/")
    issue["html_url"] = html
    issue["pull_request"] = {
        "url": f"{api}/pulls/{issue['number']}",
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "merged_at": None,
    }


def _workflow_run_pull(payload: dict[str, Any], pr_number: int) -> None:
    run = payload["workflow_run"]
    repo = payload["repository"]
    brief = {"id": repo["id"], "url": repo["url"], "name": repo["name"]}
    run["pull_requests"] = [
        {
            "url": f"{repo['url']}/pulls/{pr_number}",
            "id": 1_900_000_000 + pr_number,
            "number": pr_number,
            "head": {"ref": run["head_branch"], "sha": run["head_sha"], "repo": brief},
            "base": {"ref": repo.get("default_branch", "main"), "sha": "0" * 40, "repo": brief},
        }
    ]
