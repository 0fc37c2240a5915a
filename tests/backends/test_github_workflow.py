"""The github-workflow backend against FakeGitHub (every call checked against GitHub's OpenAPI)."""

from __future__ import annotations

import datetime
import io
import json
import logging
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from evals_action import errors, github_api, models, polling, settings
from evals_action.backends import github_workflow
from evals_action.eval_protocol import workflow_client
from tests.fakes.github import FakeGitHub

from .conftest import MODEL_KEY, TARGET, WORKFLOW_TOKEN, assert_no_secret, start_request

# The façade's constructor passes `lazy=` to get_repo, which PyGithub 2.10 deprecates (not ours).
pytestmark = pytest.mark.filterwarnings("ignore:Argument lazy is deprecated:DeprecationWarning")

AGENTS = "octo/agents"
RESULT = {
    "schema": 1,
    "outcome": "succeeded",
    "score": 91,
    "grade": "A-",
    "summary": "bought socks",
    "report_url": "https://reports.example.com/r/9",
    "metrics": {"timeSeconds": 60, "costUsd": 0.05, "errors": 0, "interruptions": 1},
}
RUNS = r"/repos/octo/agents/actions/workflows/rollout\.yml/runs"


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(owner="octo", repo="shop", token=WORKFLOW_TOKEN) as gh:
        yield gh
        assert gh.violations == []


class Harness:
    """One backend wired to the fake, recording sleeps and façade constructions."""

    def __init__(self, fake: FakeGitHub, config: settings.Settings) -> None:
        self.fake = fake
        self.config = config
        self.sleeps: list[float] = []
        self.facades: list[tuple[str, str]] = []
        self.on_sleep: Callable[[], None] = lambda: None
        made = github_workflow.create(
            settings=config,
            target=TARGET,
            session=None,  # type: ignore[arg-type]  # never used by this backend
            github=self.facade,
            sleep=self.sleep,
            clock=lambda: 0.0,
        )
        assert isinstance(made, github_workflow.GithubWorkflowBackend)
        self.backend = made

    def facade(self, *, token: str = "", repository: str = "") -> github_api.GitHub:
        self.facades.append((token, repository))
        return github_api.GitHub(
            token=token,
            api_url=self.fake.url,
            repository=repository,
            user_agent="evals-action/test",
            retries=0,
        )

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.on_sleep()

    def start(self) -> models.StartedRun:
        return self.backend.start(request=start_request(self.config))

    def routes(self) -> list[str]:
        return [f"{r.method} {r.route}" for r in self.fake.requests]


@pytest.fixture
def harness(
    fake: FakeGitHub, make_settings: Callable[..., settings.Settings]
) -> Callable[..., Harness]:
    def make(**inputs: str) -> Harness:
        config = make_settings(
            backend="github-workflow",
            workflow="rollout.yml",
            workflow_repo=AGENTS,
            workflow_token=WORKFLOW_TOKEN,
            GITHUB_API_URL=fake.url,
            GITHUB_SERVER_URL="https://github.com",
            **inputs,
        )
        return Harness(fake, config)

    return make


def add_workflow(fake: FakeGitHub, **kwargs: Any) -> None:
    kwargs.setdefault("artifact_files", {"rollout-result.json": json.dumps(RESULT)})
    fake.add_workflow(workflow_id="rollout.yml", numeric_id=4242, repo_full_name=AGENTS, **kwargs)


