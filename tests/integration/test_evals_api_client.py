"""backends.evals_api against the loopback fake: wire format and every fault class (contract §3)."""

from __future__ import annotations

import pytest

from evals_action import errors, models, transport
from evals_action.backends import evals_api
from tests.fakes.evals import DEFAULT_API_KEY, FakeEvals, Fault

PROMPT = "p-1"


def backend(
    fake: FakeEvals, *, timeout: tuple[float, float] = (2.0, 2.0)
) -> evals_api.EvalsApiBackend:
    return evals_api.EvalsApiBackend(
        session=transport.new_session(),
        base_url=fake.url + "///",
        api_key=DEFAULT_API_KEY,
        timeout=timeout,
    )


def start(b: evals_api.EvalsApiBackend) -> models.StartedRun:
    return b.start(
        request=models.StartRequest(
            prompt_id=PROMPT,
            url_map={"a.com": "https://b.dev"},
            template_args=None,
            idempotency_key="k-1",
        )
    )


def test_headers_and_body_on_the_wire(fake_evals: FakeEvals) -> None:
    fake_evals.add_prompt(prompt_id=PROMPT, title="T", text="x")
    started = start(backend(fake_evals))
    post = fake_evals.requests[0]
    assert post.header("authorization") == f"Bearer {DEFAULT_API_KEY}"
    assert post.header("accept") == "application/json"
    assert post.header("user-agent") == f"evals-action/{evals_action_version()}"
    assert post.header("idempotency-key") == "k-1"
    assert post.json == {"urlMap": {"a.com": "https://b.dev"}}
    assert post.path == "/api/v1/prompts/p-1/run"
    assert started.run_url.startswith("http://127.0.0.1")


def evals_action_version() -> str:
    import evals_action

    return evals_action.__version__


def test_read_timeout_is_transient(fake_evals: FakeEvals) -> None:
    fake_evals.add_prompt(prompt_id=PROMPT, title="T", text="x")
    fake_evals.script(PROMPT, [Fault(status=200, delay=1.5)])
    b = backend(fake_evals, timeout=(2.0, 0.3))
    started = start(b)
    with pytest.raises(errors.TransientAPIError, match="read eval run: timed out"):
        b.fetch(run_id=started.run_id)


@pytest.mark.parametrize(
    ("fault", "error", "text"),
    [
        (Fault(status=503, headers={"Retry-After": "12"}), errors.TransientAPIError, "HTTP 503"),
        (Fault(status=429), errors.TransientAPIError, "HTTP 429"),
        (Fault(reset=True), errors.TransientAPIError, "connection failed"),
        (Fault(status=401), errors.FatalAPIError, "check the api-key"),
        (Fault(status=403), errors.FatalAPIError, "HTTP 403"),
        (Fault(status=404), errors.FatalAPIError, "check the URL"),
        (Fault(status=409), errors.ClientAPIError, "HTTP 409"),
        (Fault(status=200, raw_body="<html>hi</html>"), errors.ClientAPIError, "not JSON"),
        (Fault(status=200, body=[1, 2]), errors.ClientAPIError, "not a JSON object"),
    ],
)
def test_each_fault_is_classified(
    fake_evals: FakeEvals, fault: Fault, error: type[errors.APIError], text: str
) -> None:
    fake_evals.add_prompt(prompt_id=PROMPT, title="T", text="x")
    fake_evals.script(PROMPT, [fault])
    b = backend(fake_evals)
    started = start(b)
    with pytest.raises(error, match=text) as info:
        b.fetch(run_id=started.run_id)
    if fault.headers:
        assert isinstance(info.value, errors.TransientAPIError)
        assert info.value.retry_after == 12
    assert DEFAULT_API_KEY not in str(info.value)


def test_missing_run_url_in_start_response(fake_evals: FakeEvals) -> None:
    fake_evals.add_prompt(prompt_id=PROMPT, title="T", text="x")
    fake_evals.start_faults([Fault(status=200, body={"runId": "r"})])
    with pytest.raises(errors.FatalAPIError, match="^start response missing runUrl$"):
        start(backend(fake_evals))


def test_run_fields_are_read(fake_evals: FakeEvals) -> None:
    fake_evals.add_prompt(prompt_id=PROMPT, title="Title", text="Text")
    fake_evals.script(
        PROMPT,
        [
            {
                "status": "completed",
                "failureReason": None,
                "report": {
                    "slug": "s",
                    "url": "https://r",
                    "score": 71.5,
                    "grade": "C",
                    "outcome": "goal_not_met",
                    "nullNotice": "n",
                    "keyFinding": "k",
                    "summary": {"whatDidnt": "w"},
                    "verdict": "v",
                    "metrics": {
                        "time": "1m",
                        "timeSeconds": 60,
                        "cost": "$1",
                        "costUsd": 1.0,
                        "errors": 2,
                        "interruptions": 3,
                    },
                },
            }
        ],
    )
    b = backend(fake_evals)
    run = b.fetch(run_id=start(b).run_id)
    assert (run.status, run.prompt_title, run.prompt_text) == ("completed", "Title", "Text")
    assert run.report == models.Report(
        slug="s",
        url="https://r",
        score=71.5,
        grade="C",
        outcome="goal_not_met",
        null_notice="n",
        key_finding="k",
        what_didnt="w",
        verdict="v",
        metrics=models.Metrics(
            time="1m", time_seconds=60, cost="$1", cost_usd=1.0, errors=2, interruptions=3
        ),
        raw=run.report.raw if run.report else {},
    )


def test_baseline_pages_until_a_succeeded_run_with_metrics(fake_evals: FakeEvals) -> None:
    fake_evals.add_prompt(prompt_id=PROMPT, title="T", text="x")
    filler = [{"promptId": PROMPT, "report": {"outcome": "goal_not_met", "metrics": {"errors": 1}}}]
    good = {
        "promptId": PROMPT,
        "report": {"outcome": "succeeded", "score": 77, "metrics": {"errors": 0}},
    }
    fake_evals.add_baseline_runs(filler * 45 + [good])
    b = backend(fake_evals)
    report = b.baseline(prompt_id=PROMPT, current_run_id="current")
    assert report is not None
    assert report.score == 77
    listings = [r for r in fake_evals.requests if r.path == "/api/v1/runs"]
    assert [r.query["offset"] for r in listings] == ["0", "20", "40"]
    assert listings[0].query == {
        "promptId": PROMPT,
        "reportStatus": "published",
        "limit": "20",
        "offset": "0",
    }


def test_baseline_stops_after_five_pages(fake_evals: FakeEvals) -> None:
    fake_evals.add_prompt(prompt_id=PROMPT, title="T", text="x")
    filler = {"promptId": PROMPT, "report": {"outcome": "goal_not_met", "metrics": {"errors": 1}}}
    fake_evals.add_baseline_runs([filler] * 200)
    assert backend(fake_evals).baseline(prompt_id=PROMPT, current_run_id="c") is None
    assert len([r for r in fake_evals.requests if r.path == "/api/v1/runs"]) == 5


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("timed_out", "running"), ("queued", "running"), ("cancelled", "running"), ("", "pending")],
)
def test_undocumented_statuses_count_as_still_running(
    fake_evals: FakeEvals, raw: str, expected: str
) -> None:
    """Contract §3: any status but the five documented ones is "still running"."""
    fake_evals.add_prompt(prompt_id=PROMPT, title="T", text="x")
    fake_evals.script(PROMPT, [{"status": raw}])
    b = backend(fake_evals)
    run = b.fetch(run_id=start(b).run_id)
    assert run.status == expected
    assert not run.terminal
