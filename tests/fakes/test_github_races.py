"""FakeGitHub reproduces the races GitHub has: PATCH is last-writer-wins (a slow PATCH that
started first can land last), concurrent creates both succeed, DELETE works; `gate` forces the
interleaving with events, never with sleeps."""

from __future__ import annotations

import threading
from collections.abc import Callable

import requests

from tests.fakes.github import FakeGitHub

PR = 7


def _session(fake: FakeGitHub) -> requests.Session:
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {fake.token}", "User-Agent": "race-tests"})
    return session


def _in_thread(call: Callable[[], requests.Response]) -> tuple[threading.Thread, list[int]]:
    answers: list[int] = []
    thread = threading.Thread(target=lambda: answers.append(call().status_code))
    thread.start()
    return thread, answers


def test_patch_that_started_first_lands_last_and_wins(fake_github: FakeGitHub) -> None:
    """Two PATCHes of one comment: the one held back replaces the other's body wholesale."""
    fake_github.add_pull(number=PR, head_sha="a" * 40)
    comment_id = fake_github.add_comment(
        issue_number=PR, body="start", user_login=fake_github.identity, user_type="Bot"
    )
    url = f"{fake_github.url}/repos/{fake_github.full_name}/issues/comments/{comment_id}"
    gate = fake_github.gate(method="PATCH", path_pattern=rf"/issues/comments/{comment_id}$")
    with _session(fake_github) as first, _session(fake_github) as second:
        slow, answers = _in_thread(lambda: first.patch(url, json={"body": "first"}))
        assert gate.arrived.wait(10)
        assert second.patch(url, json={"body": "second"}).status_code == 200
        assert fake_github.comments(PR)[0]["body"] == "second"
        gate.release()
        slow.join(10)
    assert answers == [200]
    assert gate.landed.is_set()
    assert [c["body"] for c in fake_github.comments(PR)] == ["first"]
    assert fake_github.violations == []


def test_concurrent_creates_both_succeed(fake_github: FakeGitHub) -> None:
    """Two creates in flight at once: two comments, oldest first, as on GitHub."""
    fake_github.add_pull(number=PR, head_sha="a" * 40)
    url = f"{fake_github.url}/repos/{fake_github.full_name}/issues/{PR}/comments"
    gates = [
        fake_github.gate(method="POST", path_pattern=rf"/issues/{PR}/comments$") for _ in range(2)
    ]
    with _session(fake_github) as one, _session(fake_github) as two:
        a, answers_a = _in_thread(lambda: one.post(url, json={"body": "a"}))
        b, answers_b = _in_thread(lambda: two.post(url, json={"body": "b"}))
        assert all(g.arrived.wait(10) for g in gates)  # both in flight before either lands
        gates[1].release()
        assert gates[1].landed.wait(10)
        gates[0].release()
        a.join(10)
        b.join(10)
    assert answers_a + answers_b == [201, 201]
    assert sorted(c["body"] for c in fake_github.comments(PR)) == ["a", "b"]
    assert fake_github.violations == []


def test_delete_removes_the_comment_and_is_checked_against_the_description(
    fake_github: FakeGitHub,
) -> None:
    """DELETE answers 204, the comment is gone (404 after), and the call is validated."""
    fake_github.add_pull(number=PR, head_sha="a" * 40)
    mine = fake_github.add_comment(
        issue_number=PR, body="mine", user_login=fake_github.identity, user_type="Bot"
    )
    theirs = fake_github.add_comment(issue_number=PR, body="theirs", user_login="octocat")
    base = f"{fake_github.url}/repos/{fake_github.full_name}/issues/comments"
    with _session(fake_github) as http:
        assert http.delete(f"{base}/{mine}").status_code == 204
        assert http.delete(f"{base}/{mine}").status_code == 404
        assert fake_github.violations == []
        assert http.delete(f"{base}/{theirs}").status_code == 204
    assert fake_github.take_violations() == [
        f"contract: DELETE /repos/{fake_github.full_name}/issues/comments/{theirs} changes a "
        f"comment by 'octocat', but the token is '{fake_github.identity}'; the action never "
        "edits anyone else's comment"
    ]
    deletes = [r for r in fake_github.requests if r.method == "DELETE"]
    assert [r.status for r in deletes] == [204, 404, 204]


def test_gate_released_by_control_route_and_shown_in_state(fake_github: FakeGitHub) -> None:
    """Another process holds a request with `/_fake/gate`, releases it with `release_gate`."""
    fake_github.add_pull(number=PR, head_sha="a" * 40)
    with _session(fake_github) as http:
        gate_id = http.post(
            f"{fake_github.root_url}/_fake/gate",
            json={"method": "GET", "path_pattern": rf"/pulls/{PR}$"},
        ).json()["result"]
        url = f"{fake_github.url}/repos/{fake_github.full_name}/pulls/{PR}"
        with _session(fake_github) as reader:
            held, answers = _in_thread(lambda: reader.get(url))
            gate = fake_github.gates[gate_id - 1]
            assert gate.arrived.wait(10)
            state = http.get(f"{fake_github.root_url}/_fake/state").json()
            assert state["gates"] == [
                {
                    "id": gate_id,
                    "method": "GET",
                    "pattern": rf"/pulls/{PR}$",
                    "arrived": True,
                    "landed": False,
                }
            ]
            http.post(f"{fake_github.root_url}/_fake/release_gate", json={"gate_id": gate_id})
            held.join(10)
    assert answers == [200]