def test_full_lifecycle_with_minimal_requests(
    fake: FakeGitHub, harness: Callable[..., Harness]
) -> None:
    """Dispatch the four inputs, find the run at once, poll to success, read the artifact."""
    add_workflow(fake)
    h = harness()
    started = h.start()
    (dispatch,) = fake.dispatches
    run = fake.workflow_runs()[0]
    meta = json.loads(dispatch["inputs"]["metadata"])
    assert dispatch["ref"] == "main"
    assert dispatch["inputs"] == {
        "completion_params": '{"model":"accounts/fw/models/base","temperature":0}',
        "metadata": dispatch["inputs"]["metadata"],
        "model_base_url": "https://models.example.com/v1",
        "api_key": MODEL_KEY,
    }
    assert meta == {
        "invocation_id": "gh-777-2",
        "experiment_id": "octo/shop#12",
        "rollout_id": meta["rollout_id"],
        "run_id": meta["run_id"],
        "row_id": "prompt-123",
        "url_map": {"shop.example.com": "https://pr-12.preview.dev"},
        "template_args": {"item": "socks"},
    }
    assert " " not in dispatch["inputs"]["metadata"]  # compact JSON
    assert run["name"] == f"rollout:{meta['rollout_id']}"
    assert started.run_id == str(run["id"])
    assert started.run_url == run["html_url"]
    assert started.status_url == f"{fake.url}/repos/{AGENTS}/actions/runs/{run['id']}"
    assert dict(started.extra_outputs) == {
        "invocation-id": "gh-777-2",
        "experiment-id": "octo/shop#12",
        "rollout-id": meta["rollout_id"],
        "correlation-run-id": meta["run_id"],
        "row-id": "prompt-123",
        "rollout-run-url": run["html_url"],
    }
    assert h.sleeps == []
    assert h.facades == [(WORKFLOW_TOKEN, AGENTS)]

    seen = [h.backend.fetch(run_id=started.run_id) for _ in range(2)]
    assert [s.status for s in seen] == [models.RUNNING, models.COMPLETED]
    report = seen[-1].report
    assert report is not None
    assert (report.outcome, report.score, report.grade, report.what_didnt, report.url) == (
        "succeeded",
        91.0,
        "A-",
        "bought socks",
        "https://reports.example.com/r/9",
    )
    assert report.metrics == models.Metrics(
        time_seconds=60.0, cost_usd=0.05, errors=0, interruptions=1
    )
    assert seen[-1].prompt_title == "Checkout works"
    assert seen[-1].prompt_text == "Buy socks on https://pr-12.preview.dev/cart please."
    again = h.backend.fetch(run_id=started.run_id)  # a grace poll: the artifact is read once
    assert again.report == report
    runs = f"/repos/{AGENTS}/actions/runs/{run['id']}"
    assert h.routes() == [
        f"POST /repos/{AGENTS}/actions/workflows/rollout.yml/dispatches",
        f"GET /repos/{AGENTS}/actions/workflows/rollout.yml/runs",
        f"GET {runs}",
        f"GET {runs}",
        f"GET {runs}/artifacts",
        f"GET /repos/{AGENTS}/actions/artifacts/{report_artifact(fake)}/zip",
        f"GET /_download/artifacts/{report_artifact(fake)}/rollout-result.zip",  # no token
        f"GET {runs}",
    ]
    download = next(r for r in fake.requests if r.route.startswith("/_download/"))
    assert download.header("authorization") is None


def report_artifact(fake: FakeGitHub) -> int:
    (zip_request,) = [r for r in fake.requests if r.route.endswith("/zip")]
    return int(zip_request.route.split("/")[-2])


def test_finder_filters_and_backs_off_until_the_run_appears(
    fake: FakeGitHub, harness: Callable[..., Harness]
) -> None:
    """event, branch, per_page=100 and created>=dispatch-2min; waits 1 then 2 s, then stops."""
    add_workflow(fake, appear_after_polls=2)
    h = harness(workflow_ref="refs/heads/main")
    before = datetime.datetime.now(datetime.timezone.utc)
    h.start()
    lists = [r for r in fake.requests if r.route.endswith("/runs")]
    assert h.sleeps == [1.0, 2.0]
    assert len(lists) == 3
    query = lists[0].query
    assert {k: query[k] for k in ("event", "branch", "per_page")} == {
        "event": "workflow_dispatch",
        "branch": "main",
        "per_page": "100",
    }
    since = datetime.datetime.strptime(query["created"], ">=%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc
    )
    assert datetime.timedelta(seconds=115) <= before - since <= datetime.timedelta(seconds=125)
    assert fake.dispatches[0]["ref"] == "refs/heads/main"


def test_finder_pages_and_matches_the_name_exactly(
    fake: FakeGitHub, harness: Callable[..., Harness]
) -> None:
    """Newer runs with other names push ours to page 2; the finder follows the Link header."""
    add_workflow(fake, appear_after_polls=1)
    h = harness()
    rollout_id = h.backend.run_name.removeprefix("rollout:")

    def crowd() -> None:
        # Plain HTTP: PyGithub would space 100 writes a second apart.
        with requests.Session() as other:
            other.headers.update(
                {"Authorization": f"Bearer {WORKFLOW_TOKEN}", "User-Agent": "crowd"}
            )
            for i in range(100):
                name = f"{rollout_id}-{i}" if i % 2 else f"x{rollout_id}"
                inputs = {"completion_params": "{}", "model_base_url": "", "api_key": ""}
                answer = other.post(
                    f"{fake.url}/repos/{AGENTS}/actions/workflows/rollout.yml/dispatches",
                    json={
                        "ref": "main",
                        "inputs": {**inputs, "metadata": json.dumps({"rollout_id": name})},
                    },
                    timeout=10,
                )
                assert answer.status_code == 204
            # New runs hide from one listing (appear_after_polls); use that listing up here.
            other.get(f"{fake.url}{RUNS.replace(chr(92), '')}", timeout=10).raise_for_status()
        h.on_sleep = lambda: None

    h.on_sleep = crowd
    started = h.start()
    ours = [r for r in fake.workflow_runs() if r["name"] == f"rollout:{rollout_id}"]
    assert [str(r["id"]) for r in ours] == [started.run_id]
    pages = [
        r.query.get("page", "1")
        for r in fake.requests
        if r.route.endswith("/runs") and r.header("user-agent") != "crowd"
    ]
    assert pages == ["1", "1", "2"]
    assert h.sleeps == [1.0]


