"""The sinks and the sticky comment against the GitHub fake (real PyGithub over loopback)."""

from __future__ import annotations

import io

from evals_action import (
    actions_runtime,
    github_api,
    github_comments,
    models,
    render,
    sinks,
    transport,
)
from tests.fakes.github import FakeGitHub

PROMPT = "3f0c1a52-6d1e-4e55-9a43-1f2b3c4d5e6f"
SHA = "a" * 40


def facade(fake: FakeGitHub) -> github_api.GitHub:
    return github_api.GitHub(
        token=fake.token,
        api_url=fake.url,
        repository=fake.full_name,
        user_agent=transport.USER_AGENT,
        backoff_factor=0,
    )


def writes(fake: FakeGitHub) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests if r.method != "GET"]


def test_sticky_comment_edits_only_ours_and_never_resends_a_body(fake_github: FakeGitHub) -> None:
    fake_github.add_pull(number=7, head_sha=SHA)
    body = render.marker(PROMPT) + "\nsomeone quoting our marker"
    fake_github.add_comment(issue_number=7, body=body, user_login="someone")
    gh = facade(fake_github)
    comment = github_comments.StickyComment(github=lambda: gh, issue_number=7, prompt_id=PROMPT)
    first = render.marker(PROMPT) + "\npending"
    comment.upsert(first)
    comment.upsert(first)
    comment.upsert(render.marker(PROMPT) + "\nfinal")
    bodies = [c["body"] for c in fake_github.comments(7)]
    assert bodies == [body, render.marker(PROMPT) + "\nfinal"]
    assert [w.split(" ")[0] for w in writes(fake_github)] == ["POST", "PATCH"]


def test_the_comment_is_not_tried_again_after_a_403(fake_github: FakeGitHub) -> None:
    fake_github.add_pull(number=7, head_sha=SHA)
    fake_github.fail_next(method="POST", path_pattern=r"/issues/7/comments$", status=403)
    gh = facade(fake_github)
    log = io.StringIO()
    sink = sinks.GitHubSink(
        github=lambda: gh,
        target=models.Target(sha=SHA, pr_number=7, repository=fake_github.full_name),
        prompt_id=PROMPT,
        step=actions_runtime.StepIO(stdout=log),
    )
    sink.comment(render.marker(PROMPT) + "\npending")
    sink.comment(render.marker(PROMPT) + "\nfinal")
    assert log.getvalue().startswith("warning: PR comment not written: ")
    assert fake_github.comments(7) == []
    assert writes(fake_github) == [f"POST /repos/{fake_github.full_name}/issues/7/comments"]


def test_a_final_status_that_fails_after_a_pending_one_fails_the_run(
    fake_github: FakeGitHub,
) -> None:
    gh = facade(fake_github)
    log = io.StringIO()
    sink = sinks.GitHubSink(
        github=lambda: gh,
        target=models.Target(sha=SHA, pr_number=None, repository=fake_github.full_name),
        prompt_id=PROMPT,
        step=actions_runtime.StepIO(stdout=log),
    )
    pending = sinks.StatusFields(
        state="pending", context="2027/eval/x", description="d", target_url=""
    )
    final = sinks.StatusFields(
        state="success", context="2027/eval/x", description="d", target_url=""
    )
    assert sink.status(pending) is True
    fake_github.fail_next(method="POST", path_pattern=r"/statuses/", status=500, times=None)
    assert sink.status(final) is False
    assert log.getvalue().startswith("error: Commit status not set: ")
    assert [s["state"] for s in fake_github.statuses(SHA)] == ["pending"]


def test_the_terminal_prints_the_last_status_the_comment_and_the_outputs() -> None:
    log = io.StringIO()
    step = actions_runtime.StepIO(stdout=log)
    sink = sinks.TerminalSink(skip_status=False, step=step)
    sink.status(sinks.StatusFields(state="pending", context="c", description="p", target_url="u"))
    sink.status(sinks.StatusFields(state="success", context="c", description="f", target_url="u"))
    sink.comment("never printed twice")
    step.set_outputs({"final-status": "passed"})
    sink.close(body="the comment\n")
    assert log.getvalue() == (
        "Status: pending 'c': p → u\n"
        "--- Status\nStatus: success 'c': f → u\n"
        "--- Comment\nthe comment\n"
        "--- Outputs\nfinal-status: passed\n"
    )
