"""FakeGitHub behaves like GitHub for PyGithub itself, and catches requests GitHub would reject."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import github
import pytest
import requests

from tests.fakes import _openapi, env
from tests.fakes.github import FakeGitHub

SHA = "a1b2c3d4" * 5
GHES = {"api_prefix": "/api/v3", "spec": "ghes-3.19"}


def client(fake: FakeGitHub, *, token: str | None = None) -> github.Github:
    """PyGithub as the action builds it, minus its write throttle and retries."""
    return github.Github(
        base_url=fake.url,
        auth=github.Auth.Token(token or fake.token),
        per_page=100,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
        lazy=True,
    )


@pytest.fixture
def gh(fake_github: FakeGitHub) -> Iterator[github.Github]:
    g = client(fake_github)
    yield g
    g.close()


@pytest.fixture
def http(fake_github: FakeGitHub) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers.update(
            {"Authorization": f"Bearer {fake_github.token}", "User-Agent": "fake-tests"}
        )
        yield session


def repo_of(gh: github.Github, fake: FakeGitHub) -> Any:
    return gh.get_repo(fake.full_name)


# --- comments and pagination ---------------------------------------------------------------


def test_pygithub_pages_through_250_comments_by_the_link_header(
    fake_github: FakeGitHub, gh: github.Github
) -> None:
    """Three requests of 100/100/50, oldest first; pages 2-3 come from the Link header's URLs."""
    fake_github.add_pull(number=7, head_sha=SHA)
    for i in range(250):
        fake_github.add_comment(issue_number=7, body=f"comment {i}", user_login="someone")

    comments = list(repo_of(gh, fake_github).get_issue(7).get_comments())

    assert [c.body for c in comments] == [f"comment {i}" for i in range(250)]
    assert {c.user.login for c in comments} == {"someone"}
    listed = [r for r in fake_github.requests if r.route.endswith("/issues/7/comments")]
    assert [(r.path.split("/")[1], r.query.get("page", "1")) for r in listed] == [
        ("repos", "1"),
        ("repositories", "2"),
        ("repositories", "3"),
    ]


def test_link_header_has_githubs_form_and_order(
    fake_github: FakeGitHub, http: requests.Session
) -> None:
    """prev/next/last/first in the recorded order, on /repositories/{id}, keeping the query."""
    fake_github.add_pull(number=7, head_sha=SHA)
    for i in range(7):
        fake_github.add_comment(issue_number=7, body=f"c{i}", user_login="someone")
    base = f"{fake_github.url}/repos/{fake_github.full_name}/issues/7/comments"
    links = [http.get(base, params={"per_page": 3, "page": p}).headers["Link"] for p in (1, 2, 3)]
    recorded = json.loads((_openapi.DATA / "recorded-paginate-issues.json").read_text())
    recorded_links = [r["headers"]["link"] for r in (recorded[0], recorded[1], recorded[-1])]
    rels, recorded_rels = ([rel_order(link) for link in group] for group in (links, recorded_links))
    assert (
        rels
        == recorded_rels
        == [
            ["next", "last"],
            ["prev", "next", "last", "first"],
            ["prev", "first"],
        ]
    )
    first = http.get(base, params={"per_page": 3}).headers["Link"]
    repo_id = http.get(f"{fake_github.url}/repos/{fake_github.full_name}").json()["id"]
    paged = f"{fake_github.url}/repositories/{repo_id}/issues/7/comments?per_page=3&page="
    assert first == f'<{paged}2>; rel="next", <{paged}3>; rel="last"'


def rel_order(link: str) -> list[str]:
    return [part.split('rel="')[1].rstrip('"') for part in link.split(", ")]


def test_per_page_defaults_to_30_and_is_capped_at_100(
    fake_github: FakeGitHub, http: requests.Session
) -> None:
    fake_github.add_pull(number=7, head_sha=SHA)
    for i in range(120):
        fake_github.add_comment(issue_number=7, body=f"c{i}", user_login="someone")
    url = f"{fake_github.url}/repos/{fake_github.full_name}/issues/7/comments"
    assert len(http.get(url).json()) == 30
    assert len(http.get(url, params={"per_page": 1000}).json()) == 100
    beyond = http.get(url, params={"per_page": 100, "page": 9})
    assert beyond.json() == []


