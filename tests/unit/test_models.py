"""`models`: the wire format both ways, and the JSON-shape readers it uses."""

from __future__ import annotations

import json

import pytest

from evals_action import models

SERVER_REPORT = {
    "slug": "sign-up-1234567890",
    "url": "http://127.0.0.1:8000/reports/sign-up-1234567890",
    "score": 85,
    "grade": "B",
    "outcome": "succeeded",
    "nullNotice": None,
    "keyFinding": None,
    "summary": {"whatDidnt": None},
    "verdict": "3/4 checks passed",
    "metrics": {
        "time": "2m05s",
        "timeSeconds": 125.0,
        "cost": "$0.12",
        "costUsd": 0.12,
        "errors": 0,
        "interruptions": 1,
    },
    "dimensions": [{"name": "answer contains 'demo'", "passed": True}],
    "answer": "Done: https://preview.example/demo",
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("x", "x"),
        ("  ", None),
        ("", None),
        (7, "7"),
        (1.5, "1.5"),
        (True, None),
        (None, None),
        ([], None),
    ],
)
def test_nonempty(value: object, expected: str | None) -> None:
    """A string with content or a number, as text; anything else is absent."""
    assert models.nonempty(value) == expected


def test_report_to_wire_gives_back_what_from_wire_read_byte_for_byte() -> None:
    """The server's report survives a round trip exactly: key order, an integer score, extras."""
    report = models.Report.from_wire(SERVER_REPORT)
    assert report is not None
    assert json.dumps(report.to_wire()) == json.dumps(SERVER_REPORT)


def test_report_from_wire_reads_the_fields_and_keeps_raw_and_extras() -> None:
    """Typed fields, the unmodelled fields in `extra`, the whole answer in `raw`."""
    report = models.Report.from_wire(SERVER_REPORT)
    assert report is not None
    assert (report.score, report.grade, report.verdict) == (85, "B", "3/4 checks passed")
    assert report.metrics == models.Metrics(
        time="2m05s", time_seconds=125.0, cost="$0.12", cost_usd=0.12, errors=0, interruptions=1
    )
    assert set(report.extra) == {"dimensions", "answer"}
    assert report.raw == SERVER_REPORT


@pytest.mark.parametrize("value", [None, [], "report", 3])
def test_report_from_wire_is_none_for_anything_but_an_object(value: object) -> None:
    assert models.Report.from_wire(value) is None


def test_report_from_wire_counts_wrong_types_as_absent() -> None:
    """A boolean score, an empty slug, a string metric number: absent, not an error."""
    report = models.Report.from_wire(
        {"score": True, "slug": "  ", "summary": "x", "metrics": {"timeSeconds": "5"}}
    )
    assert report == models.Report(
        raw={"score": True, "slug": "  ", "summary": "x", "metrics": {"timeSeconds": "5"}}
    )


def test_run_to_wire_is_read_back_by_from_wire() -> None:
    """What the server writes is what the action's client reads."""
    run = models.Run(
        run_id="r-1",
        status=models.COMPLETED,
        run_url="http://x/runs/r-1",
        status_url="http://x/api/v1/runs/r-1",
        failure_reason=None,
        prompt_title="Sign up",
        prompt_text="Sign up at {{url}}",
        report=models.Report.from_wire(SERVER_REPORT),
    )
    assert models.Run.from_wire(run.to_wire()) == run


def test_run_from_wire_treats_an_undocumented_status_as_running() -> None:
    """Contract §3: any other value is "still running"; `timed_out` never travels."""
    run = models.Run.from_wire({"runId": "r", "status": "timed_out"})
    assert (run.run_id, run.status, run.report) == ("r", models.RUNNING, None)
    assert models.Run.from_wire({}, fallback_id="f").status == models.PENDING
