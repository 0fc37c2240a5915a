"""Every workflow in README.md and docs/ runs, unmodified, through act against the loopback fakes.

Each test names the documented workflow it runs (``@covers``) and asserts what a user would see:
the sticky comment on the fake PR, the commit status (never left ``pending``), outputs consumed by a
later step, the job summary, the job's result, and that neither the API key nor the token appears
anywhere in act's output. ``test_every_doc_workflow_has_a_case`` fails for a documented workflow
that no test runs, so a new recipe cannot ship untested.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json
import pathlib
import signal
from collections.abc import Callable
from typing import Any

import pytest

from . import docs_workflows, harness, servers

pytestmark = pytest.mark.e2e

WORKFLOWS = {workflow.name: workflow for workflow in docs_workflows.all_workflows()}
WEBHOOKS = pathlib.Path(__file__).resolve().parents[1] / "data" / "github" / "webhooks"

OWNER, REPO = "octo-org", "octo-repo"
REPOSITORY = f"{OWNER}/{REPO}"
TOKEN = servers.GITHUB_TOKEN
API_KEY = servers.EVALS_API_KEY
PR = 12
HEAD_SHA = "3f1c0a9e2b7d4c6e8f0a1b2c3d4e5f6a7b8c9d0e"
PROMPT_TITLES = {
    "03a87bd0-84d4-4238-979c-efbafef99455": "Sign up and create a project",
    "0d2f6995-dc5c-4a8d-af48-755fbe1f8099": "Invite a teammate",
    "82557f67-49e2-437f-b828-cddd56eb2d2c": "Rotate an API key",
}

_COVERED: dict[str, list[str]] = {}


def covers(*names: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Mark a test as running the documented workflows with these ``name:``s."""

    def mark(test: Callable[..., None]) -> Callable[..., None]:
        for name in names:
            _COVERED.setdefault(name, []).append(test.__name__)
        return test

    return mark


def marker(prompt_id: str) -> str:
    return f"<!-- 2027-eval-comment:{prompt_id} -->"


