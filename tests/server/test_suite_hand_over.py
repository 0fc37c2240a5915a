"""A `wait: false` suite's hand-over: the server writes nothing for a suite until its step handed
its runs over (or their hold ended) and every run ended; its state is in the database, so a
restart between the step and the end still writes the report; what the server accepts as the
suite's inputs is what the action's settings accept."""

from __future__ import annotations

import dataclasses
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evals_action import github_app, hand_over, models, settings
from evals_action.server import (
    report_request,
    report_writing,
    reporter,
    reporting_config,
    suite_reporter,
)
from tests.fakes.github import FakeGitHub
from tests.integration import helpers

from .conftest import WAIT, FakeClock, FakeRollouts, running_server
from .test_suite_wait_false import (
    SCRIPT,
    _env,
    _finish_started,
    _last_states,
    _settings,
    _suite_rows,
    _until,
)

PR = {"repository": "octo-org/octo-repo", "pullRequest": helpers.PR, "sha": helpers.HEAD_SHA}


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        helpers.seed(fake, None)
        yield fake


def _final(github: FakeGitHub) -> bool:
    comments = github.comments(helpers.PR)
    return (
        bool(comments)
        and "Running…" not in comments[0]["body"]
        and not ({"pending"} & _last_states(github))
    )


def test_a_restart_between_the_step_and_the_end_still_writes_the_report(
    tmp_path: Path, github: FakeGitHub
) -> None:
    database = tmp_path / "db"
    before = FakeRollouts()
    with running_server(
        database=database, settings_=_settings(github), client_factory=before.factory
    ) as server:
        result = helpers.run_cli(_env(tmp_path, github, server, EVALS_WAIT="false"))
        assert result.code == 0, result.log
        _until(lambda: all(r.init_sent for r in _suite_rows(server)), lambda: "init never recorded")
        (pending,) = github.comments(helpers.PR)
    after = FakeRollouts()
    with running_server(
        database=database, settings_=_settings(github), client_factory=after.factory
    ) as server:
        for row in _suite_rows(server):
            after.finish(str(row.rollout_id), result=SCRIPT[(row.prompt_id, row.attempt)])
        _until(lambda: _final(github), lambda: github.comments(helpers.PR))
    (comment,) = github.comments(helpers.PR)
    assert comment["id"] == pending["id"]
    assert "1/2 passed" in comment["body"]
    assert "2/2 passed" in comment["body"]
    assert _last_states(github) == {"success"}
    assert not github.take_violations()


def test_a_suite_with_a_run_that_never_ends_is_closed_at_the_prompts_deadline(
    tmp_path: Path, github: FakeGitHub
) -> None:
    """Never `pending` for good: one run's agent never answers; past the prompt's
    `timeout_minutes` (here across a restart) the server ends it `failed` and reports the
    suite, that run with its reason."""
    clock, database = FakeClock(), tmp_path / "db"
    rollouts = FakeRollouts()
    options: dict[str, Any] = {"client_factory": rollouts.factory, "clock": clock}
    with running_server(database=database, settings_=_settings(github), **options) as server:
        result = helpers.run_cli(_env(tmp_path, github, server, EVALS_WAIT="false"))
        assert result.code == 0, result.log
        _until(lambda: all(r.init_sent for r in _suite_rows(server)), lambda: "init never recorded")
        for row in _suite_rows(server):
            if (row.prompt_id, row.attempt) != ("login", 2):
                rollouts.finish(str(row.rollout_id), result=SCRIPT[(row.prompt_id, row.attempt)])
        _until(lambda: sum(r.in_flight for r in _suite_rows(server)) == 1, lambda: "in flight")
        assert _last_states(github) == {"pending"}  # one run is still going: nothing final
    clock.advance(21 * 60)  # the prompts' default timeout_minutes is 20
    with running_server(database=database, settings_=_settings(github), **options) as server:
        _until(lambda: _final(github), lambda: github.statuses(helpers.HEAD_SHA))
    (comment,) = github.comments(helpers.PR)
    assert "The rollout did not finish within 20 minutes" in comment["body"]
    assert "pending" not in _last_states(github)
    assert not github.take_violations()


