"""Verdicts, baselines, adaptive runs, gates and the budget (suites-contract §3–§5, issue 11)
through the real CLI against the loopback fakes. The baseline is what the fake lists."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from tests.fakes.evals import DEFAULT_REPORT, FakeEvals
from tests.fakes.github import FakeGitHub
from tests.integration import helpers as h
from tests.integration.test_suite import run, seed, valid

DNF = {**DEFAULT_REPORT, "outcome": "failed", "score": 20, "grade": "F"}


def published(prompt_id: str, *, succeeded: bool, count: int, pr: int | None = None) -> list[Any]:
    report = DEFAULT_REPORT if succeeded else DNF
    context = {"repository": "octo-org/octo-repo", "pullRequest": pr, "sha": "f" * 40}
    return [{"promptId": prompt_id, "report": report, "context": context}] * count


def started(fake: FakeEvals, prompt_id: str) -> list[int]:
    """The attempts the fake saw started for the prompt, in order."""
    return [r["body"]["context"]["attempt"] for r in fake.runs if r["promptId"] == prompt_id]


def errors(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith("::error")]


# p-beta's baseline: half of its ten published runs passed
SPLIT_BETA = (
    published("p-beta", succeeded=True, count=5),
    published("p-beta", succeeded=False, count=5),
)


def seeded(fake_github: FakeGitHub, fake_evals: FakeEvals, *baselines: list[Any]) -> None:
    """The suite tests' PR and prompts, and these published runs as the baseline listing."""
    seed(fake_github, fake_evals)
    for runs in baselines:
        fake_evals.add_baseline_runs(runs)