def slug(title: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-")


def webhook(name: str) -> dict[str, Any]:
    """A real webhook example payload (tests/data/github/webhooks), rewritten to our repository."""
    data = json.loads((WEBHOOKS / f"{name}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    data["repository"]["full_name"] = REPOSITORY
    data["repository"]["name"] = REPO
    data["repository"]["owner"]["login"] = OWNER
    return data


def pull_request_event(
    *, action: str = "opened", fork: bool = False, label: str | None = None
) -> dict[str, Any]:
    source = "pull_request.labeled" if label else f"pull_request.{action}"
    event = webhook(source)
    pull = event["pull_request"]
    event["number"] = pull["number"] = PR
    pull["head"]["sha"] = HEAD_SHA
    pull["base"]["repo"]["full_name"] = REPOSITORY
    pull["head"]["repo"] = copy.deepcopy(pull["base"]["repo"])
    if fork:
        pull["head"]["repo"]["full_name"] = f"forker/{REPO}"
        pull["head"]["repo"]["fork"] = True
    if label:
        event["label"]["name"] = label
    return event


@dataclasses.dataclass
class Scene:
    """The fakes, the act workspace, and one way to run a documented workflow."""

    github: servers.FakeProcess
    evals: servers.FakeProcess
    workspace: harness.Workspace

    def start(
        self,
        name: str,
        *,
        event_name: str,
        event: dict[str, Any],
        secrets: dict[str, str] | None = None,
    ) -> harness.ActRun:
        return harness.start(
            workspace=self.workspace,
            workflow_text=WORKFLOWS[name].text,
            event_name=event_name,
            event=event,
            secrets={"GITHUB_TOKEN": TOKEN, "EVALS_API_KEY": API_KEY}
            if secrets is None
            else secrets,
            variables={"EVALS_API_BASE_URL": self.evals.url},
            env={"GITHUB_API_URL": self.github.url},
            repository=REPOSITORY,
        )

    def run(
        self,
        name: str,
        *,
        event_name: str,
        event: dict[str, Any],
        secrets: dict[str, str] | None = None,
    ) -> harness.ActResult:
        result = self.start(name, event_name=event_name, event=event, secrets=secrets).wait()
        assert result.leaked([TOKEN, API_KEY]) == [], "a secret reached act's log"
        return result

    def comments(self, number: int = PR) -> list[dict[str, Any]]:
        comments = self.github.state()["comments"].get(str(number), [])
        assert isinstance(comments, list)
        return comments

    def statuses(self, sha: str = HEAD_SHA) -> list[dict[str, Any]]:
        return [s for s in self.github.state()["statuses"] if s["sha"] == sha]

    def assert_no_contract_violations(self) -> None:
        assert self.github.state().get("violations", []) == []
        assert self.evals.state().get("violations", []) == []


@pytest.fixture
def scene(
    github: servers.FakeProcess, evals: servers.FakeProcess, workspace: harness.Workspace
) -> Scene:
    github.op("add_pull", number=PR, head_sha=HEAD_SHA)
    for prompt_id, title in PROMPT_TITLES.items():
        servers.seed_prompt(evals, prompt_id=prompt_id, title=title)
    return Scene(github=github, evals=evals, workspace=workspace)


def action_step_id(name: str) -> str:
    """The step id act reports for the `uses: evals-action/...` step (its index if it has no id)."""
    jobs = WORKFLOWS[name].data["jobs"]
    assert isinstance(jobs, dict)
    for job in jobs.values():
        for index, step in enumerate(job["steps"]):
            if str(step.get("uses", "")).startswith(harness.ACTION_REPOSITORY + "@"):
                return str(step.get("id", index))
    raise AssertionError(f"{name} has no {harness.ACTION_REPOSITORY} step")


def assert_succeeded(
    scene: Scene,
    result: harness.ActResult,
    *,
    name: str,
    job: str,
    preview: str,
    sha: str = HEAD_SHA,
    comment: bool = True,
) -> None:
    """The user-visible outcome of a succeeded eval of the first prompt on PR #12."""
    prompt_id, title = next(iter(PROMPT_TITLES.items()))
    assert result.job_result(job) == "success", result.log
    started = servers.started_runs(scene.evals)
    assert [run["urlMap"] for run in started] == [{"docs.example.com": preview}]
    statuses = scene.statuses(sha)
    assert [s["state"] for s in statuses] == ["pending", "success"], statuses
    assert {s["context"] for s in statuses} == {f"2027/eval/{slug(title)}"}
    ours = [c for c in scene.comments() if c["body"].startswith(marker(prompt_id))]
    if comment:
        assert len(ours) == 1, scene.comments()
        assert f"### 2027 // {title} — **Succeeded**" in ours[0]["body"]
    else:
        assert ours == []
    outputs = result.outputs(action_step_id(name))
    assert outputs["final-status"] == "completed"
    assert outputs["run-id"] in servers.polled_runs(scene.evals)
    assert f"2027 // {title}" in result.summary()
    scene.assert_no_contract_violations()


# --- the recipes, one event each --------------------------------------------------------------


@covers("Agent evals")
def test_readme_quick_start_comments_and_sets_the_status(scene: Scene) -> None:
    """README's workflow on a same-repo PR: one comment, pending→success, outputs and summary."""
    result = scene.run("Agent evals", event_name="pull_request", event=pull_request_event())
    assert_succeeded(
        scene,
        result,
        name="Agent evals",
        job="eval",
        preview=f"https://pr-{PR}.preview.example.com",
    )


@covers("Agent evals")
def test_readme_quick_start_guard_skips_fork_prs(scene: Scene) -> None:
    """README's `if:` guard: a fork PR does not even start the job; nothing is written."""
    result = scene.run(
        "Agent evals", event_name="pull_request", event=pull_request_event(fork=True)
    )
    assert result.returncode == 0, result.log
    assert servers.started_runs(scene.evals) == []
    assert scene.comments() == []
    assert scene.statuses() == []


@covers("Evals on Vercel preview")
def test_vercel_deployment_status_evaluates_the_deployed_commit(scene: Scene) -> None:
    """deployment_status success: the preview URL from the event, the status on deployment.sha."""
    event = webhook("deployment_status.created")
    preview = "https://docs-git-fix-typo-octo-org.vercel.app"
    event["deployment"]["sha"] = HEAD_SHA
    event["deployment"]["environment"] = "Preview"
    event["deployment_status"]["state"] = "success"
    event["deployment_status"]["environment_url"] = preview
    result = scene.run("Evals on Vercel preview", event_name="deployment_status", event=event)
    assert_succeeded(scene, result, name="Evals on Vercel preview", job="eval", preview=preview)


@covers("Evals on Vercel preview")
def test_vercel_in_progress_deployment_runs_nothing(scene: Scene) -> None:
    """An in-progress deployment_status skips the job: no eval, no comment, no status."""
    event = webhook("deployment_status.created.in_progress")
    event["deployment"]["environment"] = "Preview"
    result = scene.run("Evals on Vercel preview", event_name="deployment_status", event=event)
    assert result.returncode == 0, result.log
    assert servers.started_runs(scene.evals) == []
    assert scene.comments() == []
    assert scene.statuses() == []


@covers("Evals on Netlify deploy preview")
def test_netlify_status_evaluates_the_payload_sha_not_github_sha(scene: Scene) -> None:
    """deploy/netlify status: our status goes on the payload's sha, not GITHUB_SHA (main)."""
    event = webhook("status.event")
    preview = "https://deploy-preview-12--docs-site.netlify.app"
    event.update(sha=HEAD_SHA, context="deploy/netlify", state="success", target_url=preview)
    result = scene.run("Evals on Netlify deploy preview", event_name="status", event=event)
    assert_succeeded(
        scene, result, name="Evals on Netlify deploy preview", job="eval", preview=preview
    )


@covers("Evals after deploy")
def test_after_deploy_reads_the_deploy_steps_output(scene: Scene) -> None:
    """The deploy step's `url` output reaches url-map; the checkout stand-in ran without creds."""
    result = scene.run("Evals after deploy", event_name="pull_request", event=pull_request_event())
    assert_succeeded(
        scene,
        result,
        name="Evals after deploy",
        job="deploy-and-eval",
        preview=f"https://pr-{PR}.preview.example.com",
    )
    assert "persist-credentials=false" in scene.workspace.standin_log.read_text()


@covers("Evals after deploy")
def test_fork_pr_on_pull_request_is_skipped_cleanly(scene: Scene) -> None:
    """A fork PR on pull_request: warning, final-status=skipped, job green, nothing written.
    As on GitHub, the fork's run gets no secrets (the api-key input is empty)."""
    result = scene.run(
        "Evals after deploy",
        event_name="pull_request",
        event=pull_request_event(fork=True),
        secrets={"GITHUB_TOKEN": TOKEN},
    )
    assert result.job_result("deploy-and-eval") == "success", result.log
    assert result.outputs(action_step_id("Evals after deploy"))["final-status"] == "skipped"
    assert "PR is from a fork" in result.log
    assert servers.started_runs(scene.evals) == []
    assert scene.comments() == []
    assert scene.statuses() == []


@covers("Evals on label")
def test_label_run_evals_starts_the_eval(scene: Scene) -> None:
    """Adding the run-evals label evaluates the PR."""
    event = pull_request_event(label="run-evals")
    result = scene.run("Evals on label", event_name="pull_request", event=event)
    assert_succeeded(
        scene,
        result,
        name="Evals on label",
        job="eval",
        preview=f"https://pr-{PR}.preview.example.com",
    )


@covers("Evals on label")
def test_other_labels_run_nothing(scene: Scene) -> None:
    """Any other label skips the job."""
    event = pull_request_event(label="documentation")
    result = scene.run("Evals on label", event_name="pull_request", event=event)
    assert result.returncode == 0, result.log
    assert servers.started_runs(scene.evals) == []
    assert scene.statuses() == []


def comment_event(*, body: str, association: str = "MEMBER") -> dict[str, Any]:
    event = webhook("issue_comment.created")
    event["issue"]["number"] = PR
    event["issue"]["pull_request"] = {
        "url": f"https://api.github.com/repos/{REPOSITORY}/pulls/{PR}",
        "html_url": f"https://github.com/{REPOSITORY}/pull/{PR}",
    }
    event["comment"]["body"] = body
    event["comment"]["author_association"] = association
    return event


@covers("Evals on /eval comment")
def test_eval_comment_by_a_member_evaluates_the_prs_head(scene: Scene) -> None:
    """`/eval` from a member: the head commit is read from the API and gets the status."""
    result = scene.run(
        "Evals on /eval comment", event_name="issue_comment", event=comment_event(body="/eval")
    )
    assert_succeeded(
        scene,
        result,
        name="Evals on /eval comment",
        job="eval",
        preview=f"https://pr-{PR}.preview.example.com",
    )


@covers("Evals on /eval comment")
def test_eval_comment_by_a_stranger_runs_nothing(scene: Scene) -> None:
    """`/eval` from someone without write access is ignored by the `if:`."""
    event = comment_event(body="/eval", association="NONE")
    result = scene.run("Evals on /eval comment", event_name="issue_comment", event=event)
    assert result.returncode == 0, result.log
    assert servers.started_runs(scene.evals) == []
    assert scene.statuses() == []


@covers("Evals with your own comment")
def test_own_comment_is_rendered_from_the_outputs(scene: Scene) -> None:
    """skip-comment: no sticky comment; a later step builds one from the outputs."""
    name = "Evals with your own comment"
    result = scene.run(name, event_name="pull_request", event=pull_request_event())
    assert_succeeded(
        scene,
        result,
        name=name,
        job="eval",
        preview=f"https://pr-{PR}.preview.example.com",
        comment=False,
    )
    outputs = result.outputs("eval")
    bodies = [c["body"] for c in scene.comments() if c["body"].startswith("<!-- my-evals -->")]
    title = next(iter(PROMPT_TITLES.values()))
    assert bodies == [
        f"<!-- my-evals -->\n\n**{title}**: completed\n\n"
        f"Score {outputs['score']}/100 {outputs['grade']} (main: {outputs['baseline-score']})\n\n"
        f"[Details]({outputs['report-url']})"
    ]


@covers("Evals with your own comment")
def test_own_comment_follows_a_failed_eval(scene: Scene) -> None:
    """A failed eval fails the job (exit 1, status error) and the own-comment step still reports."""
    name = "Evals with your own comment"
    prompt_id = next(iter(PROMPT_TITLES))
    servers.seed_prompt(
        scene.evals, prompt_id=prompt_id, title=PROMPT_TITLES[prompt_id], fail="agent crashed"
    )
    result = scene.run(name, event_name="pull_request", event=pull_request_event())
    assert result.job_result("eval") == "failure", result.log
    assert [s["state"] for s in scene.statuses()] == ["pending", "error"]
    assert scene.statuses()[-1]["description"] == "agent crashed"
    assert result.outputs("eval")["final-status"] == "failed"
    bodies = [c["body"] for c in scene.comments()]
    assert len(bodies) == 1
    assert "failed" in bodies[0]


@covers("Evals across prompts")
def test_matrix_gives_each_prompt_one_comment_and_one_status(scene: Scene) -> None:
    """Three prompts: three comments, three status contexts, each pending→success, no duplicates."""
    result = scene.run(
        "Evals across prompts", event_name="pull_request", event=pull_request_event()
    )
    assert sorted(r for _, _, r in result.job_results()) == ["success"] * 3, result.log
    assert sorted(run["promptId"] for run in servers.started_runs(scene.evals)) == sorted(
        PROMPT_TITLES
    )
    comments = scene.comments()
    assert sorted(c["body"].splitlines()[0] for c in comments) == sorted(
        marker(p) for p in PROMPT_TITLES
    )
    by_context: dict[str, list[str]] = {}
    for status in scene.statuses():
        by_context.setdefault(status["context"], []).append(status["state"])
    assert by_context == {
        f"2027/eval/{slug(title)}": ["pending", "success"] for title in PROMPT_TITLES.values()
    }
    scene.assert_no_contract_violations()


@covers("Evals for fork PRs")
def test_fork_pr_on_pull_request_target_is_evaluated(scene: Scene) -> None:
    """pull_request_target: a fork PR gets its eval, comment and status on the head commit."""
    result = scene.run(
        "Evals for fork PRs", event_name="pull_request_target", event=pull_request_event(fork=True)
    )
    assert_succeeded(
        scene,
        result,
        name="Evals for fork PRs",
        job="eval",
        preview=f"https://pr-{PR}.preview.example.com",
    )


@covers("Evals for fork PRs")
def test_same_repo_pr_on_pull_request_target_is_left_to_the_pull_request_workflow(
    scene: Scene,
) -> None:
    """The recipe's `if:` runs only for forks, so a same-repo PR is not evaluated twice."""
    result = scene.run(
        "Evals for fork PRs", event_name="pull_request_target", event=pull_request_event()
    )
    assert result.returncode == 0, result.log
    assert servers.started_runs(scene.evals) == []
    assert scene.statuses() == []


@covers("Agent evals")
def test_cancelled_mid_poll_ends_in_error_not_pending(scene: Scene) -> None:
    """The runner's cancel (SIGINT to the step) while polling: status `error`, job failed."""
    prompt_id = next(iter(PROMPT_TITLES))
    servers.seed_prompt(
        scene.evals, prompt_id=prompt_id, title=PROMPT_TITLES[prompt_id], never_finish=True
    )
    run = scene.start("Agent evals", event_name="pull_request", event=pull_request_event())
    harness.wait_for(
        lambda: [s["state"] for s in scene.statuses()] == ["pending"],
        timeout=120,
        what="the pending status (the action is now polling)",
    )
    run.signal_step(contains="scripts/run-action.py", signum=signal.SIGINT)
    result = run.wait()
    assert result.leaked([TOKEN, API_KEY]) == []
    assert result.job_result("eval") == "failure", result.log
    statuses = scene.statuses()
    assert [s["state"] for s in statuses] == ["pending", "error"], statuses
    assert statuses[-1]["description"] == "Eval cancelled"


def test_every_doc_workflow_has_a_case() -> None:
    """Each documented workflow is run by at least one test (keyed by its `name:`), here or in
    another e2e module (imported so its `@covers` count when this file runs alone)."""
    for module in sorted(pathlib.Path(__file__).parent.glob("test_*.py")):
        importlib.import_module(f"{__package__}.{module.stem}")
    untested = sorted(set(WORKFLOWS) - set(_COVERED))
    assert untested == [], f"documented workflows without an e2e test: {untested}"
    stale = sorted(set(_COVERED) - set(WORKFLOWS))
    assert stale == [], f"tests name workflows that are no longer documented: {stale}"
    assert len(WORKFLOWS) >= 8
