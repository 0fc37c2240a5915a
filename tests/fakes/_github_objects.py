"""The JSON objects FakeGitHub answers with, shaped like GitHub's (full objects, real URL families).

Pure functions of plain values. `Site` holds the two bases every URL hangs off: the API base
(`fake.url`, with the GHES prefix) and the web base (`https://github.com`, or the GHES host).
FakeGitHub checks what these build against the OpenAPI response schemas.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import zlib
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

ACTIONS_BOT_ID = 41898282
_REPO_URLS = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


@dataclasses.dataclass(frozen=True)
class Site:
    api: str  # e.g. http://127.0.0.1:41234 or http://127.0.0.1:41234/api/v3
    html: str  # e.g. https://github.com


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, number: int) -> str:
    """GitHub's legacy global id: base64 of `0<len(kind)>:<kind><id>`."""
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def fake_sha(seed: str) -> str:
    return hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest()


def user_id(login: str) -> int:
    if login == "github-actions[bot]":
        return ACTIONS_BOT_ID
    return 1_000_000 + zlib.crc32(login.encode()) % 90_000_000


def user(site: Site, *, login: str, type: str = "User") -> dict[str, Any]:  # noqa: A002
    """A simple-user; bots get the app's URLs like `github-actions[bot]` does."""
    uid = user_id(login)
    api = f"{site.api}/users/{quote(login)}"
    is_bot = type == "Bot"
    app = login.removesuffix("[bot]")
    return {
        "login": login,
        "id": uid,
        "node_id": node_id("Bot" if is_bot else type, uid),
        "avatar_url": f"https://avatars.githubusercontent.com/{'in' if is_bot else 'u'}/{uid}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{site.html}/apps/{app}" if is_bot else f"{site.html}/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": type,
        "user_view_type": "public",
        "site_admin": False,
    }


def private_user(site: Site, *, login: str, created_at: str) -> dict[str, Any]:
    """What `GET /user` returns for a user token: the simple-user plus the private profile."""
    return {
        **user(site, login=login),
        "user_view_type": "private",
        "name": login,
        "company": None,
        "blog": "",
        "location": None,
        "email": None,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "notification_email": None,
        "public_repos": 1,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": created_at,
        "updated_at": created_at,
        "private_gists": 0,
        "total_private_repos": 1,
        "owned_private_repos": 1,
        "disk_usage": 1024,
        "collaborators": 0,
        "two_factor_authentication": True,
        "plan": {"name": "free", "space": 976562499, "private_repos": 10000, "collaborators": 0},
    }


def repository(
    site: Site,
    *,
    owner: str,
    name: str,
    repo_id: int,
    created_at: str,
    owner_type: str = "Organization",
    fork: bool = False,
) -> dict[str, Any]:
    """A full-repository (a superset of repository and minimal-repository)."""
    full_name = f"{owner}/{name}"
    api = f"{site.api}/repos/{full_name}"
    host = site.html.split("://", 1)[-1]
    return {
        "id": repo_id,
        "node_id": node_id("Repository", repo_id),
        "name": name,
        "full_name": full_name,
        "private": False,
        "owner": user(site, login=owner, type=owner_type),
        "html_url": f"{site.html}/{full_name}",
        "description": None,
        "fork": fork,
        "url": api,
        **{key: api + suffix for key, suffix in _REPO_URLS.items()},
        "created_at": created_at,
        "updated_at": created_at,
        "pushed_at": created_at,
        "git_url": f"git://{host}/{full_name}.git",
        "ssh_url": f"git@{host}:{full_name}.git",
        "clone_url": f"{site.html}/{full_name}.git",
        "svn_url": f"{site.html}/{full_name}",
        "homepage": None,
        "size": 108,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": "Python",
        "has_issues": True,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": True,
        "has_pages": False,
        "has_discussions": False,
        "forks_count": 0,
        "mirror_url": None,
        "archived": False,
        "disabled": False,
        "open_issues_count": 1,
        "license": None,
        "allow_forking": True,
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": [],
        "visibility": "public",
        "forks": 0,
        "open_issues": 1,
        "watchers": 0,
        "default_branch": "main",
        "network_count": 0,
        "subscribers_count": 1,
        "permissions": {
            "admin": False,
            "maintain": False,
            "push": True,
            "triage": True,
            "pull": True,
        },
    }