def test_runs_that_end_before_the_steps_pending_writes_are_reported_after_them(
    tmp_path: Path, github: FakeGitHub
) -> None:
    """Every run ends while the step's first pending status is on its way: the server holds
    the suite's report until the step handed its runs over, so the final statuses land last."""
    rollouts = FakeRollouts()
    pending = github.gate(method="POST", path_pattern=r"/statuses/")
    with running_server(
        database=tmp_path / "db", settings_=_settings(github), client_factory=rollouts.factory
    ) as server:

        def end_every_run_first(proc: subprocess.Popen[str]) -> None:
            done: set[str] = set()

            def ended() -> bool:
                _finish_started(server, rollouts, done)
                return len(done) == len(SCRIPT)

            _until(ended, lambda: f"{len(done)} runs started")
            _until(lambda: not any(r.in_flight for r in _suite_rows(server)), lambda: "in flight")
            _until(lambda: server.db.next_suite_hold_end() is not None, lambda: "never held")
            assert github.statuses(helpers.HEAD_SHA) == []  # the server waits for the step
            assert github.comments(helpers.PR) == []
            pending.release()

        env = _env(tmp_path, github, server, EVALS_WAIT="false")
        result = helpers.run_while(env, when=pending.arrived.is_set, then=end_every_run_first)
        assert result.code == 0, result.log
        _until(lambda: _final(github), lambda: github.statuses(helpers.HEAD_SHA))
    states = [s["state"] for s in github.statuses(helpers.HEAD_SHA)]
    assert states == ["pending", "pending", "success", "success"]  # the final ones last
    assert not github.take_violations()


def _start(
    server: Any, *, attempt: int, inputs: dict[str, str], suite: str = "s-1", hold: bool = True
) -> Any:
    report = {"by": "server", "hold": hold, "inputs": inputs}
    context = {**PR, "suite": suite, "attempt": attempt, "report": report}
    return server.session().post(
        f"{server.url}/api/v1/prompts/login/run",
        json={"urlMap": {"app.example.com": "http://127.0.0.1:9"}, "context": context},
        timeout=WAIT,
    )


def test_a_suite_whose_step_never_handed_over_is_reported_when_the_hold_ends(
    tmp_path: Path, github: FakeGitHub
) -> None:
    """Never `pending` for good: a step that died after starting one of its two planned runs
    gets its report when the hold ends, the missing run shown as not run."""
    clock, rollouts = FakeClock(), FakeRollouts()
    with running_server(
        database=tmp_path / "db",
        settings_=_settings(github),
        client_factory=rollouts.factory,
        clock=clock,
    ) as server:
        answer = _start(server, attempt=1, inputs={"prompt-id": "login", "repeats": "2"})
        assert answer.status_code == 201, answer.text
        run_id = answer.json()["runId"]
        (rollout_id,) = rollouts.started()
        rollouts.finish(rollout_id, result={"outcome": "succeeded", "score": 70})
        server.until(run_id, lambda body: body["status"] == models.COMPLETED)
        _until(lambda: server.db.next_suite_hold_end() is not None, lambda: "never held")
        assert github.statuses(helpers.HEAD_SHA) == []
        clock.advance(report_request.HOLD_SECONDS + 1)
        _until(lambda: bool(github.comments(helpers.PR)), lambda: "no report")
    (comment,) = github.comments(helpers.PR)
    assert "| 2 | Not run |" in comment["body"]
    (status,) = github.statuses(helpers.HEAD_SHA)
    # one completed run: its own text, as the action's status for a one-run sample
    assert (status["state"], status["description"]) == ("success", "Completed — see report")
    assert not github.take_violations()


@pytest.mark.parametrize(
    ("inputs", "words"),
    [
        ({"prompt-id": "login", "repeats": "51"}, "repeats"),
        ({"prompt-id": "login", "min-pass-rate": "2"}, "min-pass-rate"),
    ],
)
def test_suite_inputs_the_action_would_refuse_are_a_400(
    tmp_path: Path, github: FakeGitHub, inputs: dict[str, str], words: str
) -> None:
    rollouts = FakeRollouts()
    with running_server(
        database=tmp_path / "db", settings_=_settings(github), client_factory=rollouts.factory
    ) as server:
        answer = _start(server, attempt=1, inputs=inputs)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"].startswith("context.report.inputs: ")
        assert words in answer.json()["error"]
        assert _suite_rows(server) == []


