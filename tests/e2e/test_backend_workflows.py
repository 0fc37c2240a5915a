"""The two rollout-backend workflows of docs/backends.md, run unmodified through act.

Same shape as ``test_docs_workflows.py`` (whose ``@covers`` registry these tests join): the
workflow text comes from the Markdown, the event is a real ``deployment_status`` webhook example,
and the assertions are what a user sees. What differs is who runs the agent:

- ``remote``: a rollout service on loopback (``tests/backends/servers.RolloutService``, which
  records a violation for any ``/init`` that breaks the contract), finishing each rollout it
  accepted at its first ``GET /status``; the workflow reads its URL from ``vars.ROLLOUT_URL``
  (``--var``), as a user's would.
- ``github-workflow``: the fake GitHub with ``rollout.yml`` added (``add_workflow``), whose run
  completes with a ``rollout-result`` artifact.

The prompt file is ``docs/examples/evals/checkout.json``, committed at ``evals/checkout.json`` in
the repository the workflow's checkout step (the stand-in) clones, exactly where the docs say to
copy it. The model key is a secret; no test lets it reach act's log.
"""

from __future__ import annotations

import collections
import json
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.backends.servers import RolloutService
from tests.fakes._http import RecordedRequest, Reply

from . import harness, servers
from .test_docs_workflows import (
    HEAD_SHA,
    OWNER,
    PR,
    REPO,
    REPOSITORY,
    TOKEN,
    WORKFLOWS,
    action_step_id,
    covers,
    marker,
    slug,
    webhook,
)

pytestmark = pytest.mark.e2e

SERVICE = "Evals with a rollout service"
WORKFLOW = "Evals with a rollout workflow"
EXAMPLE_PROMPT = pathlib.Path(__file__).resolve().parents[2] / "docs/examples/evals/checkout.json"
PROMPT = json.loads(EXAMPLE_PROMPT.read_text(encoding="utf-8"))
PROMPT_ID = "checkout-flow"  # as the documented workflows name it
CONTEXT = f"2027/eval/{slug(PROMPT['title'])}"
HEADING = f"### 2027 // {PROMPT['title']}"
MODEL_KEY = "sk-model-e2eKey41c9a2d7f0"  # noqa: S105 (fake)
MODEL_BASE_URL = "https://api.fireworks.ai/inference/v1"
PREVIEW = "https://shop-git-fix-cart-octo-org.vercel.app"
RESULT = {
    "schema": 1,
    "outcome": "succeeded",
    "score": 92,
    "grade": "A-",
    "summary": "Bought one pair of socks",
    "metrics": {"timeSeconds": 48, "costUsd": 0.03, "errors": 0, "interruptions": 0},
}


class FinishingService(RolloutService):
    """A rollout service whose every accepted rollout answers ``answer`` at its first status."""

    def __init__(self, *, answer: dict[str, Any]) -> None:
        super().__init__()
        self.answer = answer

    def _init(self, request: RecordedRequest) -> Reply:
        reply = super()._init(request)
        if 200 <= reply.status < 300:
            rollout_id = request.json["metadata"]["rollout_id"]
            self.scripts[rollout_id] = collections.deque([self.answer])
        return reply


def deployment_event(*, state: str = "success") -> dict[str, Any]:
    """A preview deployment of the PR's head commit reaching ``state`` (Vercel-style)."""
    event = webhook("deployment_status.created")
    event["deployment"]["sha"] = HEAD_SHA
    event["deployment"]["environment"] = "Preview"
    event["deployment_status"]["state"] = state
    event["deployment_status"]["environment_url"] = PREVIEW
    return event


def run_workflow(
    name: str,
    *,
    workspace: harness.Workspace,
    github: servers.FakeProcess,
    variables: dict[str, str] | None = None,
    event: dict[str, Any] | None = None,
) -> harness.ActResult:
    """Run a documented workflow with the example prompt file committed where the docs put it."""
    result = harness.run(
        workspace=workspace,
        workflow_text=WORKFLOWS[name].text,
        event_name="deployment_status",
        event=event or deployment_event(),
        secrets={"GITHUB_TOKEN": TOKEN, "MODEL_API_KEY": MODEL_KEY},
        variables=variables or {},
        env={"GITHUB_API_URL": github.url},
        repository=REPOSITORY,
        files={"evals/checkout.json": EXAMPLE_PROMPT.read_bytes()},
    )
    assert result.leaked([TOKEN, MODEL_KEY]) == [], "a secret reached act's log"
    return result


def statuses(github: servers.FakeProcess) -> list[dict[str, Any]]:
    return [s for s in github.state()["statuses"] if s["sha"] == HEAD_SHA]


def our_comments(github: servers.FakeProcess) -> list[str]:
    comments = github.state()["comments"].get(str(PR), [])
    return [c["body"] for c in comments if c["body"].startswith(marker(PROMPT_ID))]