def pull(
    site: Site,
    *,
    number: int,
    title: str,
    state: str,
    merged: bool,
    created_at: str,
    author: dict[str, Any],
    base_repo: dict[str, Any],
    base_sha: str,
    head_repo: dict[str, Any] | None,
    head_owner: str,
    head_ref: str,
    head_sha: str,
    simple: bool = False,
) -> dict[str, Any]:
    """A pull-request (or, with `simple`, a pull-request-simple as listings return)."""
    full_name = base_repo["full_name"]
    api = f"{site.api}/repos/{full_name}"
    html = f"{site.html}/{full_name}/pull/{number}"
    pid = 1_900_000_000 + number
    closed_at = None if state == "open" else created_at
    head_user = head_repo["owner"] if head_repo else user(site, login=head_owner)
    obj: dict[str, Any] = {
        "url": f"{api}/pulls/{number}",
        "id": pid,
        "node_id": node_id("PullRequest", pid),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": f"{api}/issues/{number}",
        "commits_url": f"{api}/pulls/{number}/commits",
        "review_comments_url": f"{api}/pulls/{number}/comments",
        "review_comment_url": f"{api}/pulls/comments{{/number}}",
        "comments_url": f"{api}/issues/{number}/comments",
        "statuses_url": f"{api}/statuses/{head_sha}",
        "number": number,
        "state": state,
        "locked": False,
        "title": title,
        "user": author,
        "body": "Please pull these awesome changes in!",
        "labels": [],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": created_at,
        "updated_at": created_at,
        "closed_at": closed_at,
        "merged_at": created_at if merged else None,
        "merge_commit_sha": fake_sha(f"merge-{number}-{head_sha}"),
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": {
            "label": f"{head_owner}:{head_ref}",
            "ref": head_ref,
            "sha": head_sha,
            "user": head_user,
            "repo": head_repo,
        },
        "base": {
            "label": f"{base_repo['owner']['login']}:main",
            "ref": "main",
            "sha": base_sha,
            "user": base_repo["owner"],
            "repo": base_repo,
        },
        "_links": {
            "self": {"href": f"{api}/pulls/{number}"},
            "html": {"href": html},
            "issue": {"href": f"{api}/issues/{number}"},
            "comments": {"href": f"{api}/issues/{number}/comments"},
            "review_comments": {"href": f"{api}/pulls/{number}/comments"},
            "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
            "commits": {"href": f"{api}/pulls/{number}/commits"},
            "statuses": {"href": f"{api}/statuses/{head_sha}"},
        },
        "author_association": "CONTRIBUTOR",
        "auto_merge": None,
        "draft": False,
    }
    if simple:
        return obj
    return {
        **obj,
        "merged": merged,
        "mergeable": None if state != "open" else True,
        "rebaseable": True,
        "mergeable_state": "clean",
        "merged_by": author if merged else None,
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": 1,
        "additions": 10,
        "deletions": 2,
        "changed_files": 1,
    }


def issue_comment(
    site: Site,
    *,
    full_name: str,
    comment_id: int,
    issue_number: int,
    is_pull: bool,
    body: str,
    author: dict[str, Any],
    created_at: str,
    updated_at: str,
) -> dict[str, Any]:
    api = f"{site.api}/repos/{full_name}"
    kind = "pull" if is_pull else "issues"
    return {
        "url": f"{api}/issues/comments/{comment_id}",
        "html_url": f"{site.html}/{full_name}/{kind}/{issue_number}#issuecomment-{comment_id}",
        "issue_url": f"{api}/issues/{issue_number}",
        "id": comment_id,
        "node_id": node_id("IssueComment", comment_id),
        "user": author,
        "created_at": created_at,
        "updated_at": updated_at,
        "author_association": "NONE" if author["type"] == "Bot" else "MEMBER",
        "body": body,
        "reactions": {
            "url": f"{api}/issues/comments/{comment_id}/reactions",
            "total_count": 0,
            "+1": 0,
            "-1": 0,
            "laugh": 0,
            "hooray": 0,
            "confused": 0,
            "heart": 0,
            "rocket": 0,
            "eyes": 0,
        },
        "performed_via_github_app": None,
    }


def status(
    site: Site, *, full_name: str, sha: str, record: dict[str, Any], creator: dict[str, Any]
) -> dict[str, Any]:
    """A status as `POST /statuses/{sha}` and the listing return it."""
    return {
        "url": f"{site.api}/repos/{full_name}/statuses/{sha}",
        "avatar_url": creator["avatar_url"],
        "id": record["id"],
        "node_id": node_id("StatusContext", record["id"]),
        "state": record["state"],
        "description": record["description"],
        "target_url": record["target_url"],
        "context": record["context"],
        "created_at": record["created_at"],
        "updated_at": record["created_at"],
        "creator": creator,
    }


def combined_status(
    site: Site, *, repo: dict[str, Any], sha: str, latest: list[dict[str, Any]]
) -> dict[str, Any]:
    """The combined status from the newest status of each context."""
    states = {s["state"] for s in latest}
    if states & {"error", "failure"}:
        state = "failure"
    elif not latest or "pending" in states:
        state = "pending"
    else:
        state = "success"
    simple = [{k: v for k, v in s.items() if k != "creator"} for s in latest]
    api = f"{site.api}/repos/{repo['full_name']}"
    return {
        "state": state,
        "statuses": simple,
        "sha": sha,
        "total_count": len(simple),
        "repository": repo,
        "commit_url": f"{api}/commits/{sha}",
        "url": f"{api}/commits/{sha}/status",
    }