def test_a_regression_gate_trips_fails_the_status_and_exits_1(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seeded(
        fake_github,
        fake_evals,
        published("p-alpha", succeeded=True, count=10),
        published("p-beta", succeeded=True, count=10),
    )
    fake_evals.script("p-alpha", [{"status": "completed", "report": DNF}])
    result = run(
        tmp_path,
        fake_github,
        fake_evals,
        EVALS_PROMPT_ID="p-alpha,p-beta",
        EVALS_REPEATS="3",
        EVALS_FAIL_ON_REGRESSION="true",
    )
    assert result.code == 1, result.log
    # exactly one ::error:: for the one tripped prompt, with its numbers
    assert errors(result.stdout) == [
        '::error title=evals-action::Gate failed for "Alpha checkout": '
        "verdict regressed (0/3 passed)"
    ]
    assert result.outputs["gates"] == "failed"
    assert result.outputs["verdict"] == "regressed"
    finals = {s["context"]: s for s in fake_github.statuses(h.HEAD_SHA) if s["state"] != "pending"}
    assert finals["2027/eval/alpha-checkout"]["state"] == "failure"
    assert finals["2027/eval/alpha-checkout"]["description"] == "0/3 passed · mean 20 · regressed"
    assert finals["2027/eval/beta-signup"]["state"] == "success"
    assert finals["2027/eval/beta-signup"]["description"] == "3/3 passed · mean 87 · unchanged"
    doc = valid(result.outputs["results-json"])
    alpha, beta = doc["prompts"]
    assert alpha["verdict"] == "regressed"
    assert alpha["gates"] == ["verdict regressed (0/3 passed)"]
    assert alpha["baseline"] == {"runs": 10, "passRate": 1.0, "meanScore": 87.0}
    assert beta["gates"] == []
    body = fake_github.comments(h.PR)[0]["body"]
    assert "0/3 passed (0.00–0.56) · mean 20 ▼ −67 vs 87 (10 runs) · regressed" in body
    assert "0/3 passed against 10/10 in the baseline is a significant drop" in body


def test_without_the_gate_the_same_regression_exits_0(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seeded(fake_github, fake_evals, published("p-alpha", succeeded=True, count=10))
    fake_evals.script("p-alpha", [{"status": "completed", "report": DNF}])
    result = run(tmp_path, fake_github, fake_evals, EVALS_PROMPT_ID="p-alpha", EVALS_REPEATS="3")
    assert result.code == 0, result.log
    assert result.outputs["verdict"] == "regressed"
    assert result.outputs["gates"] == "none"
    assert errors(result.stdout) == []


def test_only_the_inconclusive_prompt_gets_extra_runs(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    # p-beta: half its baseline passed; its runs all pass, so 2/2 vs 5/10 cannot be told apart
    seeded(fake_github, fake_evals, published("p-alpha", succeeded=True, count=10), *SPLIT_BETA)
    result = run(
        tmp_path,
        fake_github,
        fake_evals,
        EVALS_PROMPT_ID="p-alpha,p-beta",
        EVALS_REPEATS="2",
        EVALS_MAX_REPEATS="5",
    )
    assert result.code == 0, result.log
    assert started(fake_evals, "p-alpha") == [1, 2]  # unchanged after its two runs
    # inconclusive at 2, 3 and 4 runs; at 5 (max-repeats) 5/5 vs 5/10 is a significant rise
    assert started(fake_evals, "p-beta") == [1, 2, 3, 4, 5]
    doc = valid(result.outputs["results-json"])
    assert [p["verdict"] for p in doc["prompts"]] == ["unchanged", "improved"]
    assert [len(p["runs"]) for p in doc["prompts"]] == [2, 5]
    assert result.outputs["verdict"] == "unchanged"
    assert result.outputs["budget-exhausted"] == "false"


def test_the_budget_stops_the_extra_runs_and_the_comment_says_so(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seeded(fake_github, fake_evals, published("p-alpha", succeeded=True, count=10), *SPLIT_BETA)
    result = run(
        tmp_path,
        fake_github,
        fake_evals,
        EVALS_PROMPT_ID="p-alpha,p-beta",
        EVALS_REPEATS="2",
        EVALS_MAX_REPEATS="5",
        EVALS_BUDGET_USD="0.5",
    )
    assert result.code == 0, result.log
    # 0.12 a run: four planned runs cost 0.48; p-beta's third brings it to 0.60 ≥ 0.50
    assert started(fake_evals, "p-alpha") == [1, 2]
    assert started(fake_evals, "p-beta") == [1, 2, 3]
    assert result.outputs["budget-exhausted"] == "true"
    line = "Budget reached after 5 of 6 runs"
    assert line in result.summary
    assert line in fake_github.comments(h.PR)[0]["body"]
    doc = valid(result.outputs["results-json"])
    assert [r["status"] for r in doc["prompts"][1]["runs"]][2:] == ["succeeded", "not-run"]
    assert doc["prompts"][1]["verdict"] == "inconclusive"


@pytest.mark.parametrize("fake_evals", [{"suites": True}], indirect=True)
def test_runs_from_pull_requests_are_not_a_baseline_with_our_server(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    # newest first: ten DNF runs from a pull request, then ten passing default-branch runs
    seeded(
        fake_github,
        fake_evals,
        published("p-alpha", succeeded=False, count=10, pr=7),
        published("p-alpha", succeeded=True, count=10),
    )
    result = run(tmp_path, fake_github, fake_evals, EVALS_PROMPT_ID="p-alpha", EVALS_REPEATS="3")
    assert result.code == 0, result.log
    listings = [r for r in fake_evals.requests if r.method == "GET" and r.path == "/api/v1/runs"]
    assert [r.query.get("branch") for r in listings] == ["default"]
    doc = valid(result.outputs["results-json"])
    assert doc["prompts"][0]["baseline"] == {"runs": 10, "passRate": 1.0, "meanScore": 87.0}
    assert doc["prompts"][0]["verdict"] == "unchanged"


def test_the_managed_service_is_not_asked_for_a_branch(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seeded(fake_github, fake_evals, published("p-alpha", succeeded=True, count=12))
    result = run(
        tmp_path,
        fake_github,
        fake_evals,
        EVALS_PROMPT_ID="p-alpha",
        EVALS_REPEATS="2",
        EVALS_BASELINE_RUNS="4",
    )
    assert result.code == 0, result.log
    listings = [r for r in fake_evals.requests if r.method == "GET" and r.path == "/api/v1/runs"]
    assert [r.query.get("branch") for r in listings] == [None]
    doc = valid(result.outputs["results-json"])
    # this step's own two published runs are listed first and left out; four prior runs remain
    assert doc["prompts"][0]["baseline"] == {"runs": 4, "passRate": 1.0, "meanScore": 87.0}
