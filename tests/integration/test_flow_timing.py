"""The whole flow in-process with a fake clock: real HTTP to the loopback fakes, no real sleeps.

These pin the timing rules that a child process could only show by waiting for real: start
retries with one Idempotency-Key, Retry-After as seconds and as an HTTP date, grace polls.
"""

from __future__ import annotations

import email.utils
import io
import pathlib
import time

import pytest

from evals_action import action, actions_runtime, errors, github_api, settings, sinks, transport
from tests.fakes.evals import FakeEvals, Fault
from tests.fakes.github import FakeGitHub
from tests.integration.helpers import HEAD_SHA, PROMPT_ID, environment, seed


class FakeTime:
    """`clock` and `sleep` for the flow: sleeping only moves the clock forward."""

    def __init__(self) -> None:
        self.now = 50_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 2))
        self.now += seconds


def run_flow(
    tmp_path: pathlib.Path, github: FakeGitHub, evals: FakeEvals, fake_time: FakeTime, **env: str
) -> tuple[int, str]:
    environ = environment(tmp_path, github, evals, EVALS_POLL_INTERVAL_SECONDS="20", **env)
    config = settings.load(environ)
    out = io.StringIO()
    deps = action.Deps(
        session=transport.new_session(),
        github=lambda token="", repository="": github_api.GitHub(
            token=token or config.github_token,
            api_url=config.github.api_url,
            repository=repository or config.github.repository,
            user_agent=transport.USER_AGENT,
            backoff_factor=0,
        ),
        step=actions_runtime.StepIO(
            output_path=config.github.output_path,
            actions=True,
            stdout=out,
            secret_values=config.secrets,
        ),
        clock=fake_time.clock,
        sleep=fake_time.sleep,
        rand=lambda a, b: 1.0,
        new_id=lambda: "11111111-2222-3333-4444-555555555555",
        new_session=transport.new_session,
    )
    code = action.run(config=config, deps=deps, sink=sinks.to_github)
    return code, out.getvalue()


def test_start_is_retried_with_one_idempotency_key(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    """503, reset, 429 (Retry-After 3), then created: waits 1, 2, 3 s; one key; one run."""
    seed(fake_github, fake_evals)
    fake_evals.start_faults(
        [
            Fault(status=503),
            Fault(reset=True),
            Fault(status=429, headers={"Retry-After": "3"}),
        ]
    )
    t = FakeTime()
    code, log = run_flow(tmp_path, fake_github, fake_evals, t)
    assert code == 0, log
    assert t.sleeps[:3] == [1, 2, 3]
    assert fake_evals.idempotency_keys == ["11111111-2222-3333-4444-555555555555"] * 4
    assert len(fake_evals.runs) == 1


def test_lost_start_response_does_not_start_a_second_run(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    """The run is created but the answer is lost (502): the retry gets the same run back."""
    seed(fake_github, fake_evals)
    fake_evals.start_faults([Fault(status=502, after_create=True)])
    t = FakeTime()
    code, log = run_flow(tmp_path, fake_github, fake_evals, t)
    assert code == 0, log
    assert len(fake_evals.runs) == 1


def test_start_gives_up_after_four_attempts(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    fake_evals.start_faults([Fault(status=503)] * 4)
    t = FakeTime()
    with pytest.raises(errors.APIError, match="gave up after 4 attempts"):
        run_flow(tmp_path, fake_github, fake_evals, t)
    assert t.sleeps == [1, 2, 4]
    assert fake_github.statuses(HEAD_SHA) == []


def test_retry_after_seconds_and_http_date_are_honoured_while_polling(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    """An HTTP-date an hour ahead waits the 60 s cap (backoff alone would wait 40 s); a 429 with
    `Retry-After: 7` waits exactly 7 s. No wall-clock dependence: the date is far beyond the cap."""
    seed(fake_github, fake_evals)
    an_hour_ahead = email.utils.formatdate(time.time() + 3600, usegmt=True)
    fake_evals.script(
        PROMPT_ID,
        [
            {"status": "running"},
            Fault(status=503, headers={"Retry-After": an_hour_ahead}),
            {"status": "running"},
            Fault(status=429, headers={"Retry-After": "7"}),
            {"status": "completed", "report": {"outcome": "succeeded", "score": 1}},
        ],
    )
    t = FakeTime()
    code, log = run_flow(tmp_path, fake_github, fake_evals, t, EVALS_WAIT_TIMEOUT_MINUTES="10")
    assert code == 0, log
    assert t.sleeps == [20, 60, 20, 7]


def test_completed_without_report_gets_grace_polls(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    fake_evals.script(
        PROMPT_ID,
        [
            {"status": "completed"},
            {"status": "completed"},
            {"status": "completed", "report": {"outcome": "succeeded", "score": 5}},
        ],
    )
    t = FakeTime()
    code, log = run_flow(tmp_path, fake_github, fake_evals, t)
    assert code == 0, log
    assert t.sleeps == [5, 5]
    assert fake_github.statuses(HEAD_SHA)[-1]["description"] == "Completed — see status page"


def test_deadline_counts_from_run_creation_and_is_never_overslept(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    fake_evals.script(PROMPT_ID, [{"status": "running"}])
    t = FakeTime()
    code, log = run_flow(tmp_path, fake_github, fake_evals, t, EVALS_WAIT_TIMEOUT_MINUTES="1.5")
    assert code == 0, log
    assert sum(t.sleeps) == pytest.approx(90)
    assert fake_github.statuses(HEAD_SHA)[-1]["description"] == "Still running — see status page"


@pytest.mark.parametrize("fake_evals", [{"long_poll": 5}], indirect=True)
def test_long_polling_is_used_only_when_advertised(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    fake_evals.script(
        PROMPT_ID,
        [{"status": "running"}, {"status": "completed", "report": {"outcome": "succeeded"}}],
    )
    t = FakeTime()
    code, log = run_flow(tmp_path, fake_github, fake_evals, t)
    assert code == 0, log
    gets = [r for r in fake_evals.requests if r.method == "GET" and "/runs/" in r.path]
    assert "wait" not in gets[0].query  # the first read learns the header
    assert gets[1].query.get("wait") == "5"
    assert t.sleeps == [0]


def test_github_5xx_on_status_is_retried_by_the_client(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    fake_github.fail_next(method="POST", path_pattern=r"/statuses/", status=502, times=1)
    t = FakeTime()
    code, log = run_flow(tmp_path, fake_github, fake_evals, t)
    assert code == 0, log
    assert [s["state"] for s in fake_github.statuses(HEAD_SHA)] == ["pending", "success"]
    posts = [r for r in fake_github.requests if r.method == "POST" and "/statuses/" in r.path]
    assert [r.status for r in posts][:2] == [502, 201]


def test_a_failed_first_read_is_retried_so_the_context_uses_the_title(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    """A 503 right after the start: one quick retry (1 s) gets the title, so the pending and
    final statuses carry the title's context, not the prompt id's."""
    seed(fake_github, fake_evals)
    fake_evals.script(
        PROMPT_ID,
        [
            Fault(status=503),
            {"status": "running"},
            {"status": "completed", "report": {"outcome": "succeeded", "score": 3}},
        ],
    )
    t = FakeTime()
    code, log = run_flow(tmp_path, fake_github, fake_evals, t)
    assert code == 0, log
    assert t.sleeps[0] == 1
    contexts = {s["context"] for s in fake_github.statuses(HEAD_SHA)}
    assert contexts == {"2027/eval/sign-up-and-create-a-project"}