def commit(site: Site, *, full_name: str, sha: str, author: dict[str, Any]) -> dict[str, Any]:
    api = f"{site.api}/repos/{full_name}"
    person = {"name": author["login"], "email": "octocat@example.com", "date": now()}
    return {
        "sha": sha,
        "node_id": node_id("Commit", zlib.crc32(sha.encode())),
        "url": f"{api}/commits/{sha}",
        "html_url": f"{site.html}/{full_name}/commit/{sha}",
        "comments_url": f"{api}/commits/{sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{sha}",
            "author": person,
            "committer": person,
            "message": "Change things",
            "tree": {"url": f"{api}/git/trees/{fake_sha(sha)}", "sha": fake_sha(sha)},
            "comment_count": 0,
        },
        "author": author,
        "committer": author,
        "parents": [],
        "files": [],
    }


def workflow(
    site: Site, *, full_name: str, numeric_id: int, path: str, name: str, created_at: str
) -> dict[str, Any]:
    api = f"{site.api}/repos/{full_name}"
    return {
        "id": numeric_id,
        "node_id": node_id("Workflow", numeric_id),
        "name": name,
        "path": path,
        "state": "active",
        "created_at": created_at,
        "updated_at": created_at,
        "url": f"{api}/actions/workflows/{numeric_id}",
        "html_url": f"{site.html}/{full_name}/blob/main/{path}",
        "badge_url": f"{site.html}/{full_name}/workflows/{name}/badge.svg",
    }


def workflow_run(
    site: Site,
    *,
    repo: dict[str, Any],
    run: dict[str, Any],
    actor: dict[str, Any],
) -> dict[str, Any]:
    """A workflow-run from the fake's run record (id, name, status, conclusion, ...)."""
    full_name = repo["full_name"]
    api = f"{site.api}/repos/{full_name}"
    run_api = f"{api}/actions/runs/{run['id']}"
    suite_id = 20_000_000_000 + run["id"] % 1_000_000_000
    return {
        "id": run["id"],
        "name": run["name"],
        "node_id": node_id("WorkflowRun", run["id"]),
        "head_branch": run["ref"],
        "head_sha": run["head_sha"],
        "path": run["path"],
        "display_title": run["name"],
        "run_number": run["run_number"],
        "event": "workflow_dispatch",
        "status": run["status"],
        "conclusion": run["conclusion"],
        "workflow_id": run["workflow_numeric_id"],
        "check_suite_id": suite_id,
        "check_suite_node_id": node_id("CheckSuite", suite_id),
        "url": run_api,
        "html_url": f"{site.html}/{full_name}/actions/runs/{run['id']}",
        "pull_requests": [],
        "created_at": run["created_at"],
        "updated_at": run["updated_at"],
        "actor": actor,
        "triggering_actor": actor,
        "run_attempt": 1,
        "referenced_workflows": [],
        "run_started_at": run["created_at"],
        "jobs_url": f"{run_api}/jobs",
        "logs_url": f"{run_api}/logs",
        "check_suite_url": f"{api}/check-suites/{suite_id}",
        "artifacts_url": f"{run_api}/artifacts",
        "cancel_url": f"{run_api}/cancel",
        "rerun_url": f"{run_api}/rerun",
        "previous_attempt_url": None,
        "workflow_url": f"{api}/actions/workflows/{run['workflow_numeric_id']}",
        "head_commit": {
            "id": run["head_sha"],
            "tree_id": fake_sha("tree-" + run["head_sha"]),
            "message": "Dispatch the rollout",
            "timestamp": run["created_at"],
            "author": {"name": "Octo Cat", "email": "octocat@example.com"},
            "committer": {"name": "GitHub", "email": "noreply@github.com"},
        },
        "repository": repo,
        "head_repository": repo,
    }


def artifact(
    site: Site, *, full_name: str, record: dict[str, Any], run: dict[str, Any], repo_id: int
) -> dict[str, Any]:
    api = f"{site.api}/repos/{full_name}/actions/artifacts/{record['id']}"
    return {
        "id": record["id"],
        "node_id": node_id("Artifact", record["id"]),
        "name": record["name"],
        "size_in_bytes": record["size"],
        "url": api,
        "archive_download_url": f"{api}/zip",
        "expired": False,
        "digest": "sha256:" + record["sha256"],
        "created_at": record["created_at"],
        "updated_at": record["created_at"],
        "expires_at": record["expires_at"],
        "workflow_run": {
            "id": run["id"],
            "repository_id": repo_id,
            "head_repository_id": repo_id,
            "head_branch": run["ref"],
            "head_sha": run["head_sha"],
        },
    }


def rate_limit(*, limit: int, used: int, reset: int) -> dict[str, Any]:
    core = {"limit": limit, "used": used, "remaining": limit - used, "reset": reset}
    search = {"limit": 30, "used": 0, "remaining": 30, "reset": reset}
    graphql = {"limit": limit, "used": 0, "remaining": limit, "reset": reset}
    return {"resources": {"core": core, "search": search, "graphql": graphql}, "rate": core}