def test_run_never_found_fails_with_the_contract_message(
    fake: FakeGitHub, harness: Callable[..., Harness]
) -> None:
    """After 1, 2, 4, 8, 16 s the rollout fails: `Failed to find workflow run in GHA ...`."""
    add_workflow(fake, run_name="something else")
    h = harness()
    started = h.start()
    rollout_id = started.extra_outputs["rollout-id"]
    assert h.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert started.run_url == f"https://github.com/{AGENTS}/actions/workflows/rollout.yml"
    seen = h.backend.fetch(run_id=started.run_id)
    assert seen.status == models.FAILED
    assert seen.failure_reason == f"Failed to find workflow run in GHA with rollout_id {rollout_id}"
    h.backend.cancel(run_id=started.run_id)
    assert fake.cancelled_runs == []


def test_rate_limit_in_the_finder_honours_retry_after(
    fake: FakeGitHub, harness: Callable[..., Harness]
) -> None:
    """A 403 rate limit with Retry-After: 7 waits 7 s instead of 1, then finds the run."""
    add_workflow(fake)
    fake.fail_next(
        method="GET",
        path_pattern=RUNS,
        status=403,
        body={"message": "API rate limit exceeded for installation."},
        headers={"Retry-After": "7"},
    )
    h = harness()
    h.start()
    assert h.sleeps == [7.0]


def test_primary_rate_limit_waits_for_the_reset(
    fake: FakeGitHub, harness: Callable[..., Harness]
) -> None:
    """403 with X-RateLimit-Remaining: 0 waits until X-RateLimit-Reset, capped (the reset is
    an hour ahead, so the wait is exactly the cap: no dependence on the wall clock)."""
    add_workflow(fake)
    fake.fail_next(
        method="GET",
        path_pattern=RUNS,
        status=403,
        body={"message": "API rate limit exceeded for installation ID 1."},
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 3600)},
    )
    h = harness()
    h.start()
    assert len(h.sleeps) == 1
    assert h.sleeps[0] == polling.MAX_DELAY


def test_transient_finder_errors_surface_and_a_retried_start_does_not_redispatch(
    fake: FakeGitHub, harness: Callable[..., Harness]
) -> None:
    """Six 502s raise a transient error; the retried start looks again without dispatching."""
    add_workflow(fake)
    fake.fail_next(method="GET", path_pattern=RUNS, status=502, body={"message": "x"}, times=6)
    h = harness()
    with pytest.raises(errors.TransientAPIError):
        h.start()
    started = h.start()
    assert len(fake.dispatches) == 1
    assert started.run_id == str(fake.dispatches[0]["run_id"])


def test_dispatch_422_is_fatal_and_explains_the_inputs(
    fake: FakeGitHub, harness: Callable[..., Harness]
) -> None:
    """A workflow without our four inputs: GitHub's 422, fatal, with a hint and no secret."""
    add_workflow(fake, inputs=("prompt",))
    h = harness()
    with pytest.raises(errors.FatalAPIError) as caught:
        h.start()
    message = str(caught.value)
    assert "HTTP 422" in message
    assert "completion_params, metadata, model_base_url and api_key" in message
    assert_no_secret(message)


@pytest.mark.parametrize(
    ("conclusion", "status", "reason"),
    [
        ("success", models.COMPLETED, None),
        ("neutral", models.COMPLETED, None),
        ("failure", models.FAILED, "GitHub Actions workflow concluded with 'failure'"),
        ("timed_out", models.FAILED, "GitHub Actions workflow concluded with 'timed_out'"),
        (
            "startup_failure",
            models.FAILED,
            "GitHub Actions workflow concluded with 'startup_failure'",
        ),
        ("cancelled", models.FAILED, "GitHub Actions workflow concluded with 'cancelled'"),
        ("skipped", models.FAILED, "GitHub Actions workflow concluded with 'skipped'"),
        ("stale", models.FAILED, "GitHub Actions workflow concluded with 'stale'"),
    ],
)
def test_conclusions(
    fake: FakeGitHub,
    harness: Callable[..., Harness],
    conclusion: str,
    status: str,
    reason: str | None,
) -> None:
    """Each conclusion maps as in the contract; without an artifact success means succeeded."""
    add_workflow(fake, script=[("completed", conclusion)], artifact_files=None)
    h = harness()
    seen = h.backend.fetch(run_id=h.start().run_id)
    assert (seen.status, seen.failure_reason) == (status, reason)
    if status == models.COMPLETED:
        assert seen.report is not None
        assert seen.report.outcome == "succeeded"
        assert seen.report.score is None
    else:
        assert not any(r.route.endswith("/artifacts") for r in fake.requests)