def verdict(outputs: dict[str, str]) -> tuple[str, str, str]:
    """``final-status``, ``score`` and ``grade`` as a later step reads them."""
    return outputs["final-status"], outputs["score"], outputs["grade"]


def assert_targets_the_preview(*, messages: list[dict[str, Any]]) -> None:
    """The prompt's production host was replaced by the preview's before it left the action."""
    text = json.dumps(messages)
    assert "https://shop-git-fix-cart-octo-org.vercel.app/products/socks" in text
    assert "shop.example.com" not in text


@pytest.fixture
def pull(github: servers.FakeProcess) -> servers.FakeProcess:
    """The fake GitHub with PR #12, whose head commit the deployment built."""
    github.op("add_pull", number=PR, head_sha=HEAD_SHA)
    return github


@pytest.fixture
def finishing_service() -> Iterator[FinishingService]:
    answer = {
        "terminated": True,
        "status": {"code": 100, "message": "Rollout finished", "details": []},
        "info": {"result": {**RESULT, "report_url": "https://agents.example.com/r/42"}},
    }
    with FinishingService(answer=answer) as fake:
        yield fake


# --- remote ---------------------------------------------------------------------------------


@covers(SERVICE)
def test_rollout_service_gets_the_prompt_and_key_and_its_score_is_reported(
    workspace: harness.Workspace,
    pull: servers.FakeProcess,
    finishing_service: FinishingService,
) -> None:
    """/init carries the checked-out prompt aimed at the preview, the model URL and key, and the
    ids the outputs show; the service's score becomes the comment, a success status and outputs."""
    result = run_workflow(
        SERVICE,
        workspace=workspace,
        github=pull,
        variables={"ROLLOUT_URL": finishing_service.url},
    )
    assert result.job_result("eval") == "success", result.log
    outputs = result.outputs(action_step_id(SERVICE))
    (init,) = finishing_service.inits
    assert init["api_key"] == MODEL_KEY
    assert init["model_base_url"] == MODEL_BASE_URL
    assert init["completion_params"] == PROMPT["completion_params"]
    assert init["tools"] == PROMPT["tools"]
    assert_targets_the_preview(messages=init["messages"])
    assert init["metadata"] | {"rollout_id": "-", "run_id": "-", "invocation_id": "-"} == {
        "invocation_id": "-",
        "experiment_id": f"{REPOSITORY}#{PR}",
        "rollout_id": "-",
        "run_id": "-",
        "row_id": PROMPT_ID,
        "url_map": {"shop.example.com": PREVIEW},
        "template_args": {},
    }
    assert init["metadata"]["rollout_id"] == outputs["rollout-id"] == outputs["run-id"]
    assert init["metadata"]["run_id"] == outputs["correlation-run-id"]
    assert init["metadata"]["invocation_id"] == outputs["invocation-id"]
    assert verdict(outputs) == ("completed", "92", "A-")
    assert outputs["report-url"] == "https://agents.example.com/r/42"
    assert [(s["state"], s["context"]) for s in statuses(pull)] == [
        ("pending", CONTEXT),
        ("success", CONTEXT),
    ]
    (comment,) = our_comments(pull)
    assert f"{HEADING} — **Succeeded**" in comment
    assert "**Score:** 92  ·  **Grade:** A-" in comment
    assert "[View report →](https://agents.example.com/r/42)" in comment
    assert f"{HEADING}" in result.summary()
    assert finishing_service.violations == []
    assert pull.state()["violations"] == []


@covers(SERVICE)
def test_rollout_service_error_fails_the_job_with_its_message(
    workspace: harness.Workspace, pull: servers.FakeProcess
) -> None:
    """A rollout that ends with code 13: status `error` with the service's message, a failed
    comment, `final-status=failed`, the job red; the key still nowhere in the log."""
    answer = {
        "terminated": True,
        "status": {"code": 13, "message": "browser crashed on /cart", "details": []},
    }
    with FinishingService(answer=answer) as service:
        result = run_workflow(
            SERVICE, workspace=workspace, github=pull, variables={"ROLLOUT_URL": service.url}
        )
        assert service.violations == []
    assert result.job_result("eval") == "failure", result.log
    outputs = result.outputs(action_step_id(SERVICE))
    assert (outputs["final-status"], outputs["failure-reason"]) == (
        "failed",
        "browser crashed on /cart",
    )
    assert [s["state"] for s in statuses(pull)] == ["pending", "error"]
    assert statuses(pull)[-1]["description"] == "browser crashed on /cart"
    (comment,) = our_comments(pull)
    assert "browser crashed on /cart" in comment
    assert "**Succeeded**" not in comment


