"""The action's baseline listing (`EvalsApiBackend.baseline_sample`) against our real server:
with `branch=default`, a pull request's published runs never become a baseline (§3, §6)."""

from __future__ import annotations

from evals_action import stats

from .conftest import FakeRollouts, Running

PROMPT = "team/smoke test"  # no checks, no template variables


def _finish(
    server: Running, rollouts: FakeRollouts, run_id: str, index: int, *, succeeded: bool
) -> None:
    rollout_id = rollouts.started(index + 1)[index]
    # a prompt without checks takes its outcome and score from the rollout's result
    result = {"outcome": "succeeded", "score": 90} if succeeded else {"outcome": "goal_not_met"}
    rollouts.finish(rollout_id, result=result)
    server.until(run_id, lambda b: b["status"] == "completed")


def test_the_baseline_from_our_server_leaves_out_pull_request_runs_and_this_steps_runs(
    server: Running, rollouts: FakeRollouts
) -> None:
    main = server.start(
        prompt_id=PROMPT, template_args={}, context={"repository": "o/r", "sha": "m1"}
    )
    _finish(server, rollouts, main, 0, succeeded=True)
    from_pr = server.start(
        prompt_id=PROMPT,
        template_args={},
        context={"repository": "o/r", "pullRequest": 7, "sha": "p1"},
    )
    _finish(server, rollouts, from_pr, 1, succeeded=False)
    ours = server.start(
        prompt_id=PROMPT,
        template_args={},
        context={"repository": "o/r", "sha": "m2", "suite": "s", "attempt": 1},
    )
    _finish(server, rollouts, ours, 2, succeeded=True)
    backend = server.backend()
    backend.fetch(run_id=ours)
    assert backend.supports_suites  # the header our server sends on every API answer
    found = backend.baseline_sample(
        prompt_id=PROMPT, exclude=frozenset({ours}), limit=10, default_branch=True
    )
    assert found == [stats.Observation(status=stats.COMPLETED, succeeded=True, score=90)]
    everything = backend.baseline_sample(
        prompt_id=PROMPT, exclude=frozenset({ours}), limit=10, default_branch=False
    )
    assert [o.succeeded for o in everything or []] == [False, True]  # newest first