def test_cancel_on_timeout(fake: FakeGitHub, harness: Callable[..., Harness]) -> None:
    """Our deadline passing cancels the run (POST .../cancel, 202)."""
    add_workflow(fake, script=[("in_progress", None)])
    h = harness()
    started = h.start()
    assert h.backend.fetch(run_id=started.run_id).status == models.RUNNING
    h.backend.cancel(run_id=started.run_id)
    assert fake.cancelled_runs == [int(started.run_id)]


def test_cancel_after_completion_never_raises(
    fake: FakeGitHub, harness: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    """A 409 (already completed) is a warning, not an error."""
    add_workflow(fake, script=[("completed", "success")])
    h = harness()
    started = h.start()
    h.backend.fetch(run_id=started.run_id)
    with caplog.at_level(logging.WARNING):
        h.backend.cancel(run_id=started.run_id)
    assert "Could not cancel" in caplog.text
    assert "409" in caplog.text


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("files", "warning"),
    [
        ({"rollout-result.json": "{not json"}, "rollout-result.json is not valid JSON"),
        ({"other.json": "{}"}, "the zip has no rollout-result.json"),
        ({"rollout-result.json": '{"schema": 2}'}, "unsupported rollout result schema 2"),
        ({"rollout-result.json": '{"score": "high"}'}, "score must be a number"),
    ],
)
def test_malformed_artifact_is_a_warning_and_no_result(
    fake: FakeGitHub,
    harness: Callable[..., Harness],
    caplog: pytest.LogCaptureFixture,
    files: dict[str, str],
    warning: str,
) -> None:
    """A bad artifact never fails the eval: warning, and the outcome follows the run alone."""
    add_workflow(fake, script=[("completed", "success")], artifact_files=files)
    h = harness()
    with caplog.at_level(logging.WARNING):
        seen = h.backend.fetch(run_id=h.start().run_id)
    assert seen.status == models.COMPLETED
    assert seen.report is not None
    assert (seen.report.outcome, seen.report.score) == ("succeeded", None)
    assert warning in caplog.text


def test_artifact_download_refused_is_a_warning_and_no_result(
    fake: FakeGitHub, harness: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    """The zip endpoint answers 410 (expired/removed): the run's conclusion alone decides."""
    add_workflow(
        fake,
        script=[("completed", "success")],
        artifact_files={"rollout-result.json": '{"schema": 1, "score": 9}'},
    )
    fake.fail_next(
        method="GET",
        path_pattern=r"/actions/artifacts/\d+/zip$",
        status=410,
        body={"message": "Artifact has expired"},
        times=None,
    )
    h = harness()
    with caplog.at_level(logging.WARNING):
        seen = h.backend.fetch(run_id=h.start().run_id)
    assert seen.status == models.COMPLETED
    assert seen.report is not None
    assert (seen.report.outcome, seen.report.score) == ("succeeded", None)
    assert "Could not download the rollout-result artifact" in caplog.text


def test_result_from_zip_reads_a_nested_file() -> None:
    """upload-artifact keeps a directory when given one; the shallowest match wins."""
    data = zipped({"out/rollout-result.json": '{"score": 1}', "rollout-result.json": "{}"})
    assert workflow_client.result_from_zip(data) == {}
    with pytest.raises(ValueError, match="not a valid zip"):
        workflow_client.result_from_zip(b"PK nope")


def test_secrets_stay_out_of_logs_and_errors(
    fake: FakeGitHub, harness: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    """The model key travels only as the api_key input; nothing we log or raise shows it."""
    add_workflow(fake, script=[("completed", "failure")])
    fake.fail_next(method="POST", path_pattern=r".*/cancel$", status=500, body={"message": "x"})
    h = harness()
    caplog.set_level(logging.DEBUG)
    started = h.start()
    seen = h.backend.fetch(run_id=started.run_id)
    h.backend.cancel(run_id=started.run_id)
    assert_no_secret(caplog.text, repr(seen), repr(h.config))


def test_ghes_prefix(make_settings: Callable[..., settings.Settings]) -> None:
    """On GHES (`/api/v3`) every call stays under the prefix, the zip included."""
    with FakeGitHub(owner="octo", repo="shop", token=WORKFLOW_TOKEN, api_prefix="/api/v3") as gh:
        add_workflow(gh, script=[("completed", "success")])
        config = make_settings(
            backend="github-workflow",
            workflow="4242",
            workflow_repo=AGENTS,
            workflow_token=WORKFLOW_TOKEN,
            GITHUB_API_URL=gh.url,
        )
        h = Harness(gh, config)
        seen = h.backend.fetch(run_id=h.start().run_id)
        assert gh.violations == []
    assert seen.report is not None
    assert seen.report.score == 91.0
