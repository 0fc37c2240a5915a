"""The shared suite comment on the fake GitHub: several writers with one comment-key, forced
into GitHub's races with the fake's gates (events, never sleeps), through the real PyGithub
façade. Each writer's `sleep` is injected: it returns at once, or waits for an event when the
test needs the writer to pause there."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from evals_action import (
    errors,
    github_api,
    github_suite_comment,
    suite_comment,
    suite_sections,
    transport,
)
from tests.fakes._http import Gate
from tests.fakes.github import FakeGitHub
from tests.unit import suite_fixtures as fx

PR = 12
KEY = "Evals/eval"
HEAD, OLD = "a" * 40, "b" * 40


def facade(fake: FakeGitHub) -> github_api.GitHub:
    return github_api.GitHub(
        token=fake.token,
        api_url=fake.url,
        repository=fake.full_name,
        user_agent=transport.USER_AGENT,
        backoff_factor=0,
    )


def writer(
    fake: FakeGitHub, *, sleep: Callable[[float], None] | None = None, attempts: int = 6
) -> github_suite_comment.SharedComment:
    gh = facade(fake)
    return github_suite_comment.SharedComment(
        github=lambda: gh,
        issue_number=PR,
        comment_key=KEY,
        sleep=sleep or (lambda _s: None),
        rand=lambda a, b: (a + b) / 2,
        attempts=attempts,
    )


def leg(prompt_id: str, *, sha: str = HEAD, score: float = 80) -> list[suite_sections.Section]:
    """One matrix leg's sections: one prompt, one run."""
    attempt = fx.completed(prompt_id, 1, score=score)
    suite = fx.suite(fx.prompt(prompt_id, f"Prompt {prompt_id}", [attempt]), sha=sha, key=KEY)
    return suite_comment.sections(suite)


def ours(fake: FakeGitHub) -> list[dict[str, object]]:
    return [c for c in fake.comments(PR) if suite_comment.is_ours(str(c["body"]), comment_key=KEY)]


def shown(fake: FakeGitHub) -> dict[str, suite_sections.Section]:
    (comment,) = ours(fake)
    return {s.prompt_id: s for s in suite_sections.parse(str(comment["body"]))}


def comment_requests(fake: FakeGitHub) -> list[str]:
    return [
        f"{r.method} {r.route.split(fake.full_name)[-1]}"
        for r in fake.requests
        if "/comments" in r.route
    ]