def test_comment_create_edit_and_the_body_limit(fake_github: FakeGitHub, gh: github.Github) -> None:
    """65,536 characters pass; one more is GitHub's 422; the bot is the author."""
    fake_github.add_pull(number=7, head_sha=SHA)
    issue = repo_of(gh, fake_github).get_issue(7)

    comment = issue.create_comment("x" * 65536)
    comment.edit("<!-- 2027-eval-comment:p -->\nbody")
    with pytest.raises(github.GithubException) as too_long:
        issue.create_comment("x" * 65537)

    assert (comment.user.login, comment.user.type) == ("github-actions[bot]", "Bot")
    assert [c["body"] for c in fake_github.comments(7)] == ["<!-- 2027-eval-comment:p -->\nbody"]
    assert fake_github.comments(7)[0]["html_url"].endswith(f"/pull/7#issuecomment-{comment.id}")
    assert too_long.value.status == 422
    recorded = json.loads((_openapi.DATA / "recorded-errors.json").read_text())[0]["response"]
    assert set(recorded) <= set(too_long.value.data)
    assert too_long.value.data["errors"] == [
        {
            "resource": "IssueComment",
            "code": "custom",
            "field": "body",
            "message": "body is too long (maximum is 65536 characters)",
        }
    ]


def test_editing_someone_elses_comment_is_a_contract_violation(
    fake_github: FakeGitHub, gh: github.Github
) -> None:
    fake_github.add_pull(number=7, head_sha=SHA)
    theirs = fake_github.add_comment(issue_number=7, body="mine", user_login="octocat")
    comment = repo_of(gh, fake_github).get_issue(7).get_comment(theirs)

    comment.edit("hijacked")

    (violation,) = fake_github.take_violations()
    assert "contract:" in violation
    assert "'octocat'" in violation


def test_unknown_issue_is_404(fake_github: FakeGitHub, gh: github.Github) -> None:
    with pytest.raises(github.UnknownObjectException):
        repo_of(gh, fake_github).get_issue(99).create_comment("hi")


# --- statuses ------------------------------------------------------------------------------


def test_status_description_of_140_passes_and_141_is_422(
    fake_github: FakeGitHub, gh: github.Github
) -> None:
    commit = repo_of(gh, fake_github).get_commit(SHA)

    ok = commit.create_status(state="pending", context="2027/eval/x", description="d" * 140)
    with pytest.raises(github.GithubException) as too_long:
        commit.create_status(state="success", context="2027/eval/x", description="d" * 141)

    assert (ok.state, ok.creator.login) == ("pending", "github-actions[bot]")
    assert too_long.value.status == 422
    assert too_long.value.data["errors"][0]["field"] == "description"
    assert [s["state"] for s in fake_github.statuses(SHA)] == ["pending"]


def test_status_state_outside_the_four_is_422_and_a_violation(
    fake_github: FakeGitHub, gh: github.Github
) -> None:
    commit = repo_of(gh, fake_github).get_commit(SHA)
    with pytest.raises(github.GithubException) as bad:
        commit.create_status(state="neutral", context="c")
    assert bad.value.data["errors"][0]["message"] == "state is not included in the list"
    (violation,) = fake_github.take_violations()
    assert "'neutral' is not one of ['error', 'failure', 'pending', 'success']" in violation


def test_status_answer_has_the_recorded_shape_and_listings_agree(
    fake_github: FakeGitHub, gh: github.Github, http: requests.Session
) -> None:
    repo = repo_of(gh, fake_github)
    for state, context in (("pending", "a"), ("failure", "b"), ("success", "a")):
        repo.get_commit(SHA).create_status(
            state=state, context=context, description=state, target_url="https://x.test/"
        )
    api = f"{fake_github.url}/repos/{fake_github.full_name}"
    created = http.post(f"{api}/statuses/{SHA}", json={"state": "error", "context": "c"})
    listed = http.get(f"{api}/commits/{SHA}/statuses").json()
    combined = repo.get_commit(SHA).get_combined_status()

    recorded = json.loads((_openapi.DATA / "recorded-create-status.json").read_text())[0]
    assert created.status_code == 201
    assert set(created.json()) == set(recorded["response"])
    assert created.headers["Location"] == created.json()["url"]
    assert [s["context"] for s in listed] == ["c", "a", "b", "a"]  # newest first
    assert combined.state == "failure"
    assert sorted((s.context, s.state) for s in combined.statuses) == [
        ("a", "success"),
        ("b", "failure"),
        ("c", "error"),
    ]
    assert [s["state"] for s in fake_github.statuses(SHA)] == [
        "pending",
        "failure",
        "success",
        "error",
    ]


