"""Suites (suites-contract §1, §2, §4, §5) through the real CLI against the loopback fakes."""

from __future__ import annotations

import json
import pathlib
import xml.etree.ElementTree as ET
from typing import Any

import jsonschema
import pytest

from evals_action.suite import results
from tests.fakes.evals import DEFAULT_API_KEY, DEFAULT_REPORT, ECHO_API_KEY, FakeEvals, Fault
from tests.fakes.github import FakeGitHub
from tests.integration import helpers as h

PROMPTS = {"p-alpha": "Alpha checkout", "p-beta": "Beta signup", "p-gamma": "Gamma search"}
IDS = "\n".join(PROMPTS)


def _schema() -> dict[str, Any]:
    return json.loads(results.SCHEMA_PATH.read_text(encoding="utf-8"))


def valid(document: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(document)
    jsonschema.validate(data, _schema())
    return data


def seed(github: FakeGitHub | None, evals: FakeEvals) -> None:
    h.seed(github, None)
    for prompt_id, title in PROMPTS.items():
        evals.add_prompt(prompt_id=prompt_id, title=title, text="Open {{url}}.")


def run(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals, **env: str
) -> h.Result:
    """The real CLI with these inputs; it never ends in a traceback."""
    result = h.run_cli(h.environment(tmp_path, fake_github, fake_evals, **env))
    h.no_traceback(result)
    return result


def overlaps(runs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Pairs of runs of the same prompt that were in flight at the same time."""
    found = []
    for a in runs:
        for b in runs:
            same = a is not b and a["promptId"] == b["promptId"]
            ended = a["finishedT"] if a["finishedT"] is not None else float("inf")
            if same and a["createdT"] < b["createdT"] < ended:
                found.append((a["runId"], b["runId"]))
    return found


@pytest.mark.parametrize("fake_evals", [{"run_seconds": 0.3}], indirect=True)
def test_three_prompts_three_repeats_one_comment_three_statuses(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    result = run(
        tmp_path,
        fake_github,
        fake_evals,
        EVALS_PROMPT_ID=IDS,
        EVALS_REPEATS="3",
        EVALS_CONCURRENCY="4",
        EVALS_RESULTS_FILE=str(tmp_path / "results.json"),
        EVALS_JUNIT_FILE=str(tmp_path / "junit.xml"),
    )
    assert result.code == 0, result.log
    runs = fake_evals.runs
    assert len(runs) == 9
    # Every start carries the contract's context plus one suite id and 1-based attempts.
    contexts = [r["body"]["context"] for r in runs]
    assert len({c["suite"] for c in contexts}) == 1
    for prompt_id in PROMPTS:
        mine = [r["body"]["context"]["attempt"] for r in runs if r["promptId"] == prompt_id]
        assert sorted(mine) == [1, 2, 3]
    assert all(c["pullRequest"] == h.PR and c["sha"] == h.HEAD_SHA for c in contexts)
    # The fake does not advertise X-Evals-Suites: runs of one prompt never overlap.
    assert overlaps(runs) == []
    # ... while runs of different prompts did run at the same time.
    assert max(r["createdT"] for r in runs[:3]) < min(r["finishedT"] for r in runs[:3])
    comments = fake_github.comments(h.PR)
    assert len(comments) == 1
    assert comments[0]["body"].startswith("<!-- 2027-eval-suite:evals/eval -->\n")
    finals = [s for s in fake_github.statuses(h.HEAD_SHA) if s["state"] != "pending"]
    assert sorted(s["context"] for s in finals) == [
        "2027/eval/alpha-checkout",
        "2027/eval/beta-signup",
        "2027/eval/gamma-search",
    ]
    assert {s["description"] for s in finals} == {"3/3 passed · mean 87 · no-baseline"}
    doc = valid(result.outputs["results-json"])
    assert doc == valid((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert [p["sample"]["passes"] for p in doc["prompts"]] == [3, 3, 3]
    assert doc["totalCostUsd"] == pytest.approx(9 * 0.12)
    assert result.outputs["final-status"] == "completed"
    assert result.outputs["run-id"] == ""
    assert result.outputs["score"] == ""
    assert result.outputs["verdict"] == "no-baseline"
    assert result.outputs["gates"] == "none"
    assert result.outputs["budget-exhausted"] == "false"
    junit = ET.parse(tmp_path / "junit.xml").getroot()  # noqa: S314  (our own file)
    cases = junit.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == list(PROMPTS.values())
    assert all(len(c.findall("./properties/property")) == 2 + 3 for c in cases)
    assert junit.findall(".//failure") == []
    assert "| Alpha checkout | 3/3 passed (0.44–1.00) | 87 | no-baseline | 3 |" in result.summary


@pytest.mark.parametrize("fake_evals", [{"run_seconds": 0.3, "suites": True}], indirect=True)
def test_runs_of_one_prompt_overlap_when_the_server_advertises_it(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    result = run(tmp_path, fake_github, fake_evals, EVALS_PROMPT_ID="p-alpha", EVALS_REPEATS="3")
    assert result.code == 0, result.log
    assert len(fake_evals.runs) == 3
    assert overlaps(fake_evals.runs) != []


def test_a_failed_run_is_retried_once_as_a_new_attempt(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    fake_evals.script("p-beta", [{"status": "failed", "failureReason": "sandbox crashed"}])
    result = run(
        tmp_path, fake_github, fake_evals, EVALS_PROMPT_ID="p-alpha,p-beta", EVALS_REPEATS="2"
    )
    beta = [r for r in fake_evals.runs if r["promptId"] == "p-beta"]
    # two planned runs, each retried once: four attempts, never a fifth
    assert sorted(r["body"]["context"]["attempt"] for r in beta) == [1, 2, 3, 4]
    doc = valid(result.outputs["results-json"])
    beta_doc = doc["prompts"][1]
    assert [r["status"] for r in beta_doc["runs"]] == ["failed"] * 4
    assert beta_doc["sample"]["completed"] == 0
    # every run of a prompt failed: its status is error and the step exits 1
    assert result.code == 1
    states = {s["context"]: s["state"] for s in fake_github.statuses(h.HEAD_SHA)}
    assert states["2027/eval/beta-signup"] == "error"
    assert states["2027/eval/alpha-checkout"] == "success"


@pytest.mark.parametrize("fake_evals", [{"run_seconds": 600}], indirect=True)
def test_the_deadline_cuts_the_suite(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    result = run(
        tmp_path,
        fake_github,
        fake_evals,
        EVALS_PROMPT_ID="p-alpha,p-beta",
        EVALS_REPEATS="2",
        EVALS_WAIT_TIMEOUT_MINUTES="0.02",
    )
    assert result.code == 0, result.log
    doc = valid(result.outputs["results-json"])
    for prompt in doc["prompts"]:
        # the first run of each prompt timed out; the second never started
        assert [r["status"] for r in prompt["runs"]] == ["timeout", "not-run"]
        assert prompt["runs"][1]["runId"] is None
    assert len(fake_evals.runs) == 2
    assert result.outputs["final-status"] == "running"
    assert all(s["state"] != "pending" for s in _finals(fake_github))


def test_budget_stops_new_runs(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    result = run(
        tmp_path,
        fake_github,
        fake_evals,
        EVALS_PROMPT_ID="p-alpha",
        EVALS_REPEATS="5",
        EVALS_BUDGET_USD="0.3",
    )
    assert result.code == 0, result.log
    # 0.12 a run: the third brings the cost to 0.36 ≥ 0.30, so no fourth starts
    assert len(fake_evals.runs) == 3
    assert result.outputs["budget-exhausted"] == "true"
    assert float(result.outputs["total-cost-usd"]) == pytest.approx(0.36)
    assert "Budget reached after 3 of 5 runs" in result.summary
    assert "Budget reached after 3 of 5 runs" in fake_github.comments(h.PR)[0]["body"]
    doc = valid(result.outputs["results-json"])
    assert doc["budgetExhausted"] is True
    assert [r["status"] for r in doc["prompts"][0]["runs"]][3:] == ["not-run", "not-run"]


def test_status_context_gives_one_status_with_the_worst_state(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    dnf = {**DEFAULT_REPORT, "outcome": "failed", "keyFinding": "stuck on login"}
    fake_evals.script("p-gamma", [{"status": "completed", "report": dnf}])
    result = run(
        tmp_path, fake_github, fake_evals, EVALS_PROMPT_ID=IDS, EVALS_STATUS_CONTEXT="evals/all"
    )
    assert result.code == 0, result.log
    statuses = fake_github.statuses(h.HEAD_SHA)
    assert {s["context"] for s in statuses} == {"evals/all"}
    assert [s["state"] for s in _finals(fake_github)] == ["failure"]


def _finals(github: FakeGitHub) -> list[dict[str, Any]]:
    """The newest status per context."""
    newest: dict[str, dict[str, Any]] = {}
    for s in github.statuses(h.HEAD_SHA):
        newest[s["context"]] = s
    return list(newest.values())


def test_local_prints_every_status_the_comment_and_the_outputs(
    tmp_path: pathlib.Path, fake_evals: FakeEvals
) -> None:
    seed(None, fake_evals)
    env = h.environment(
        tmp_path, None, fake_evals, EVALS_PROMPT_ID="p-alpha,p-beta", EVALS_REPEATS="2"
    )
    result = h.run_cli(env, "--local")
    assert result.code == 0, result.log
    assert "Status: success '2027/eval/alpha-checkout': 2/2 passed · mean 87" in result.log
    assert "Status: success '2027/eval/beta-signup': 2/2 passed · mean 87" in result.log
    assert "<!-- 2027-eval-suite:evals/eval -->" in result.log
    line = next(x for x in result.log.splitlines() if x.startswith("results-json: "))
    valid(line.removeprefix("results-json: "))


def test_dry_run_shows_the_plan_and_sends_nothing(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    env = h.environment(tmp_path, fake_github, fake_evals, EVALS_PROMPT_ID=IDS, EVALS_REPEATS="3")
    result = h.run_cli(env, "--dry-run")
    assert result.code == 0, result.log
    assert "Suite: 3 prompt(s) × 3 run(s) = 9 runs, up to 4 at once" in result.log
    assert result.log.count('"attempt": 1') == 3
    assert fake_evals.runs == []
    assert [r for r in fake_github.requests if r.method != "GET"] == []


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"EVALS_PROMPT_ID": "a,b,a"}, "prompt-id lists 'a' more than once"),
        ({"EVALS_REPEATS": "0"}, "repeats must be a whole number from 1 to 50 (got '0')"),
        ({"EVALS_REPEATS": "3", "EVALS_MAX_REPEATS": "2"}, "max-repeats must be at least"),
        ({"EVALS_CONCURRENCY": "33"}, "concurrency must be a whole number from 1 to 32"),
        ({"EVALS_BASELINE_RUNS": "x"}, "baseline-runs must be a whole number from 1 to 100"),
        ({"EVALS_MIN_SCORE": "101"}, "min-score must be a number from 0 to 100 (got '101')"),
        ({"EVALS_MIN_PASS_RATE": "1.5"}, "min-pass-rate must be a number from 0 to 1"),
        ({"EVALS_FAIL_ON_REGRESSION": "maybe"}, "fail-on-regression must be true or false"),
        ({"EVALS_BUDGET_USD": "-1"}, "budget-usd must be a positive number (got '-1')"),
        ({"EVALS_RESULTS_FILE": "out/"}, "results-file must be a file path, not a directory"),
    ],
)
def test_bad_suite_inputs_exit_2_without_a_call(
    tmp_path: pathlib.Path,
    fake_github: FakeGitHub,
    fake_evals: FakeEvals,
    variables: dict[str, str],
    expected: str,
) -> None:
    seed(fake_github, fake_evals)
    result = run(tmp_path, fake_github, fake_evals, **variables)
    assert result.code == 2
    assert expected in result.log
    assert fake_evals.requests == []
    assert fake_github.requests == []


def test_every_suite_problem_is_reported_at_once(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    result = run(
        tmp_path,
        fake_github,
        fake_evals,
        EVALS_PROMPT_ID="a,a",
        EVALS_REPEATS="99",
        EVALS_CONCURRENCY="0",
        EVALS_MIN_SCORE="abc",
    )
    assert result.code == 2
    errors = [line for line in result.log.splitlines() if line.startswith("::error")]
    assert len(errors) == 4, errors


def test_start_faults_are_still_retried_inside_a_suite(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    fake_evals.start_faults([Fault(status=503)])
    result = run(tmp_path, fake_github, fake_evals, EVALS_PROMPT_ID="p-alpha", EVALS_REPEATS="2")
    assert result.code == 0, result.log
    assert len(fake_evals.runs) == 2


@pytest.mark.parametrize("fake_evals", [{"run_seconds": 600}], indirect=True)
def test_sigterm_ends_every_run_in_flight_as_error(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    env = h.environment(tmp_path, fake_github, fake_evals, EVALS_PROMPT_ID=IDS, EVALS_REPEATS="2")
    result = h.run_and_signal(env, when=lambda: len(fake_github.statuses(h.HEAD_SHA)) >= 3)
    h.no_traceback(result)
    assert result.code == 1
    finals = _finals(fake_github)
    assert len(finals) == 3
    assert {(s["state"], s["description"]) for s in finals} == {("error", "Eval cancelled")}
    assert len(fake_evals.runs) == 3  # nothing new started after the signal
    assert len(fake_github.comments(h.PR)) == 1


def test_a_key_the_server_echoes_reaches_no_file_output_status_or_comment(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    leak = f"agent saw {ECHO_API_KEY}"
    report = {**DEFAULT_REPORT, "outcome": "failed", "keyFinding": leak, "grade": ECHO_API_KEY}
    fake_evals.script("p-alpha", [{"status": "completed", "report": report}])
    fake_evals.script("p-beta", [{"status": "failed", "failureReason": leak}])
    results_file = tmp_path / "out" / "results.json"
    junit_file = tmp_path / "out" / "junit.xml"
    result = run(
        tmp_path,
        fake_github,
        fake_evals,
        EVALS_PROMPT_ID="p-alpha,p-beta",
        EVALS_RESULTS_FILE=str(results_file),
        EVALS_JUNIT_FILE=str(junit_file),
    )
    assert result.code == 1, result.log
    h.assert_no_secrets(result, DEFAULT_API_KEY, github=fake_github)
    for written in (results_file, junit_file):
        assert DEFAULT_API_KEY not in written.read_text(encoding="utf-8")
    valid(results_file.read_text(encoding="utf-8"))


def test_one_prompt_with_repeats_updates_the_prompts_own_sticky_comment(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    env = h.environment(
        tmp_path, fake_github, fake_evals, EVALS_PROMPT_ID="p-alpha", EVALS_REPEATS="2"
    )
    first = h.run_cli(env)
    assert first.code == 0, first.log
    again = h.run_cli(env)
    assert again.code == 0, again.log
    (comment,) = fake_github.comments(h.PR)
    assert comment["body"].startswith("<!-- 2027-eval-comment:p-alpha -->\n")
    assert again.outputs["prompt-title"] == "Alpha checkout"