def test_a_suites_ask_rebuilds_its_settings_on_the_server() -> None:
    """What a suite sends as `context.report.inputs` makes, through the server's parsing and
    `settings.load`, the settings that shape the step's report; nothing else is taken."""
    environ = {
        "EVALS_API_KEY": "k" * 12,
        "EVALS_API_BASE_URL": "http://127.0.0.1:9",
        "EVALS_URL_MAP": '{"app.example.com": "http://127.0.0.1:9"}',
        "EVALS_PROMPT_ID": "signup, login",
        "EVALS_REPEATS": "3",
        "EVALS_MIN_SCORE": "70.5",
        "EVALS_MIN_PASS_RATE": "0.8",
        "EVALS_FAIL_ON_REGRESSION": "true",
        "EVALS_TIMEOUT_FAILS": "true",
        "EVALS_BASELINE_RUNS": "7",
        "EVALS_STATUS_CONTEXT": "ci/evals",
        "EVALS_RESULTS_FILE": "out/results.json",
        "EVALS_WAIT": "false",
    }
    step = settings.load(environ, need_github_token=False)
    asked = hand_over.ask(config=step, comment_key="evals/eval")
    asked["inputs"]["results-file"] = "/etc/evil"  # a client may send more; it is dropped
    report = report_request.parse({"report": asked})
    assert report is not None
    assert report_request.problem(report) is None
    rebuilt = settings.load(
        {
            "EVALS_API_KEY": "x" * 12,
            "EVALS_API_BASE_URL": "http://127.0.0.1:9",
            "EVALS_URL_MAP": environ["EVALS_URL_MAP"],
            **report_request.environ(report),
        },
        need_github_token=False,
    )
    fields = (
        "prompt_ids", "repeats", "max_repeats", "min_score", "min_pass_rate",
        "fail_on_regression", "timeout_fails", "baseline_runs", "status_context", "skip_comment",
        "skip_status",
    )  # fmt: skip
    assert {f: getattr(rebuilt, f) for f in fields} == {f: getattr(step, f) for f in fields}
    assert rebuilt.comment_key == "evals/eval"  # as the step resolved it
    assert rebuilt.results_file == ""  # never a file on the server


def test_a_dry_run_shows_what_a_suite_would_send_and_asks_nothing(
    tmp_path: Path, github: FakeGitHub
) -> None:
    """`--dry-run` of a `wait: false` suite: the start request carries the inputs the server
    would rebuild the report from (the comment key resolved); nothing is sent or written."""
    from tests.fakes.evals import FakeEvals

    with FakeEvals() as evals:
        helpers.seed(None, evals)
        env = helpers.environment(
            tmp_path / "runner",
            github,
            None,
            EVALS_API_BASE_URL=evals.url,
            EVALS_API_KEY=evals.api_key,
            EVALS_PROMPT_ID="signup,login",
            EVALS_REPEATS="2",
            EVALS_URL_MAP='{"app.example.com": "http://127.0.0.1:9"}',
            EVALS_WAIT="false",
        )
        result = helpers.run_cli(env, "--dry-run")
        asked = list(evals.requests)
    assert result.code == 0, result.log
    assert asked == []
    assert (
        '"inputs": {"prompt-id": "signup,login", "repeats": "2", "comment-key": "evals/eval"'
        in (result.log)
    )
    assert "every run would start at once" in result.log
    assert github.statuses(helpers.HEAD_SHA) == []
    assert github.comments(helpers.PR) == []