# --- pulls, users, auth, rate limits -------------------------------------------------------


def test_pulls_same_repo_fork_and_deleted_head(fake_github: FakeGitHub, gh: github.Github) -> None:
    fake_github.add_pull(number=1, head_sha=SHA)
    fake_github.add_pull(number=2, head_sha=SHA, head_repo_full_name="forker/octo-repo")
    fake_github.add_pull(number=3, head_sha=SHA, state="closed", merged=True)
    fake_github.add_pull(number=4, head_sha="f" * 40, head_repo_deleted=True)
    repo = repo_of(gh, fake_github)

    same, fork, merged, deleted = (repo.get_pull(n) for n in (1, 2, 3, 4))
    for_commit = [(p.number, p.state) for p in repo.get_commit(SHA).get_pulls()]

    assert (same.head.repo.full_name, same.head.repo.fork, same.head.sha) == (
        fake_github.full_name,
        False,
        SHA,
    )
    assert (fork.head.repo.full_name, fork.head.repo.fork, fork.head.label) == (
        "forker/octo-repo",
        True,
        "forker:feature-2",
    )
    assert (merged.state, merged.merged) == ("closed", True)
    assert deleted.head.repo is None
    assert for_commit == [(1, "open"), (2, "open"), (3, "closed")]
    assert fake_github.violations == []


def test_get_user_403_for_installation_tokens(fake_github: FakeGitHub, gh: github.Github) -> None:
    with pytest.raises(github.GithubException) as forbidden:
        _ = gh.get_user().login
    assert forbidden.value.status == 403
    assert forbidden.value.data["message"] == "Resource not accessible by integration"


def test_get_user_for_user_tokens() -> None:
    with FakeGitHub(token_kind="user", user_login="octo-bot", token="ghp_user") as fake:
        g = client(fake)
        try:
            me = g.get_user()
            assert (me.login, me.type) == ("octo-bot", "User")
            fake.add_pull(number=1, head_sha=SHA)
            made = g.get_repo(fake.full_name).get_issue(1).create_comment("hi")
            assert made.user.login == "octo-bot"
        finally:
            g.close()
        assert fake.violations == []


@pytest.mark.parametrize("header", [None, "token nope", "Basic Z2hzOng=", "Bearer"])
def test_missing_or_wrong_token_is_401_bad_credentials(
    fake_github: FakeGitHub, header: str | None
) -> None:
    headers = {"User-Agent": "fake-tests", **({"Authorization": header} if header else {})}
    answer = requests.get(
        f"{fake_github.url}/repos/{fake_github.full_name}", headers=headers, timeout=5
    )
    assert answer.status_code == 401
    assert answer.json()["message"] == "Bad credentials"
    assert answer.json()["documentation_url"].startswith("https://docs.github.com/")


def test_rate_limit_headers_count_down_but_not_for_rate_limit(
    fake_github: FakeGitHub, http: requests.Session
) -> None:
    repo = f"{fake_github.url}/repos/{fake_github.full_name}"
    first, second = http.get(repo).headers, http.get(repo).headers
    limits = http.get(f"{fake_github.url}/rate_limit")

    assert first["X-RateLimit-Limit"] == "5000"
    assert int(first["X-RateLimit-Remaining"]) - int(second["X-RateLimit-Remaining"]) == 1
    assert int(second["X-RateLimit-Reset"]) > datetime.now(timezone.utc).timestamp()
    assert limits.json()["resources"]["core"]["remaining"] == int(second["X-RateLimit-Remaining"])


# --- GHES -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fake_github", [GHES], indirect=True)
def test_ghes_prefix_serves_pygithub_and_flags_calls_outside_it(
    fake_github: FakeGitHub, gh: github.Github, http: requests.Session
) -> None:
    fake_github.add_pull(number=5, head_sha=SHA)
    for i in range(120):
        fake_github.add_comment(issue_number=5, body=f"c{i}", user_login="someone")
    repo = repo_of(gh, fake_github)

    assert fake_github.url.endswith("/api/v3")
    assert len(list(repo.get_issue(5).get_comments())) == 120
    assert repo.get_pull(5).html_url == f"{fake_github.root_url}/{fake_github.full_name}/pull/5"
    repo.get_commit(SHA).create_status(state="success", context="c", description="ok")
    assert all(r.path.startswith("/api/v3/") for r in fake_github.requests)

    outside = http.get(f"{fake_github.root_url}/repos/{fake_github.full_name}")
    assert outside.status_code == 404
    (violation,) = fake_github.take_violations()
    assert "outside the API prefix '/api/v3'" in violation


