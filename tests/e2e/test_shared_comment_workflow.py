"""The "Many prompts, one comment" recipe (docs/recipes.md) through act, its matrix legs run as
three act processes started together against the same fakes, as GitHub runs a matrix.

The fakes' gates make the overlap certain rather than likely: each leg's first read of its run is
held at the fake evals API until all three legs are holding one, so all three are in flight at
once and then write the shared comment together. The second case holds a leg for an older commit
while the PR moves on and the newer commit's legs finish; released, the old leg finishes last
and must not overwrite the newer sections.
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from evals_action import suite_comment, suite_sections

from . import harness, servers
from .test_docs_workflows import (
    API_KEY,
    HEAD_SHA,
    PR,
    PROMPT_TITLES,
    REPOSITORY,
    TOKEN,
    WORKFLOWS,
    Scene,
    covers,
    pull_request_event,
    slug,
)

pytestmark = [pytest.mark.e2e]

NAME = "Evals with one shared comment"
KEY = "pr-evals"
OLD_SHA = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
RUN_READ = r"/api/v1/runs/[^/]+$"


@pytest.fixture
def scene(
    github: servers.FakeProcess, evals: servers.FakeProcess, workspace: harness.Workspace
) -> Scene:
    """The PR on its head commit and the three prompts, as for the other recipes."""
    github.op("add_pull", number=PR, head_sha=HEAD_SHA)
    for prompt_id, title in PROMPT_TITLES.items():
        servers.seed_prompt(evals, prompt_id=prompt_id, title=title)
    return Scene(github=github, evals=evals, workspace=workspace)


def set_gate(fake: servers.FakeProcess) -> int:
    """Hold the next read of a run at the fake evals API; returns the gate's id."""
    gate_id = fake.op("gate", method="GET", path_pattern=RUN_READ)["result"]
    assert isinstance(gate_id, int)
    return gate_id


def start_leg(scene: Scene, tmp: pathlib.Path, prompt_id: str, *, sha: str) -> harness.ActRun:
    """One matrix leg in its own act process and workspace."""
    root = tmp / f"leg-{sha[:7]}-{prompt_id[:8]}"
    root.mkdir()
    workspace = harness.Workspace(
        root=root, action_dir=scene.workspace.action_dir, cache_dir=scene.workspace.cache_dir
    )
    event = pull_request_event()
    event["pull_request"]["head"]["sha"] = sha
    return harness.start(
        workspace=workspace,
        workflow_text=WORKFLOWS[NAME].text,
        event_name="pull_request",
        event=event,
        secrets={"GITHUB_TOKEN": TOKEN, "EVALS_API_KEY": API_KEY},
        variables={"EVALS_API_BASE_URL": scene.evals.url},
        env={"GITHUB_API_URL": scene.github.url},
        repository=REPOSITORY,
        matrix={"prompt-id": prompt_id},
    )


def check(result: harness.ActResult) -> None:
    assert result.leaked([TOKEN, API_KEY]) == [], "a secret reached act's log"
    assert [r for _, _, r in result.job_results()] == ["success"], result.log


def gate_arrived(fake: servers.FakeProcess, gate_id: int) -> bool:
    gates: list[dict[str, Any]] = fake.state()["gates"]
    return bool(gates[gate_id - 1]["arrived"])


def shared_comment(scene: Scene) -> dict[str, suite_sections.Section]:
    """The one comment on the PR, the key's, as its sections by prompt id."""
    comments = scene.comments()
    assert len(comments) == 1, comments
    body = comments[0]["body"]
    assert suite_comment.is_ours(body, comment_key=KEY), body
    return {s.prompt_id: s for s in suite_sections.parse(body)}


def run_legs_together(scene: Scene, tmp: pathlib.Path, *, sha: str) -> None:
    gates = [set_gate(scene.evals) for _ in PROMPT_TITLES]
    runs = [start_leg(scene, tmp, prompt_id, sha=sha) for prompt_id in PROMPT_TITLES]
    try:
        for gate_id in gates:  # every leg is holding a started run: all three are in flight
            harness.wait_for(
                lambda g=gate_id: gate_arrived(scene.evals, g), timeout=180, what="legs"
            )
    finally:
        for gate_id in gates:
            scene.evals.op("release_gate", gate_id=gate_id)
        results = [run.wait() for run in runs]  # every act process ends, even on a failure
    for result in results:
        check(result)


@covers(NAME)
def test_three_concurrent_legs_share_one_comment(scene: Scene, tmp_path: pathlib.Path) -> None:
    """Three legs in flight at once: one comment, three sections, a row each, three statuses."""
    run_legs_together(scene, tmp_path, sha=HEAD_SHA)
    sections = shared_comment(scene)
    assert sorted(sections) == sorted(PROMPT_TITLES)
    assert {s.sha for s in sections.values()} == {HEAD_SHA}
    body = scene.comments()[0]["body"]
    for prompt_id, title in PROMPT_TITLES.items():
        assert sections[prompt_id].row.startswith(f"| {title} | 1/1 passed (")
        assert sections[prompt_id].row in body.split("\n\n")[1]  # the summary table
    contexts = {s["context"] for s in scene.statuses() if s["state"] == "success"}
    assert contexts == {f"2027/eval/{slug(t)}" for t in PROMPT_TITLES.values()}
    scene.assert_no_contract_violations()


@covers(NAME)
def test_old_commits_leg_finishing_late_does_not_overwrite(
    scene: Scene, tmp_path: pathlib.Path
) -> None:
    """A leg for an older commit is held mid-run; the PR moves to a new head whose three legs
    finish; the old leg then finishes last and the head's sections stay as they were."""
    first = next(iter(PROMPT_TITLES))
    scene.github.op("add_pull", number=PR, head_sha=OLD_SHA)
    held = set_gate(scene.evals)
    old = start_leg(scene, tmp_path, first, sha=OLD_SHA)
    try:
        harness.wait_for(lambda: gate_arrived(scene.evals, held), timeout=180, what="old leg")
        scene.github.op("add_pull", number=PR, head_sha=HEAD_SHA)
        run_legs_together(scene, tmp_path, sha=HEAD_SHA)
        before = shared_comment(scene)
        assert {s.sha for s in before.values()} == {HEAD_SHA}
    finally:
        scene.evals.op("release_gate", gate_id=held)
        finished = old.wait()  # the old leg finishes last
    check(finished)
    assert shared_comment(scene) == before
    scene.assert_no_contract_violations()
