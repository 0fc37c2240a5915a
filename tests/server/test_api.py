"""The evals API as the action's own client (`backends.evals_api`) sees it."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals_action import errors, models

from .conftest import FakeRollouts, Running, Stack, example_settings, running_server


def test_full_run_through_example_agent_is_graded_and_read_by_the_action_client(
    tmp_path: Path, example_stack: Stack
) -> None:
    """Start → pending/running → completed, with a report the action's client parses whole."""
    from evals_action.server import rollout_clients

    with running_server(
        database=tmp_path / "db",
        settings_=example_settings(agent_url=example_stack.agent),
        client_factory=rollout_clients.backend_clients,
    ) as server:
        backend = server.backend()
        run_id = server.start(prompt_id="create-project", preview=example_stack.preview)
        first = backend.fetch(run_id=run_id)
        assert first.status in (models.PENDING, models.RUNNING, models.COMPLETED)
        assert backend.supports_long_poll
        server.until(run_id, lambda body: body["status"] == "completed")
        run = backend.fetch(run_id=run_id, wait_seconds=5)

    assert run.status == models.COMPLETED
    assert run.prompt_title == "Sign up and create a project"
    assert run.prompt_text is not None
    assert example_stack.preview in run.prompt_text
    assert run.run_url == f"{server.url}/runs/{run_id}"
    report = run.report
    assert report is not None
    assert (report.outcome, report.score, report.grade) == ("succeeded", 100.0, "A+")
    assert report.url == f"{server.url}/reports/{report.slug}"
    assert report.key_finding is None
    assert report.metrics is not None
    assert report.metrics.errors == 0
    assert report.verdict == "All 3 checks passed"


def test_failed_required_check_gives_goal_not_met_and_key_finding(
    server: Running, rollouts: FakeRollouts
) -> None:
    """An answer without the project and an unreachable preview: DNF, first failure named."""
    run_id = server.start()
    (rollout_id,) = rollouts.started()
    rollouts.finish(
        rollout_id, result={"messages": [{"role": "assistant", "content": "I gave up."}]}
    )
    body = server.until(run_id, lambda b: b["status"] == "completed")
    report = models.Report.from_wire(body["report"])
    assert report is not None
    assert (report.outcome, report.score, report.grade) == ("goal_not_met", 0.0, "F")
    assert report.key_finding == (
        "answer contains 'demo': the final answer does not mention 'demo'"
    )
    assert report.what_didnt == report.key_finding


def test_failed_rollout_fails_the_run_with_the_agents_message(
    server: Running, rollouts: FakeRollouts
) -> None:
    run_id = server.start()
    (rollout_id,) = rollouts.started()
    rollouts.finish(rollout_id, status=models.FAILED, message="browser crashed")
    run = server.backend().fetch(run_id=run_id, wait_seconds=5)
    body = server.until(run_id, lambda b: b["status"] == "failed")
    assert body["failureReason"] == "browser crashed"
    assert body["report"] is None
    assert run.run_id == run_id


def test_init_request_targets_the_preview_and_carries_correlation_ids(
    server: Running, rollouts: FakeRollouts
) -> None:
    run_id = server.start(
        preview="http://127.0.0.1:5555",
        context={"repository": "o/r", "pullRequest": 7, "sha": "abc"},
    )
    (rollout_id,) = rollouts.started()
    request = rollouts.requests[rollout_id]
    assert request["messages"] == [
        {"role": "user", "content": 'On http://127.0.0.1:5555 create a project named "demo".'}
    ]
    assert request["metadata"] == {
        "invocation_id": f"evals-server-{run_id}",
        "experiment_id": "o/r#7",
        "rollout_id": rollout_id,
        "run_id": run_id,
        "row_id": "signup",
        "url_map": {"app.example.com": "http://127.0.0.1:5555"},
        "template_args": {"project_name": "demo"},
    }
    assert set(request) == {
        "completion_params",
        "messages",
        "tools",
        "model_base_url",
        "metadata",
        "api_key",
    }


def test_same_idempotency_key_returns_the_same_run(server: Running, rollouts: FakeRollouts) -> None:
    first = server.start(idempotency_key="k-1")
    again = server.start(idempotency_key="k-1")
    other = server.start(idempotency_key="k-2")
    assert first == again != other
    rollouts.started(2)
    assert len(rollouts.requests) == 2


def test_prompt_id_with_slash_and_space_is_one_path_segment(
    server: Running, rollouts: FakeRollouts
) -> None:
    """The client encodes `team/smoke test` as one segment; the server finds the prompt."""
    run_id = server.start(prompt_id="team/smoke test", template_args={})
    (rollout_id,) = rollouts.started()
    rollouts.finish(rollout_id, result={"outcome": "succeeded", "score": 88})
    body = server.until(run_id, lambda b: b["status"] == "completed")
    assert body["prompt"]["title"] == "Smoke <b>test</b>"
    assert (body["report"]["score"], body["report"]["grade"]) == (88, "B+")
    prompt = server.session().get(f"{server.url}/api/v1/prompts/team%2Fsmoke%20test").json()
    assert prompt["id"] == "team/smoke test"


def test_unknown_prompt_and_run_are_fatal_404s(server: Running) -> None:
    backend = server.backend()
    with pytest.raises(errors.FatalAPIError, match="Prompt not found: nope"):
        server.start(prompt_id="nope")
    with pytest.raises(errors.FatalAPIError, match="Run not found: missing"):
        backend.fetch(run_id="missing")


def test_baseline_is_the_newest_published_success_other_than_the_current_run(
    server: Running, rollouts: FakeRollouts
) -> None:
    """Published reports feed `GET /api/v1/runs?promptId=&reportStatus=published`."""
    prompt = "team/smoke test"  # no checks: the rollout result's outcome decides
    ids = []
    for index, outcome in enumerate(["succeeded", "goal_not_met", "succeeded"]):
        run_id = server.start(prompt_id=prompt, template_args={})
        rollout_id = rollouts.started(index + 1)[-1]
        rollouts.finish(
            rollout_id,
            result={"outcome": outcome, "metrics": {"timeSeconds": 10 + index, "costUsd": 0.01}},
        )
        server.until(run_id, lambda b: b["status"] == "completed")
        ids.append(run_id)
    server.start()  # another prompt's run, still running: never listed for this prompt
    backend = server.backend()
    # The newest (ids[2]) is the current run, ids[1] did not succeed: ids[0] is the baseline.
    baseline = backend.baseline(prompt_id=prompt, current_run_id=ids[2])
    assert baseline is not None
    assert baseline.metrics is not None
    assert baseline.metrics.time_seconds == 10
    listed = (
        server.session()
        .get(
            f"{server.url}/api/v1/runs",
            params={"promptId": prompt, "reportStatus": "published", "limit": 2, "offset": 1},
        )
        .json()
    )
    assert [r["runId"] for r in listed] == [ids[1], ids[0]]


def test_bad_list_parameters_are_400(server: Running) -> None:
    response = server.session().get(f"{server.url}/api/v1/runs", params={"limit": "x"})
    assert (response.status_code, response.json()) == (
        400,
        {"error": "limit and offset must be integers"},
    )