def run_threads(*targets: Callable[[], None]) -> None:
    problems: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def go() -> None:
            try:
                target()
            except BaseException as exc:  # noqa: BLE001  re-raised in the test's thread
                problems.append(exc)

        return go

    threads = [threading.Thread(target=guarded(t)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads)
    if problems:
        raise problems[0]


def pass_through(gate: Gate) -> None:
    """Let one gated request through and wait until it took effect."""
    assert gate.arrived.wait(30)
    gate.release()
    assert gate.landed.wait(30)


@pytest.fixture
def fake(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_pull(number=PR, head_sha=HEAD)
    return fake_github


def test_uncontended_write_takes_exactly_four_comment_requests(fake: FakeGitHub) -> None:
    """Create: list, create, re-read, settled re-read; then an update: list, PATCH, two re-reads;
    the same sections again: one list and nothing else."""
    shared = writer(fake)
    shared.upsert(leg("p1"))
    assert comment_requests(fake) == [
        f"GET /issues/{PR}/comments",
        f"POST /issues/{PR}/comments",
        f"GET /issues/{PR}/comments",
        f"GET /issues/{PR}/comments",
    ]
    fake.clear_requests()
    shared.upsert(leg("p1", score=90))
    comment_id = ours(fake)[0]["id"]
    assert comment_requests(fake) == [
        f"GET /issues/{PR}/comments",
        f"PATCH /issues/comments/{comment_id}",
        f"GET /issues/{PR}/comments",
        f"GET /issues/{PR}/comments",
    ]
    assert [r.route for r in fake.requests if "/comments" not in r.route] == []
    fake.clear_requests()
    shared.upsert(leg("p1", score=90))
    assert comment_requests(fake) == [f"GET /issues/{PR}/comments"]
    assert shown(fake)["p1"] == leg("p1", score=90)[0]


def test_a_second_writer_merges_into_the_existing_comment(fake: FakeGitHub) -> None:
    """Another leg's sections stay; the table covers both; GET /user only once per writer."""
    writer(fake).upsert(leg("p1"))
    fake.clear_requests()
    second = writer(fake)
    second.upsert(leg("p2"))
    assert list(shown(fake)) == ["p1", "p2"]
    body = str(ours(fake)[0]["body"])
    assert leg("p1")[0].row in body.split("\n\n")[1]
    assert leg("p2")[0].row in body.split("\n\n")[1]
    assert [r.route for r in fake.requests].count("/user") == 1


def test_two_writers_creating_at_once_leave_one_comment_with_both(fake: FakeGitHub) -> None:
    """Both list (nothing), both create: the oldest stays, the newer's writer merges its
    sections into it and deletes its own duplicate."""
    gates = [fake.gate(method="POST", path_pattern=rf"/issues/{PR}/comments$") for _ in range(2)]

    def release_in_order() -> None:
        assert all(g.arrived.wait(30) for g in gates)  # both creates in flight at once
        gates[0].release()
        assert gates[0].landed.wait(30)
        gates[1].release()

    run_threads(
        lambda: writer(fake).upsert(leg("p1")),
        lambda: writer(fake).upsert(leg("p2")),
        release_in_order,
    )
    assert sorted(shown(fake)) == ["p1", "p2"]
    (comment,) = fake.comments(PR)
    posts = [r for r in fake.requests if r.method == "POST"]
    deletes = [r for r in fake.requests if r.method == "DELETE"]
    assert len(posts) == 2
    assert len(deletes) == 1
    assert comment["id"] < int(deletes[0].route.rsplit("/", 1)[1])  # the newer one went


def test_patch_landing_late_after_a_verified_write_is_repaired(fake: FakeGitHub) -> None:
    """Both read, B's PATCH lands and B verifies, then A's older PATCH lands and drops B's
    section: B's settled re-read sees it and re-merges; both sections are there at the end."""
    writer(fake).upsert(leg("p0"))
    patches = [fake.gate(method="PATCH", path_pattern=r"/issues/comments/\d+$") for _ in range(2)]
    by_prompt: dict[str, object] = {}
    a_landed = threading.Event()

    def b_sleep(_seconds: float) -> None:
        assert a_landed.wait(30)

    def conduct() -> None:
        assert all(g.arrived.wait(30) for g in patches)  # both read before either landed
        for g in patches:
            by_prompt["p1" if b"section:p1 " in g.body else "p2"] = g
        b, a = by_prompt["p2"], by_prompt["p1"]
        reread = fake.gate(method="GET", path_pattern=rf"/issues/{PR}/comments$")
        b.release()  # type: ignore[attr-defined]
        assert b.landed.wait(30)  # type: ignore[attr-defined]
        pass_through(reread)  # B's re-read: B sees its section and is satisfied
        a.release()  # type: ignore[attr-defined]
        assert a.landed.wait(30)  # type: ignore[attr-defined]
        a_landed.set()

    run_threads(
        lambda: writer(fake).upsert(leg("p1")),
        lambda: writer(fake, sleep=b_sleep).upsert(leg("p2")),
        conduct,
    )
    assert sorted(shown(fake)) == ["p0", "p1", "p2"]
    assert len([r for r in fake.requests if r.method == "PATCH"]) == 3  # A, B, B's repair


def test_an_older_commits_writer_finishing_late_keeps_the_heads_section(fake: FakeGitHub) -> None:
    """The PR moved on to HEAD; the leg for OLD writes its final result afterwards: the section
    written for HEAD stays, the old leg ends without error, other prompts are untouched."""
    writer(fake).upsert(leg("p1", sha=OLD, score=10))  # the old leg's pending write
    writer(fake).upsert(leg("p1", sha=HEAD, score=90) + leg("p2", sha=HEAD))
    fake.clear_requests()
    writer(fake).upsert(leg("p1", sha=OLD, score=20))
    assert shown(fake)["p1"] == leg("p1", sha=HEAD, score=90)[0]
    assert [r.method for r in fake.requests if "/comments" in r.route] == ["GET"]
    assert [r.route for r in fake.requests].count(f"/repos/{fake.full_name}/pulls/{PR}") == 1


def test_an_older_commits_patch_landing_late_is_undone_by_the_heads_writer(
    fake: FakeGitHub,
) -> None:
    """The old leg read before the head's write and its PATCH lands after it: the head's
    writer sees its section replaced on its settled re-read and puts it back."""
    writer(fake).upsert(leg("p1", sha=OLD, score=10))
    old_patch, head_patch = (
        fake.gate(method="PATCH", path_pattern=r"/issues/comments/\d+$") for _ in range(2)
    )
    landed = threading.Event()

    def head_writer() -> None:
        assert old_patch.arrived.wait(30)  # the old leg has read and is writing
        writer(fake, sleep=lambda _s: landed.wait(30) or None).upsert(leg("p1", sha=HEAD))

    def conduct() -> None:
        assert head_patch.arrived.wait(30)
        reread = fake.gate(method="GET", path_pattern=rf"/issues/{PR}/comments$")
        head_patch.release()
        assert head_patch.landed.wait(30)
        pass_through(reread)  # the head's re-read: its section is there
        old_patch.release()
        assert old_patch.landed.wait(30)
        landed.set()

    run_threads(
        lambda: writer(fake).upsert(leg("p1", sha=OLD, score=20)),
        head_writer,
        conduct,
    )
    assert shown(fake)["p1"] == leg("p1", sha=HEAD)[0]


def test_others_comments_are_never_edited_or_deleted(fake: FakeGitHub) -> None:
    """A marker comment by someone else (quoting ours, forging sections) is left alone; ours is
    created beside it, and no edit or delete touches theirs."""
    forged = suite_comment.render(fx.suite(*fx.passing().prompts, key=KEY))
    theirs = fake.add_comment(issue_number=PR, body=forged, user_login="octocat")
    writer(fake).upsert(leg("p1"))
    assert fake.comments(PR)[0] == {**fake.comments(PR)[0], "id": theirs, "body": forged}
    assert [r.method for r in fake.requests if str(theirs) in r.route] == []
    assert list(shown_from(fake, exclude=theirs)) == ["p1"]


def shown_from(fake: FakeGitHub, *, exclude: int) -> dict[str, suite_sections.Section]:
    (comment,) = [c for c in ours(fake) if c["id"] != exclude]
    return {s.prompt_id: s for s in suite_sections.parse(str(comment["body"]))}


def test_a_404_on_the_patch_is_contention_not_an_error(fake: FakeGitHub) -> None:
    """A 404 on the PATCH (the comment went away meanwhile) is contention: re-read, write again."""
    writer(fake).upsert(leg("p1"))
    (comment,) = ours(fake)
    gate = fake.gate(method="PATCH", path_pattern=r"/issues/comments/\d+$")

    def delete_then_release() -> None:
        assert gate.arrived.wait(30)
        fake.control(
            "fail_next", {"method": "PATCH", "path_pattern": r"comments/\d+$", "status": 404}
        )
        gate.release()

    run_threads(lambda: writer(fake).upsert(leg("p2")), delete_then_release)
    assert sorted(shown(fake)) == ["p1", "p2"]
    assert ours(fake)[0]["id"] == comment["id"]


def test_gives_up_with_one_clear_error_after_bounded_writes(fake: FakeGitHub) -> None:
    """When the body can never be written, the writer stops after `attempts` writes."""
    writer(fake).upsert(leg("p1"))
    fake.fail_next(method="PATCH", path_pattern=r"comments/\d+$", status=404, times=None)
    with pytest.raises(errors.GitHubError, match="after 3 writes: other writers kept replacing"):
        writer(fake, attempts=3).upsert(leg("p2"))
    assert len([r for r in fake.requests if r.method == "PATCH"]) == 3
