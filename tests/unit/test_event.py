"""event.resolve: every row of contract §2, with real webhook payloads from GitHub's examples."""

from __future__ import annotations

import copy
import json
import pathlib
from typing import Any

import pytest

from evals_action import errors, event, github_api

HOOKS = pathlib.Path(__file__).parents[1] / "data" / "github" / "webhooks"
if not HOOKS.exists():  # until tests/data is populated, read the shared copy
    HOOKS = pathlib.Path(__file__).parents[3] / "shared" / "github-api" / "webhook-examples"


def payload(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((HOOKS / f"{name}.json").read_text()))


class Lookups:
    def __init__(self, pulls: list[github_api.Pull]) -> None:
        self.pulls = pulls
        self.calls: list[str] = []

    def pull(self, *, number: int) -> github_api.Pull:
        self.calls.append(f"pull {number}")
        return next(p for p in self.pulls if p.number == number)

    def open_pulls_for_commit(self, *, sha: str) -> list[github_api.Pull]:
        self.calls.append(f"commit {sha}")
        return [p for p in self.pulls if p.state == "open"]


def resolve(name: str, data: dict[str, Any], lookups: Lookups | None = None, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "event_name": name,
        "payload": data,
        "repository": "Codertocat/Hello-World",
        "default_sha": "d" * 40,
        "pr_override": None,
        "sha_override": None,
        "lookups": lookups,
    }
    args.update(kw)
    return event.resolve(**args)


def test_pull_request_uses_the_head_sha_never_the_merge_commit() -> None:
    data = payload("pull_request.opened")
    t = resolve("pull_request", data)
    assert (t.sha, t.pr_number, t.is_fork_skip) == (data["pull_request"]["head"]["sha"], 2, False)


def test_fork_pull_request_is_skipped_on_pull_request_only() -> None:
    data = payload("pull_request.opened")
    data["pull_request"]["head"]["repo"]["full_name"] = "someone/Hello-World"
    assert resolve("pull_request", data).is_fork_skip
    assert not resolve("pull_request_target", data).is_fork_skip


def test_deleted_fork_counts_as_a_fork() -> None:
    data = payload("pull_request.opened")
    data["pull_request"]["head"]["repo"] = None
    assert resolve("pull_request", data).is_fork_skip


def test_deployment_status_uses_the_deployed_commit_and_looks_up_its_pr() -> None:
    data = payload("deployment_status.created")
    sha = data["deployment"]["sha"]
    lookups = Lookups(
        [
            github_api.Pull(number=5, head_sha="other", state="open"),
            github_api.Pull(number=7, head_sha=sha, state="open"),
        ]
    )
    t = resolve("deployment_status", data, lookups)
    assert (t.sha, t.pr_number) == (sha, 7)


def test_lookup_falls_back_to_the_first_open_pr_and_never_a_closed_one() -> None:
    data = payload("deployment_status.created")
    lookups = Lookups(
        [
            github_api.Pull(number=3, head_sha=data["deployment"]["sha"], state="closed"),
            github_api.Pull(number=9, head_sha="other", state="open"),
        ]
    )
    assert resolve("deployment_status", data, lookups).pr_number == 9


def test_status_event_uses_the_payload_sha_not_github_sha() -> None:
    data = payload("status.event")
    lookups = Lookups([github_api.Pull(number=4, head_sha=data["sha"], state="open")])
    t = resolve("status", data, lookups)
    assert (t.sha, t.pr_number) == (data["sha"], 4)


def test_issue_comment_on_a_pr_reads_the_pr_head() -> None:
    data = payload("issue_comment.created")
    data["issue"]["pull_request"] = {"url": "https://api.github.com/repos/x/y/pulls/1"}
    lookups = Lookups([github_api.Pull(number=1, head_sha="a" * 40, state="open")])
    t = resolve("issue_comment", data, lookups)
    assert (t.sha, t.pr_number) == ("a" * 40, 1)
    assert lookups.calls == ["pull 1"]


def test_issue_comment_on_a_plain_issue_is_an_error_without_api_calls() -> None:
    lookups = Lookups([])
    with pytest.raises(errors.ConfigError) as info:
        resolve("issue_comment", payload("issue_comment.created"), lookups)
    assert "could not derive pull request number" in str(info.value)
    assert "issue_comment" in str(info.value)
    assert lookups.calls == []


def test_workflow_run_uses_head_sha_and_its_pull_request() -> None:
    data = payload("workflow_run.completed")
    data["workflow_run"]["pull_requests"] = [{"number": 12}]
    t = resolve("workflow_run", data)
    assert (t.sha, t.pr_number) == (data["workflow_run"]["head_sha"], 12)


def test_workflow_run_without_pull_requests_looks_up() -> None:
    data = payload("workflow_run.completed")
    sha = data["workflow_run"]["head_sha"]
    lookups = Lookups([github_api.Pull(number=8, head_sha=sha, state="open")])
    assert resolve("workflow_run", data, lookups).pr_number == 8


def test_other_events_use_overrides_or_github_sha() -> None:
    t = resolve(
        "workflow_dispatch",
        payload("workflow_dispatch.event"),
        pr_override=3,
        sha_override="b" * 40,
    )
    assert (t.sha, t.pr_number) == ("b" * 40, 3)


def test_overrides_beat_the_event() -> None:
    t = resolve(
        "pull_request", payload("pull_request.opened"), pr_override=99, sha_override="c" * 40
    )
    assert (t.sha, t.pr_number) == ("c" * 40, 99)


def test_no_pr_found_is_a_clear_error() -> None:
    with pytest.raises(errors.ConfigError) as info:
        resolve("push", {}, Lookups([]))
    assert str(info.value).startswith("could not derive pull request number from event context")
