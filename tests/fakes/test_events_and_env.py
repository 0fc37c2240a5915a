"""event_payload rewrites GitHub's examples consistently; cli_env points a child at the fakes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.fakes import env, events
from tests.fakes.evals import FakeEvals
from tests.fakes.github import FakeGitHub

HEAD = "c0ffee00" * 5


@pytest.mark.parametrize("name", events.EVENTS)
def test_every_example_is_rewritten_to_the_repository(name: str) -> None:
    payload = events.event_payload(name, owner="acme", repo="shop", pr_number=12, head_sha=HEAD)
    text = json.dumps(payload)

    assert payload["repository"]["full_name"] == "acme/shop"
    assert payload["repository"]["name"] == "shop"
    assert "Codertocat/Hello-World" not in text
    assert "octo-org/octo-repo" not in text
    assert "/users/Codertocat" not in text


def test_pull_request_numbers_and_head_sha_everywhere() -> None:
    payload = events.event_payload("pull_request.synchronize", pr_number=12, head_sha=HEAD)
    pull = payload["pull_request"]

    assert payload["number"] == pull["number"] == 12
    assert pull["head"]["sha"] == payload["after"] == HEAD
    assert pull["statuses_url"].endswith(f"/repos/octo-org/octo-repo/statuses/{HEAD}")
    assert pull["url"].endswith("/repos/octo-org/octo-repo/pulls/12")
    assert pull["html_url"] == "https://github.com/octo-org/octo-repo/pull/12"
    assert pull["head"]["repo"]["full_name"] == "octo-org/octo-repo"
    assert pull["head"]["repo"]["fork"] is False


def test_fork_and_deleted_head_repo() -> None:
    fork = events.event_payload("pull_request", pr_number=3, fork=True, fork_owner="mallory")
    deleted = events.event_payload("pull_request", pr_number=3, head_repo_deleted=True)
    head = fork["pull_request"]["head"]

    assert head["repo"]["full_name"] == "mallory/octo-repo"
    assert head["repo"]["fork"] is True
    assert head["repo"]["owner"]["login"] == head["user"]["login"] == "mallory"
    assert head["label"].startswith("mallory:")
    assert head["repo"]["url"].endswith("/repos/mallory/octo-repo")
    assert fork["pull_request"]["base"]["repo"]["full_name"] == "octo-org/octo-repo"
    assert deleted["pull_request"]["head"]["repo"] is None


def test_issue_comment_on_a_pull_request_or_a_plain_issue() -> None:
    on_pr = events.event_payload("issue_comment", pr_number=9)
    plain = events.event_payload("issue_comment", pr_number=9, on_pull_request=False)

    assert on_pr["issue"]["number"] == 9
    assert on_pr["issue"]["pull_request"]["url"].endswith("/repos/octo-org/octo-repo/pulls/9")
    assert "pull_request" not in plain["issue"]


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("deployment_status", ("deployment", "sha")),
        ("status", ("sha",)),
        ("workflow_run", ("workflow_run", "head_sha")),
    ],
)
def test_head_sha_of_other_events(name: str, path: tuple[str, ...]) -> None:
    value: object = events.event_payload(name, head_sha=HEAD)
    for key in path:
        assert isinstance(value, dict)
        value = value[key]
    assert value == HEAD


def test_workflow_run_pull_requests() -> None:
    payload = events.event_payload("workflow_run", pr_number=5, head_sha=HEAD)
    (pull,) = payload["workflow_run"]["pull_requests"]
    assert (pull["number"], pull["head"]["sha"]) == (5, HEAD)


def test_unknown_event_name() -> None:
    with pytest.raises(ValueError, match="no example payload 'push'"):
        events.event_payload("push")


def test_cli_env_points_at_the_fakes_and_inherits_nothing_else(tmp_path: Path) -> None:
    payload = events.event_payload("pull_request", pr_number=4, head_sha=HEAD)
    os.environ["EVALS_SHOULD_NOT_LEAK"] = "1"
    try:
        with FakeGitHub(api_prefix="/api/v3", spec="ghes-3.19") as gh, FakeEvals() as ev:
            made = env.cli_env(
                workdir=tmp_path, github=gh, evals=ev, event=payload, EVALS_PROMPT_ID="p", HOME=None
            )
            assert made["GITHUB_API_URL"] == gh.url
            assert made["GITHUB_SERVER_URL"] == gh.root_url
            assert made["EVALS_API_BASE_URL"] == ev.url
            assert made["GITHUB_TOKEN"] == gh.token
            assert made["EVALS_API_KEY"] == ev.api_key
    finally:
        del os.environ["EVALS_SHOULD_NOT_LEAK"]

    assert "EVALS_SHOULD_NOT_LEAK" not in made
    assert "HOME" not in made
    assert made["EVALS_PROMPT_ID"] == "p"
    assert made["GITHUB_SHA"] != HEAD  # the merge commit, as on a real runner
    assert json.loads(Path(made["GITHUB_EVENT_PATH"]).read_text()) == payload
    assert Path(made["GITHUB_OUTPUT"]).read_text() == ""


def test_parse_github_output_reads_both_forms() -> None:
    text = 'run-id=abc\nreport-json<<EOF_1\n{"a": 1}\nline two\nEOF_1\nempty<<X\nX\n'
    assert env.parse_github_output(text) == {
        "run-id": "abc",
        "report-json": '{"a": 1}\nline two',
        "empty": "",
    }
    with pytest.raises(ValueError, match="never closes"):
        env.parse_github_output("x<<END\nvalue\n")