# --- violations and faults ------------------------------------------------------------------


def test_requests_github_would_reject_become_violations(
    fake_github: FakeGitHub, http: requests.Session
) -> None:
    fake_github.add_pull(number=7, head_sha=SHA)
    api = f"{fake_github.url}/repos/{fake_github.full_name}"

    http.get(f"{api}/issues/7/comments", params={"per_page": "many"})
    http.post(f"{api}/issues/7/comments", json={"body": 42})
    http.get(f"{api}/actions/workflows/x.yml/runs", params={"created": "yesterday"})
    http.get(f"{fake_github.url}/repos/{fake_github.full_name}/nothing-here")
    http.get(f"{api}/actions/runs/1/jobs")

    found = fake_github.take_violations()
    assert len(found) == 5, found
    assert "per_page; Failed to cast value to integer type: many" in found[0]
    assert "at body: 42 is not of type 'string'" in found[1]
    assert "Invalid query parameter: created" in found[2]
    assert "Path not found" in found[3]
    assert "does not implement" in found[4]


def test_search_syntax_for_created_is_accepted(
    fake_github: FakeGitHub, http: requests.Session
) -> None:
    fake_github.add_workflow(workflow_id="rollout.yml", numeric_id=1)
    url = f"{fake_github.url}/repos/{fake_github.full_name}/actions/workflows/rollout.yml/runs"
    for created in (
        ">=2024-05-01T00:00:00Z",
        "2024-05-01..2024-05-02",
        "<2024-05-01",
        "2024-05-01",
    ):
        assert http.get(url, params={"created": created}).status_code == 200
    assert fake_github.violations == []


def test_response_checks_catch_a_drifting_answer() -> None:
    """The response check the fake runs on itself rejects a comment without `user`."""
    comment = {"id": 1, "node_id": "x", "html_url": "h", "issue_url": "i", "url": "u"}
    comment |= {"created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"}
    errors = _openapi.response_errors(
        "api.github.com",
        method="GET",
        path="/repos/o/r/issues/comments/1",
        query={},
        status=200,
        body=json.dumps(comment).encode(),
        headers={},
    )
    assert len(errors) == 1
    assert "'user' is a required property" in errors[0]


def test_fail_next_answers_faults_then_recovers(
    fake_github: FakeGitHub, gh: github.Github, http: requests.Session
) -> None:
    fake_github.add_pull(number=7, head_sha=SHA)
    fake_github.fail_next(method="POST", path_pattern=r"/issues/7/comments$", status=403)
    fake_github.fail_next(
        method="GET", path_pattern="/pulls/7$", status=429, headers={"Retry-After": "3"}, times=2
    )
    issue = repo_of(gh, fake_github).get_issue(7)
    with pytest.raises(github.GithubException) as forbidden:
        issue.create_comment("hi")
    limited = [
        http.get(f"{fake_github.url}/repos/{fake_github.full_name}/pulls/7") for _ in range(3)
    ]

    assert forbidden.value.status == 403
    assert issue.create_comment("hi").body == "hi"
    assert [(a.status_code, a.headers.get("Retry-After")) for a in limited] == [
        (429, "3"),
        (429, "3"),
        (200, None),
    ]


# --- Actions --------------------------------------------------------------------------------


def dispatch_inputs(rollout_id: str) -> dict[str, str]:
    return {
        "completion_params": "{}",
        "metadata": json.dumps({"rollout_id": rollout_id}),
        "model_base_url": "https://models.test/v1",
        "api_key": "",
    }


