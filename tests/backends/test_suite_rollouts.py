"""A suite (several prompts, repeats) through the rollout backends, `evals-action run --local`."""

from __future__ import annotations

import json
import pathlib

import jsonschema

from evals_action.suite import results
from tests.fakes.github import FakeGitHub

from . import servers
from .test_cli_rollouts import RESULT
from .test_cli_rollouts import fake as fake  # noqa: F401  (the fixture)
from .test_cli_rollouts import run_cli as run_workflow_cli
from .test_remote_outcomes_cli import run_cli as run_remote_cli


def _document(output: str) -> dict[str, object]:
    line = next(x for x in output.splitlines() if x.startswith("results-json: "))
    data: dict[str, object] = json.loads(line.removeprefix("results-json: "))
    jsonschema.validate(data, json.loads(results.SCHEMA_PATH.read_text(encoding="utf-8")))
    return data


def test_a_suite_through_the_remote_backend(
    service: servers.RolloutService, prompt_file: pathlib.Path
) -> None:
    service.default_answer = {"terminated": True, "status": {"code": 0, "message": "done"}}
    code, output = run_remote_cli(
        service,
        prompt_file,
        EVALS_PROMPT_ID="prompt-a,prompt-b",
        EVALS_REPEATS="2",
        EVALS_ROLLOUT_ID="",
    )
    assert code == 0, output
    assert len(service.inits) == 4
    assert len({i["metadata"]["rollout_id"] for i in service.inits}) == 4
    doc = _document(output)
    assert [len(p["runs"]) for p in doc["prompts"]] == [2, 2]  # type: ignore[index, union-attr]
    assert output.count("Status: ") >= 2


def test_a_suite_through_the_github_workflow_backend(
    fake: FakeGitHub,  # noqa: F811
    prompt_file: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    fake.add_workflow(
        workflow_id="rollout.yml",
        numeric_id=7,
        repo_full_name="octo/agents",
        artifact_files={"rollout-result.json": json.dumps(RESULT)},
    )
    output = run_workflow_cli(
        fake=fake, prompt_file=prompt_file, cwd=tmp_path, EVALS_PROMPT_ID="prompt-a,prompt-b"
    )
    assert len(fake.workflow_runs()) == 2
    doc = _document(output)
    statuses = [r["status"] for p in doc["prompts"] for r in p["runs"]]  # type: ignore[union-attr]
    assert statuses == ["dnf", "dnf"]
    # one prompt file, one title: the second prompt's status takes its id, never the same context
    finals = {
        line.split("'")[1]
        for line in output.splitlines()
        if line.startswith("Status: failure '") and "Did not finish" in line
    }
    assert len(finals) == 2
    assert "2027/eval/checkout-works" in finals
    assert finals & {"2027/eval/prompt-a", "2027/eval/prompt-b"}
    assert "final-status: completed" in output
