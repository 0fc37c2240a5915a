"""outcome: every row of contract §5 (status, description, target_url, exit code)."""

from __future__ import annotations

import pytest

from evals_action import models, outcome

RUN_URL = "https://2027.dev/evals/runs/r1"
REPORT_URL = "https://2027.dev/evals/reports/abc"


def run(
    status: str, *, report: models.Report | None = None, reason: str | None = None
) -> models.Run:
    return models.Run(
        run_id="r1", status=status, run_url=RUN_URL, failure_reason=reason, report=report
    )


def row(o: outcome.Outcome) -> tuple[str, str, str, int | None, str]:
    return (o.state, o.description, o.target_url, o.exit_code, o.final_status)


def test_running() -> None:
    assert row(outcome.running(run("running"))) == (
        "pending",
        "Running eval...",
        RUN_URL,
        None,
        "running",
    )


def test_completed_and_succeeded_with_report_link() -> None:
    o = outcome.final(run("completed", report=models.Report(outcome="succeeded", url=REPORT_URL)))
    assert row(o) == ("success", "Completed — see report", REPORT_URL, 0, "completed")


def test_completed_without_outcome_but_a_numeric_score_is_success() -> None:
    o = outcome.final(run("completed", report=models.Report(score=71)))
    assert row(o) == ("success", "Completed — see status page", RUN_URL, 0, "completed")


def test_did_not_finish() -> None:
    report = models.Report(
        outcome="goal_not_met", key_finding="Sign-up button missing", url=REPORT_URL
    )
    o = outcome.final(run("completed", report=report))
    assert row(o) == (
        "failure",
        "Did not finish — Sign-up button missing",
        REPORT_URL,
        0,
        "completed",
    )


@pytest.mark.parametrize(
    ("report", "reason", "expected"),
    [
        (models.Report(outcome="x", key_finding="k", what_didnt="w"), None, "k"),
        (models.Report(outcome="x", what_didnt="w", null_notice="n"), None, "w"),
        (models.Report(outcome="x", null_notice="n", verdict="v1\nv2"), None, "n"),
        (models.Report(outcome="x", verdict="\n first line \nsecond"), "f", "first line"),
        (models.Report(outcome="x"), "server said no", "server said no"),
        (models.Report(outcome="goal_not_met"), None, "goal_not_met"),
    ],
)
def test_dnf_reason_precedence(report: models.Report, reason: str | None, expected: str) -> None:
    assert outcome.dnf_reason(run("completed", report=report, reason=reason)) == expected


def test_failed() -> None:
    assert row(outcome.final(run("failed", reason="Preview returned 502"))) == (
        "error",
        "Preview returned 502",
        RUN_URL,
        1,
        "failed",
    )
    assert row(outcome.final(run("failed"))) == (
        "error",
        "Eval failed — see status page",
        RUN_URL,
        1,
        "failed",
    )


def test_superseded() -> None:
    assert row(outcome.final(run("superseded"))) == (
        "success",
        "Superseded by newer commit",
        RUN_URL,
        0,
        "superseded",
    )


def test_timeout_both_ways() -> None:
    assert row(outcome.timeout(run("running"), fails=False)) == (
        "success",
        "Still running — see status page",
        RUN_URL,
        0,
        "running",
    )
    assert row(outcome.timeout(run("running"), fails=True)) == (
        "failure",
        "Eval timed out — failing per timeout-fails=true",
        RUN_URL,
        0,
        "running",
    )


def test_fatal_api_error_and_cancel_end_in_error() -> None:
    assert row(outcome.unavailable(run("running"), reason="HTTP 401")) == (
        "error",
        "Eval status unavailable — HTTP 401",
        RUN_URL,
        1,
        "failed",
    )
    assert row(outcome.cancelled(run("running"))) == (
        "error",
        "Eval cancelled",
        RUN_URL,
        1,
        "failed",
    )


def test_description_is_one_line_and_at_most_140_characters() -> None:
    text = outcome.status_description("word " * 100 + "\nmore")
    assert len(text) == 140
    assert text.endswith("...")
    assert "\n" not in text
    assert outcome.status_description("x" * 140) == "x" * 140


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Sign up & create a project!", "2027/eval/sign-up-create-a-project"),
        ("  --Hello__World--  ", "2027/eval/hello-world"),
        ("A" * 39 + " b", "2027/eval/" + "a" * 39),
        ("!!!", "2027/eval"),
        (None, "2027/eval/prompt-1"),
    ],
)
def test_status_context_slug(title: str | None, expected: str) -> None:
    assert outcome.status_context(title=title, prompt_id="prompt-1", override=None) == expected


def test_status_context_override_wins() -> None:
    assert (
        outcome.status_context(title="T", prompt_id="p", override="evals/signup") == "evals/signup"
    )