def test_workflow_run_lifecycle_and_artifact_download(
    fake_github: FakeGitHub, gh: github.Github, http: requests.Session
) -> None:
    """Dispatch, find by run name, poll queued→in_progress→completed, 302 to the zip."""
    result = {"schema": 1, "outcome": "succeeded"}
    fake_github.add_workflow(
        workflow_id="rollout.yml",
        numeric_id=4242,
        artifact_files={"rollout-result.json": json.dumps(result)},
    )
    repo = repo_of(gh, fake_github)
    workflow = repo.get_workflow("rollout.yml")
    since = (datetime.now(timezone.utc) - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert workflow.create_dispatch(ref="main", inputs=dispatch_inputs("r-1"), throw=True)
    found = [
        r
        for r in workflow.get_runs(event="workflow_dispatch", branch="main", created=f">={since}")
        if r.name == "rollout:r-1"
    ]
    (run,) = found
    statuses = []
    for _ in range(3):
        seen = repo.get_workflow_run(run.id)
        statuses.append((seen.status, seen.conclusion))
    (artifact,) = list(seen.get_artifacts())
    download = http.get(artifact.archive_download_url)

    assert statuses == [("in_progress", None), ("completed", "success"), ("completed", "success")]
    assert run.status == "queued"
    assert artifact.name == "rollout-result"
    assert download.history[0].status_code == 302
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert json.loads(archive.read("rollout-result.json")) == result
    assert fake_github.dispatches == [
        {
            "workflow_id": "rollout.yml",
            "ref": "main",
            "inputs": dispatch_inputs("r-1"),
            "run_id": run.id,
        }
    ]
    assert seen.cancel() is False  # PyGithub: True only on 202
    assert fake_github.requests[-1].status == 409
    assert fake_github.cancelled_runs == []


def test_cancel_before_completion_and_hidden_runs(
    fake_github: FakeGitHub, gh: github.Github
) -> None:
    fake_github.add_workflow(workflow_id="rollout.yml", numeric_id=4242, appear_after_polls=2)
    workflow = repo_of(gh, fake_github).get_workflow(4242)
    workflow.create_dispatch(ref="main", inputs=dispatch_inputs("r-2"), throw=True)

    listings = [[r.name for r in workflow.get_runs()] for _ in range(3)]
    (run,) = workflow.get_runs()
    cancelled = run.cancel()
    after = repo_of(gh, fake_github).get_workflow_run(run.id)

    assert listings == [[], [], ["rollout:r-2"]]
    assert cancelled is True
    assert fake_github.cancelled_runs == [run.id]
    assert (after.status, after.conclusion) == ("completed", "cancelled")


def test_dispatch_rejects_unknown_inputs_and_unknown_workflows(
    fake_github: FakeGitHub, http: requests.Session
) -> None:
    fake_github.add_workflow(workflow_id="rollout.yml", numeric_id=4242)
    api = f"{fake_github.url}/repos/{fake_github.full_name}/actions/workflows"
    inputs = {**dispatch_inputs("r"), "model": "x"}

    unknown_input = http.post(
        f"{api}/rollout.yml/dispatches", json={"ref": "main", "inputs": inputs}
    )
    missing = http.post(f"{api}/4242/dispatches", json={"ref": "main", "inputs": {}})
    unknown = http.post(f"{api}/nope.yml/dispatches", json={"ref": "main"})

    assert (unknown_input.status_code, unknown_input.json()["message"]) == (
        422,
        'Unexpected inputs provided: ["model"]',
    )
    assert missing.status_code == 422
    assert unknown.status_code == 404
    assert fake_github.dispatches == []


# --- standalone process ---------------------------------------------------------------------


def test_standalone_process_prints_its_url_and_shares_state(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    with env.standalone("github", "--state-file", str(state_file)) as url:
        control = requests.post(
            f"{url}/_fake/add_pull", json={"number": 3, "head_sha": SHA}, timeout=10
        )
        created = requests.post(
            f"{url}/repos/octo-org/octo-repo/issues/3/comments",
            json={"body": "hello"},
            headers={"Authorization": "token ghs_fake_installation_token", "User-Agent": "t"},
            timeout=10,
        )
        state = requests.get(f"{url}/_fake/state", timeout=10).json()

    assert control.status_code == 200
    assert created.status_code == 201
    assert [r["path"] for r in state["requests"]] == ["/repos/octo-org/octo-repo/issues/3/comments"]
    assert state["comments"]["3"][0]["body"] == "hello"
    assert state["violations"] == []
    assert json.loads(state_file.read_text())["comments"]["3"][0]["user"]["login"] == (
        "github-actions[bot]"
    )
