"""FakeEvals answers like the evals API, runs its scripts and faults, flags contract breaches."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fakes import env
from tests.fakes.evals import DEFAULT_REPORT, FakeEvals, Fault

PROMPT = "7f0c5a2e-prompt"
HEADERS = {
    "Authorization": "Bearer evals_test_key_123",
    "Accept": "application/json",
    "User-Agent": "evals-action/0.1.0",
}
URL_MAP = {"shop.example.com": "https://pr-12.preview.dev"}


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers.update(HEADERS)
        yield session


@pytest.fixture
def evals_fake(fake_evals: FakeEvals) -> FakeEvals:
    fake_evals.add_prompt(prompt_id=PROMPT, title="Checkout flow", text="Buy socks")
    return fake_evals


def start(
    http: requests.Session, fake: FakeEvals, *, key: str | None = None, **body: Any
) -> requests.Response:
    return http.post(
        f"{fake.url}/api/v1/prompts/{PROMPT}/run",
        json={"urlMap": URL_MAP, **body},
        headers={"Idempotency-Key": key or str(uuid.uuid4())},
        timeout=5,
    )


def run_id_of(answer: requests.Response) -> str:
    return str(answer.json()["runId"])


def test_start_then_default_script(evals_fake: FakeEvals, http: requests.Session) -> None:
    """runId/statusUrl/runUrl; then running, then completed with a report, repeating."""
    started = start(http, evals_fake)
    run_id = run_id_of(started)
    seen = [http.get(started.json()["statusUrl"]).json() for _ in range(3)]

    assert started.status_code == 200
    assert started.json() == {
        "runId": run_id,
        "statusUrl": f"{evals_fake.url}/api/v1/runs/{run_id}",
        "runUrl": f"{evals_fake.url}/runs/{run_id}",
    }
    assert [s["status"] for s in seen] == ["running", "completed", "completed"]
    assert seen[1] == {
        "runId": run_id,
        "status": "completed",
        "statusUrl": started.json()["statusUrl"],
        "runUrl": started.json()["runUrl"],
        "failureReason": None,
        "prompt": {"title": "Checkout flow", "text": "Buy socks"},
        "report": DEFAULT_REPORT,
    }


def test_scripted_steps_and_faults(evals_fake: FakeEvals, http: requests.Session) -> None:
    evals_fake.script(
        PROMPT,
        [
            {"status": "pending"},
            Fault(status=503, headers={"Retry-After": "2"}),
            Fault(status=502, raw_body="<html>Bad gateway</html>"),
            {"status": "failed", "failureReason": "agent crashed"},
        ],
    )
    run_id = run_id_of(start(http, evals_fake))
    url = f"{evals_fake.url}/api/v1/runs/{run_id}"
    answers = [http.get(url) for _ in range(5)]

    assert [a.status_code for a in answers] == [200, 503, 502, 200, 200]
    assert answers[1].headers["Retry-After"] == "2"
    assert answers[1].json() == {"error": "Service Unavailable"}
    assert answers[2].text == "<html>Bad gateway</html>"
    assert answers[2].headers["Content-Type"].startswith("text/html")
    assert [answers[i].json()["status"] for i in (0, 3, 4)] == ["pending", "failed", "failed"]
    assert answers[4].json()["failureReason"] == "agent crashed"


def test_reset_and_delay_faults_break_the_connection(
    evals_fake: FakeEvals, http: requests.Session
) -> None:
    evals_fake.script(
        PROMPT, [Fault(reset=True), Fault(status=200, delay=5.0), {"status": "running"}]
    )
    run_id = run_id_of(start(http, evals_fake))
    url = f"{evals_fake.url}/api/v1/runs/{run_id}"

    with pytest.raises(requests.ConnectionError):
        http.get(url, timeout=5)
    with pytest.raises(requests.ReadTimeout):
        http.get(url, timeout=0.2)
    with requests.Session() as fresh:  # the timed-out socket is still held by the fake
        fresh.headers.update(HEADERS)
        assert fresh.get(url, timeout=5).json()["status"] == "running"
    assert [r.status for r in evals_fake.requests if r.method == "GET"] == [0, 200, 200]


def test_start_faults_answer_the_posts_first(evals_fake: FakeEvals, http: requests.Session) -> None:
    evals_fake.start_faults([Fault(status=503), Fault(status=429, headers={"Retry-After": "1"})])
    answers = [start(http, evals_fake, key="same") for _ in range(3)]

    assert [a.status_code for a in answers] == [503, 429, 200]
    assert len(evals_fake.runs) == 1
    assert evals_fake.idempotency_keys == ["same", "same", "same"]


def test_idempotency_key_returns_the_same_run(
    evals_fake: FakeEvals, http: requests.Session
) -> None:
    """A lost response (reset after the run was made) and a retry with the same key: one run."""
    evals_fake.start_faults([Fault(reset=True, after_create=True)])
    with pytest.raises(requests.ConnectionError):
        start(http, evals_fake, key="k-1")
    again = start(http, evals_fake, key="k-1")
    other = start(http, evals_fake, key="k-2")

    (first, second) = evals_fake.runs
    assert run_id_of(again) == first["runId"]
    assert run_id_of(other) == second["runId"] != first["runId"]
    assert first["idempotencyKey"] == "k-1"
    assert evals_fake.idempotency_keys == ["k-1", "k-1", "k-2"]


def test_missing_template_vars_and_unknown_prompt(
    fake_evals: FakeEvals, http: requests.Session
) -> None:
    fake_evals.add_prompt(prompt_id="needs/vars x", title="T", text="x", required_vars=("a", "b"))
    url = f"{fake_evals.url}/api/v1/prompts/needs%2Fvars%20x/run"
    headers = {"Idempotency-Key": "k"}

    missing = http.post(url, json={"urlMap": {}, "templateArgs": {"a": "1"}}, headers=headers)
    complete = http.post(
        url, json={"urlMap": {}, "templateArgs": {"a": "1", "b": "2"}}, headers=headers
    )
    unknown = http.post(
        f"{fake_evals.url}/api/v1/prompts/nope/run", json={"urlMap": {}}, headers=headers
    )
    prompt = http.get(f"{fake_evals.url}/api/v1/prompts/needs%2Fvars%20x")

    assert (missing.status_code, missing.json()) == (400, {"error": "Missing template vars: b"})
    assert complete.status_code == 200
    assert unknown.status_code == 404
    assert prompt.json() == {
        "id": "needs/vars x",
        "title": "T",
        "text": "x",
        "templateVars": ["a", "b"],
    }


def test_401_without_the_bearer_key(evals_fake: FakeEvals) -> None:
    """A missing header is 401 and a violation; a wrong key is only 401."""
    url = f"{evals_fake.url}/api/v1/runs/x"
    plain = {k: v for k, v in HEADERS.items() if k != "Authorization"}
    missing = requests.get(url, headers=plain, timeout=5)
    wrong = requests.get(url, headers={**plain, "Authorization": "Bearer other"}, timeout=5)

    assert [(a.status_code, a.json()) for a in (missing, wrong)] == [
        (401, {"error": "unauthorized"}),
        (401, {"error": "unauthorized"}),
    ]
    assert [r.header("authorization") for r in evals_fake.requests] == [None, "Bearer other"]
    (violation,) = evals_fake.take_violations()
    assert "Authorization must be 'Bearer <api-key>', got nothing" in violation


def test_contract_breaches_are_violations(evals_fake: FakeEvals) -> None:
    url = f"{evals_fake.url}/api/v1/prompts/{PROMPT}/run"
    bad_headers = {"Authorization": HEADERS["Authorization"], "User-Agent": "curl/8"}
    requests.post(
        url, json={"urlMap": URL_MAP, "templateVars": {"a": "1"}}, headers=bad_headers, timeout=5
    )
    requests.post(
        url,
        json={"urlMap": URL_MAP, "templateArgs": {}},
        headers={**HEADERS, "Idempotency-Key": "k"},
        timeout=5,
    )

    found = evals_fake.take_violations()
    assert [v.split(": ", 1)[1] for v in found] == [
        "Accept must be application/json, got '*/*'",
        "User-Agent must start with 'evals-action/', got 'curl/8'",
        "no Idempotency-Key header",
        "unexpected body key 'templateVars' (the API takes templateArgs; never send templateVars)",
        "templateArgs must be left out unless it is a non-empty object",
    ]


def test_baseline_listing_filters_and_pages(evals_fake: FakeEvals, http: requests.Session) -> None:
    evals_fake.add_baseline_runs(
        [
            {"runId": f"b{i}", "promptId": PROMPT, "report": {"outcome": "succeeded"}}
            for i in range(5)
        ]
        + [{"runId": "draft", "promptId": PROMPT, "reportStatus": "draft"}]
    )
    run_id = run_id_of(start(http, evals_fake))
    for _ in range(2):
        http.get(f"{evals_fake.url}/api/v1/runs/{run_id}")
    url = f"{evals_fake.url}/api/v1/runs"
    query: dict[str, str | int] = {"promptId": PROMPT, "reportStatus": "published", "limit": 4}

    pages = [
        [r["runId"] for r in http.get(url, params={**query, "offset": o}).json()] for o in (0, 4)
    ]

    assert pages == [[run_id, "b0", "b1", "b2"], ["b3", "b4"]]
    assert http.get(url).status_code == 400


def test_long_poll_skips_unchanged_states(http: requests.Session) -> None:
    with FakeEvals(long_poll=True) as fake:
        fake.add_prompt(prompt_id=PROMPT, title="T", text="x")
        fake.script(PROMPT, [{"status": "running"}, {"status": "running"}, {"status": "completed"}])
        run_id = run_id_of(start(http, fake))
        url = f"{fake.url}/api/v1/runs/{run_id}"

        first = http.get(url)
        waited = http.get(url, params={"wait": 30})
        too_long = http.get(url, params={"wait": 31})

        assert first.headers["X-Evals-Long-Poll"] == "30"
        assert (first.json()["status"], waited.json()["status"]) == ("running", "completed")
        assert too_long.status_code == 200
        (violation,) = fake.take_violations()
        assert "wait must be in (0, 30]" in violation


def test_long_poll_holds_until_released(http: requests.Session) -> None:
    with FakeEvals(long_poll=10) as fake:
        fake.add_prompt(prompt_id=PROMPT, title="T", text="x")
        fake.script(PROMPT, [{"status": "running"}])
        run_id = run_id_of(start(http, fake))
        url = f"{fake.url}/api/v1/runs/{run_id}"
        http.get(url)

        held = threading.Thread(target=lambda: results.append(http.get(url, params={"wait": 10})))
        results: list[requests.Response] = []
        held.start()
        for _ in range(1000):  # seeing the request means its handler is waiting (same lock)
            if any(r.query.get("wait") for r in fake.requests):
                break
            threading.Event().wait(0.01)
        fake.release()
        held.join(timeout=10)

        assert results[0].json()["status"] == "running"
        (hold,) = fake.holds
        assert (hold["runId"], hold["wait"]) == (run_id, 10.0)
        assert fake.violations == []


def test_wait_without_advertised_long_polling_is_a_violation(
    evals_fake: FakeEvals, http: requests.Session
) -> None:
    run_id = run_id_of(start(http, evals_fake))
    answer = http.get(f"{evals_fake.url}/api/v1/runs/{run_id}", params={"wait": 5})
    assert "X-Evals-Long-Poll" not in answer.headers
    (violation,) = evals_fake.take_violations()
    assert "did not advertise X-Evals-Long-Poll" in violation


def test_requests_keep_headers_body_and_monotonic_times(
    evals_fake: FakeEvals, http: requests.Session
) -> None:
    start(http, evals_fake, key="k", templateArgs={"item": "socks"}, context={"pullRequest": 12})
    http.get(f"{evals_fake.url}/api/v1/runs", params={"promptId": PROMPT})

    post, listing = evals_fake.requests
    assert post.json == {
        "urlMap": URL_MAP,
        "templateArgs": {"item": "socks"},
        "context": {"pullRequest": 12},
    }
    assert post.header("Idempotency-Key") == "k"
    assert listing.query == {"promptId": PROMPT}
    assert post.t <= listing.t


def test_standalone_process_with_seed_and_state_file(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            [
                {"op": "add_prompt", "args": {"prompt_id": PROMPT, "title": "T", "text": "x"}},
                {
                    "op": "script",
                    "args": {"prompt_id": PROMPT, "steps": [{"fault": {"status": 500}}]},
                },
            ]
        )
    )
    state_file = tmp_path / "state.json"
    with env.standalone("evals", "--seed", str(seed), "--state-file", str(state_file)) as url:
        with requests.Session() as http:
            http.headers.update(HEADERS)
            started = http.post(
                f"{url}/api/v1/prompts/{PROMPT}/run",
                json={"urlMap": URL_MAP},
                headers={"Idempotency-Key": "k"},
            )
            polled = http.get(started.json()["statusUrl"])
        state = requests.get(f"{url}/_fake/state", timeout=5).json()

    assert polled.status_code == 500
    assert [r["method"] for r in state["requests"]] == ["POST", "GET"]
    assert state["idempotency_keys"] == ["k"]
    assert json.loads(state_file.read_text())["runs"][0]["gets"] == 1