def test_github_refusing_a_suites_comment_ends_in_error_statuses_never_pending(
    tmp_path: Path, github: FakeGitHub
) -> None:
    """Refused every time: the suite's report is tried `ATTEMPTS` times, then its status says
    `error` and why, as for one run. (A server without [github] stores the runs, so only the
    reporter under test writes.)"""
    rollouts = FakeRollouts()
    quiet = dataclasses.replace(_settings(github), reporting=reporting_config.ReportingConfig())
    with running_server(
        database=tmp_path / "db", settings_=quiet, client_factory=rollouts.factory
    ) as server:
        for attempt, score in ((1, 70), (2, 80)):
            answer = _start(server, attempt=attempt, inputs={"prompt-id": "login", "repeats": "2"})
            assert answer.status_code == 201, answer.text
            rollouts.finish(
                rollouts.started(attempt)[-1], result={"outcome": "succeeded", "score": score}
            )
            server.until(answer.json()["runId"], lambda b: b["status"] == models.COMPLETED)
        github.fail_next(
            method="POST", path_pattern=r"/issues/\d+/comments$", status=403, times=None
        )
        writing = report_writing.Writing(
            db=server.db,
            tokens=github_app.StaticToken(github.token),
            api_url=github.url,
            public_url=server.url,
            secrets=(),
            stop=threading.Event(),
            retry_delay=0.001,
        )
        reports = suite_reporter.SuiteReports(writing=writing, settings_of=reporter.action_settings)
        rows = [d.row for d in server.db.suite_reports(suite="s-1")]
        assert not reports.report(suite="s-1", rows=rows, comment_id=None)
    statuses = github.statuses(helpers.HEAD_SHA)
    assert [s["state"] for s in statuses] == ["success"] * reporter.ATTEMPTS + ["error"]
    assert (
        "The evals server could not write the report to GitHub (PR comment: "
        in statuses[-1]["description"]
    )
    assert github.comments(helpers.PR) == []


def test_a_suite_superseded_by_a_newer_step_leaves_the_report_to_it(
    tmp_path: Path, github: FakeGitHub
) -> None:
    """A newer step's run supersedes the older step's run in flight: only the newer suite is
    reported (on the same status context and comment)."""
    rollouts = FakeRollouts()
    inputs = {"prompt-id": "login"}
    with running_server(
        database=tmp_path / "db", settings_=_settings(github), client_factory=rollouts.factory
    ) as server:
        older = _start(server, attempt=1, inputs=inputs, suite="older", hold=False)
        newer = _start(server, attempt=1, inputs=inputs, suite="newer", hold=False)
        server.until(older.json()["runId"], lambda b: b["status"] == models.SUPERSEDED)
        rollouts.finish(rollouts.started(2)[-1], result={"outcome": "succeeded", "score": 70})
        server.until(newer.json()["runId"], lambda b: b["status"] == models.COMPLETED)
        _until(lambda: bool(github.comments(helpers.PR)), lambda: "no report")
        _until(lambda: server.db.suites_due() == [], lambda: server.db.suites_due())
    (status,) = github.statuses(helpers.HEAD_SHA)
    assert status["state"] == "success"
    (comment,) = github.comments(helpers.PR)
    assert newer.json()["runId"].replace("-", "")[:10] in comment["body"]
    assert older.json()["runId"].replace("-", "")[:10] not in comment["body"]


def test_a_server_with_an_app_finds_its_own_suite_comment_again(
    tmp_path: Path, github: FakeGitHub
) -> None:
    """Two suites on one PR whose steps never handed a comment over: the server (an App, which
    writes as `<slug>[bot]` and gets 403 from `GET /user`) finds the comment it wrote for the
    first one and edits it for the second: one comment, no `GET /user`."""
    from tests.fakes.oidc import new_key

    from .test_github_app import APP_ID, INSTALLATION, _pem, _public_pem

    key = new_key()
    github.add_app(app_id=APP_ID, public_key_pem=_public_pem(key), installation_id=INSTALLATION)
    app = reporting_config.GitHubSettings(
        api_url=github.url, app_id=str(APP_ID), private_key=_pem(key)
    )
    with_app = dataclasses.replace(
        _settings(github), reporting=reporting_config.ReportingConfig(github=app)
    )
    rollouts = FakeRollouts()
    with running_server(
        database=tmp_path / "db", settings_=with_app, client_factory=rollouts.factory
    ) as server:
        for n, suite in enumerate(("s-1", "s-2"), start=1):
            answer = _start(
                server, attempt=1, inputs={"prompt-id": "login"}, suite=suite, hold=False
            )
            assert answer.status_code == 201, answer.text
            rollouts.finish(rollouts.started(n)[-1], result={"outcome": "succeeded", "score": 70})
            _until(
                lambda n=n: len(github.statuses(helpers.HEAD_SHA)) == n,  # type: ignore[misc]
                lambda: [f"{r.method} {r.route}" for r in github.requests],
            )
    (comment,) = github.comments(helpers.PR)
    assert comment["user"]["login"] == f"evals-app-{APP_ID}[bot]"
    assert not [r for r in github.requests if r.route == "/user"]
    assert not github.take_violations()