@covers(SERVICE, WORKFLOW)
@pytest.mark.parametrize("name", [SERVICE, WORKFLOW])
def test_unfinished_deployment_runs_nothing(
    name: str, workspace: harness.Workspace, pull: servers.FakeProcess
) -> None:
    """The job's `if:` skips deployment states other than success: no rollout, no status."""
    result = run_workflow(
        name,
        workspace=workspace,
        github=pull,
        variables={"ROLLOUT_URL": "http://127.0.0.1:9"},  # never reached
        event=deployment_event(state="in_progress"),
    )
    assert result.returncode == 0, result.log
    assert result.job_results() == [], "the job ran"
    assert statuses(pull) == []
    assert pull.state()["dispatches"] == []
    assert pull.state()["comments"].get(str(PR), []) == []


# --- github-workflow ------------------------------------------------------------------------


def add_rollout_workflow(github: servers.FakeProcess, *, conclusion: str) -> None:
    """`rollout.yml` in this repository: its run is in progress when listed and completed with
    `conclusion` at the first read, uploading a `rollout-result` artifact."""
    github.op(
        "add_workflow",
        workflow_id="rollout.yml",
        numeric_id=161335,
        script=[["in_progress", None], ["completed", conclusion]],
        artifact_files={"rollout-result.json": json.dumps(RESULT)},
    )


def the_run(github: servers.FakeProcess) -> dict[str, Any]:
    (run,) = github.state()["workflow_runs"]
    assert isinstance(run, dict)
    return run


@covers(WORKFLOW)
def test_rollout_workflow_is_dispatched_and_its_artifact_is_the_score(
    workspace: harness.Workspace, pull: servers.FakeProcess
) -> None:
    """One dispatch of rollout.yml on main with the four string inputs (key included); the run's
    `rollout-result` artifact becomes the comment, which links the run, and the outputs."""
    add_rollout_workflow(pull, conclusion="success")
    result = run_workflow(WORKFLOW, workspace=workspace, github=pull)
    assert result.job_result("eval") == "success", result.log
    outputs = result.outputs(action_step_id(WORKFLOW))
    (dispatch,) = pull.state()["dispatches"]
    assert (dispatch["workflow_id"], dispatch["ref"]) == ("rollout.yml", "main")
    inputs = dispatch["inputs"]
    assert sorted(inputs) == ["api_key", "completion_params", "metadata", "model_base_url"]
    assert (inputs["api_key"], inputs["model_base_url"]) == (MODEL_KEY, MODEL_BASE_URL)
    assert json.loads(inputs["completion_params"]) == PROMPT["completion_params"]
    meta = json.loads(inputs["metadata"])
    assert meta["rollout_id"] == outputs["rollout-id"]
    assert (meta["row_id"], meta["experiment_id"]) == (PROMPT_ID, f"{REPOSITORY}#{PR}")
    assert meta["url_map"] == {"shop.example.com": PREVIEW}
    run = the_run(pull)
    assert run["name"] == f"rollout:{outputs['rollout-id']}"
    assert run["html_url"] == f"https://github.com/{OWNER}/{REPO}/actions/runs/{run['id']}"
    assert outputs["rollout-run-url"] == run["html_url"]
    assert outputs["run-id"] == str(run["id"])
    assert verdict(outputs) == ("completed", "92", "A-")
    assert [(s["state"], s["context"]) for s in statuses(pull)] == [
        ("pending", CONTEXT),
        ("success", CONTEXT),
    ]
    (comment,) = our_comments(pull)
    assert f"{HEADING} — **Succeeded**" in comment
    assert "**Score:** 92  ·  **Grade:** A-" in comment
    assert f"[Status →]({run['html_url']})" in comment
    assert pull.state()["cancelled_runs"] == []
    assert pull.state()["violations"] == []


@covers(WORKFLOW)
def test_failed_rollout_workflow_fails_the_job_and_links_the_run(
    workspace: harness.Workspace, pull: servers.FakeProcess
) -> None:
    """The run concludes `failure`: status `error`, the reason GitHub gave, the run linked."""
    add_rollout_workflow(pull, conclusion="failure")
    result = run_workflow(WORKFLOW, workspace=workspace, github=pull)
    assert result.job_result("eval") == "failure", result.log
    outputs = result.outputs(action_step_id(WORKFLOW))
    reason = "GitHub Actions workflow concluded with 'failure'"
    assert (outputs["final-status"], outputs["failure-reason"]) == ("failed", reason)
    run = the_run(pull)
    assert outputs["rollout-run-url"] == run["html_url"]
    assert [s["state"] for s in statuses(pull)] == ["pending", "error"]
    assert statuses(pull)[-1]["description"] == reason
    assert statuses(pull)[-1]["target_url"] == run["html_url"]
    (comment,) = our_comments(pull)
    assert reason in comment
    assert f"[Status →]({run['html_url']})" in comment
    assert pull.state()["violations"] == []
