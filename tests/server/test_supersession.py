"""A newer run for the same prompt and pull request supersedes the older in-flight one."""

from __future__ import annotations

from evals_action import models

from .conftest import FakeRollouts, Running

PR_7 = {"repository": "o/r", "pullRequest": 7, "sha": "aaa"}


def test_newer_run_for_the_same_pr_supersedes_the_older(
    server: Running, rollouts: FakeRollouts
) -> None:
    older = server.start(context=PR_7)
    (older_rollout,) = rollouts.started()
    newer = server.start(context={**PR_7, "sha": "bbb"})
    body = server.run(older)
    assert (body["status"], body["supersededBy"]) == ("superseded", newer)
    assert server.backend().fetch(run_id=older).status == models.SUPERSEDED
    # The older rollout finishing late does not overwrite the superseded status.
    rollouts.finish(older_rollout, result={"outcome": "succeeded"})
    newer_rollout = rollouts.started(2)[-1]
    rollouts.finish(newer_rollout, result={"outcome": "succeeded"})
    server.until(newer, lambda b: b["status"] == "completed")
    assert server.run(older)["status"] == "superseded"
    assert server.run(older)["report"] is None


def test_other_prs_prompts_and_runs_without_context_are_left_alone(
    server: Running, rollouts: FakeRollouts
) -> None:
    base = server.start(context=PR_7)
    other_pr = server.start(context={**PR_7, "pullRequest": 8})
    other_repo = server.start(context={**PR_7, "repository": "o/other"})
    other_prompt = server.start(prompt_id="team/smoke test", template_args={}, context=PR_7)
    no_context = server.start()
    no_context_again = server.start()
    for run_id in (base, other_pr, other_repo, other_prompt, no_context, no_context_again):
        assert server.status_of(run_id) in ("pending", "running")


def test_finished_runs_are_not_superseded(server: Running, rollouts: FakeRollouts) -> None:
    done = server.start(context=PR_7)
    (rollout_id,) = rollouts.started()
    rollouts.finish(rollout_id, status=models.FAILED, message="boom")
    server.until(done, lambda b: b["status"] == "failed")
    server.start(context=PR_7)
    assert server.run(done)["status"] == "failed"


def test_a_long_poll_on_the_older_run_wakes_when_it_is_superseded(
    server: Running, rollouts: FakeRollouts
) -> None:
    import threading

    older = server.start(context=PR_7)
    seen: list[str] = []
    backend = server.backend()
    backend.fetch(run_id=older)  # learn that long polling is advertised
    poll = threading.Thread(
        target=lambda: seen.append(backend.fetch(run_id=older, wait_seconds=15).status)
    )
    poll.start()
    server.until_watching(older)
    server.start(context=PR_7)
    poll.join(timeout=15)
    assert seen == ["superseded"]
