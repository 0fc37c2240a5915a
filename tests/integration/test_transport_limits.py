"""Transport limits (issue 8): every request ends by its time limit and the wait's deadline, even
against a server that drips its answer a byte at a time, and no answer is read past its size cap;
a malformed answer (too large, nested too deep) ends in the contract's error rows, not a traceback.

The drip tests are real time by nature (a read timeout restarts with every byte): the limits are
made small, and each test asserts which outcome row the run ended in, never a duration.
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import socket
import zipfile

import pytest

from evals_action import errors, github_actions_api, github_api, models, transport
from evals_action.backends import evals_api
from evals_action.eval_protocol import remote_client, workflow_client
from tests.backends.servers import RolloutService
from tests.fakes._http import Reply
from tests.fakes.evals import DEFAULT_API_KEY, DEFAULT_REPORT, FakeEvals, Fault
from tests.fakes.github import FakeGitHub
from tests.integration.helpers import (
    HEAD_SHA,
    PROMPT_ID,
    environment,
    no_traceback,
    run_cli,
    seed,
)

CONTEXT = "2027/eval/sign-up-and-create-a-project"
# A finished run, whose last byte a dripping server sends about ten seconds after the first.
COMPLETED = json.dumps({"status": "completed", "report": DEFAULT_REPORT}).ljust(500)
DRIP = 0.02
NESTED = "[" * 5000 + "]" * 5000
INIT_REQUEST = {
    "completion_params": {"model": "m"},
    "messages": [{"role": "user", "content": "hi"}],
    "tools": None,
    "model_base_url": None,
    "metadata": {
        "invocation_id": "i",
        "experiment_id": "e",
        "rollout_id": "r1",
        "run_id": "x",
        "row_id": "p",
    },
    "api_key": None,
}
DISPATCH_INPUTS = {
    "completion_params": "{}",
    "metadata": json.dumps({"rollout_id": "r-1"}),
    "model_base_url": "https://models.test/v1",
    "api_key": "",
}


def backend(fake: FakeEvals, *, timeout: tuple[float, float]) -> evals_api.EvalsApiBackend:
    return evals_api.EvalsApiBackend(
        session=transport.new_session(), base_url=fake.url, api_key=DEFAULT_API_KEY, timeout=timeout
    )


def started_run(b: evals_api.EvalsApiBackend) -> models.StartedRun:
    return b.start(
        request=models.StartRequest(
            prompt_id=PROMPT_ID,
            url_map={"a.com": "https://b.dev"},
            template_args=None,
            idempotency_key="key-1",
        )
    )


@pytest.mark.parametrize("headers_too", [False, True], ids=["body", "headers"])
def test_a_dripped_answer_ends_at_the_overall_time_limit(
    fake_evals: FakeEvals, headers_too: bool
) -> None:
    """Connect + read timeouts of 0.5 s each: a byte every 20 ms never trips the read timeout,
    but the request as a whole is cut at 1 s and is a transient error (retried by polling)."""
    fake_evals.add_prompt(prompt_id=PROMPT_ID, title="T", text="x")
    fake_evals.script(
        PROMPT_ID, [Fault(status=200, raw_body=COMPLETED, drip=DRIP, drip_headers=headers_too)]
    )
    b = backend(fake_evals, timeout=(0.5, 0.5))
    run = started_run(b)
    with pytest.raises(errors.TransientAPIError, match=r"^read eval run: timed out: no complete"):
        b.fetch(run_id=run.run_id)


def test_the_session_deadline_ends_a_request_sooner_than_its_own_limit(
    fake_evals: FakeEvals,
) -> None:
    fake_evals.add_prompt(prompt_id=PROMPT_ID, title="T", text="x")
    fake_evals.script(PROMPT_ID, [Fault(status=200, raw_body=COMPLETED, drip=DRIP)])
    session = transport.new_session()
    b = evals_api.EvalsApiBackend(
        session=session, base_url=fake_evals.url, api_key=DEFAULT_API_KEY, timeout=(10, 30)
    )
    run = started_run(b)
    with session.deadline(seconds=0.5), pytest.raises(errors.TransientAPIError, match="0.5 s"):
        b.fetch(run_id=run.run_id)
    with session.deadline(seconds=0), pytest.raises(errors.TransientAPIError, match="ended before"):
        b.fetch(run_id=run.run_id)


@pytest.mark.parametrize("headers_too", [False, True], ids=["body", "headers"])
def test_a_dripping_server_cannot_hold_the_status_pending_past_the_deadline(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals, headers_too: bool
) -> None:
    """wait-timeout-minutes 0.05 (3 s): the poll whose answer (a finished run) would take ten
    seconds to arrive is cut at the deadline, and the run ends in the timeout row."""
    seed(fake_github, fake_evals)
    fake_evals.script(
        PROMPT_ID,
        [
            {"status": "running"},
            Fault(status=200, raw_body=COMPLETED, drip=DRIP, drip_headers=headers_too),
        ],
    )
    env = environment(tmp_path, fake_github, fake_evals, EVALS_WAIT_TIMEOUT_MINUTES="0.05")
    result = run_cli(env)
    no_traceback(result)
    assert result.code == 0, result.log
    assert result.outputs["final-status"] == "running"
    final = fake_github.statuses(HEAD_SHA)[-1]
    assert (final["state"], final["context"], final["description"]) == (
        "success",
        CONTEXT,
        "Still running — see status page",
    )


def test_deeply_nested_start_response_is_one_clear_line(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    fake_evals.start_faults([Fault(status=200, raw_body=NESTED)])
    result = run_cli(environment(tmp_path, fake_github, fake_evals))
    no_traceback(result)
    assert result.code == 1, result.log
    errors_ = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert errors_ == [
        "::error title=evals-action::start eval run: the server sent JSON nested deeper than 64 "
        f"levels (HTTP 200 from {fake_evals.url}/api/v1/prompts/{PROMPT_ID}/run); check the API "
        "URL"
    ]
    assert fake_github.statuses(HEAD_SHA) == []


@pytest.mark.parametrize(
    "answer",
    [
        Fault(status=200, body={"status": "completed", "report": {"verdict": "x" * 5_000_000}}),
        Fault(status=200, raw_body=NESTED),
    ],
    ids=["5 MB", "nested"],
)
def test_an_unreadable_run_answer_ends_in_status_unavailable(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals, answer: Fault
) -> None:
    """Three unreadable answers in a row: the error row, and nothing of the body in the outputs
    (a 5 MB report used to become report-json, twice its size in GITHUB_OUTPUT)."""
    seed(fake_github, fake_evals)
    fake_evals.script(PROMPT_ID, [{"status": "running"}, answer])
    env = environment(tmp_path, fake_github, fake_evals)
    result = run_cli(env)
    no_traceback(result)
    assert result.code == 1, result.log
    final = fake_github.statuses(HEAD_SHA)[-1]
    assert final["state"] == "error"
    reason = "larger than the 1 MiB limit" if answer.body else "nested deeper than 64 levels"
    assert final["description"].startswith("Eval status unavailable — read eval run: the ")
    assert reason in result.outputs["failure-reason"]
    assert result.outputs["report-json"] == ""
    assert pathlib.Path(env["GITHUB_OUTPUT"]).stat().st_size < 10_000


def test_an_oversized_error_answer_is_cut_and_still_retried(fake_evals: FakeEvals) -> None:
    """A 503 from a proxy with a 5 MB page stays a transient error; only its start is shown."""
    fake_evals.add_prompt(prompt_id=PROMPT_ID, title="T", text="x")
    fake_evals.script(PROMPT_ID, [Fault(status=503, raw_body="busy " * 1_000_000)])
    b = backend(fake_evals, timeout=(2, 2))
    run = started_run(b)
    with pytest.raises(errors.TransientAPIError, match=r"HTTP 503 .*: busy busy") as info:
        b.fetch(run_id=run.run_id)
    assert len(info.value.message) < 500


def test_a_dripped_answer_to_the_rollout_init_ends_at_its_time_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rollout client's `POST /init` has the same limits (not only `transport.send`)."""
    monkeypatch.setattr(remote_client, "INIT_TIMEOUT", (0.5, 0.5))
    with RolloutService() as service:
        service.init_replies.append(Reply(200, COMPLETED.encode(), drip=DRIP))
        client = remote_client.RemoteRolloutClient(
            session=transport.new_session(), rollout_url=service.url
        )
        with pytest.raises(errors.TransientAPIError, match="no complete answer within 1 s"):
            client.init(request=INIT_REQUEST)


def test_a_dripped_artifact_download_ends_at_its_time_limit() -> None:
    """The rollout result zip comes from a signed URL that may drip too: its limit is the 10 s
    connect timeout plus the 2 s read timeout, and the zip would take a minute to arrive. (The
    read timeout is 10 times the drip's gap: on a loaded machine a 0.5 s one was sometimes
    exceeded between two bytes, which ends the download as a network error instead.)"""
    files = {
        "rollout-result.json": json.dumps({"schema": 1, "outcome": "succeeded"}).encode(),
        "noise.bin": os.urandom(200),  # incompressible, so the zip stays over 300 bytes
    }
    with FakeGitHub() as fake:
        fake.add_workflow(workflow_id="rollout.yml", numeric_id=4242, artifact_files=files)
        fake.download_drip = 0.2
        gh = github_api.GitHub(
            token=fake.token, api_url=fake.url, repository=fake.full_name, user_agent="test"
        )
        actions = github_actions_api.Actions(github=gh, download_timeout=2.0)
        actions.dispatch(workflow="rollout.yml", ref="main", inputs=DISPATCH_INPUTS)
        (run,) = actions.workflow_runs(
            workflow="rollout.yml", event="workflow_dispatch", branch="main", created=">=2000-01-01"
        )
        while actions.workflow_run(run_id=run.id).status != "completed":
            pass
        (artifact,) = actions.run_artifacts(run_id=run.id)
        with pytest.raises(errors.TransientAPIError, match="no complete answer within 12 s"):
            actions.download_artifact(artifact_id=artifact.id)
        assert fake.violations == []


def _zip(**files: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name.replace("_", "-") + ".json", data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"schema": 1, "summary": "' + b" " * 50_000_000 + b'"}', "larger than 1 MiB"),
        (NESTED.encode(), "is not valid JSON"),
        (b'{"schema": 1, "extra": ' + b"[" * 100 + b"]" * 100 + b"}", "nested too deeply"),
    ],
    ids=["50 MB unpacked", "nested past the parser", "nested past the limit"],
)
def test_the_rollout_result_in_an_artifact_has_the_same_limits(content: bytes, reason: str) -> None:
    """A 50 MB result zips to a few KB (a zip bomb): it is not unpacked past 1 MiB."""
    data = _zip(rollout_result=content)
    assert len(data) < 100_000
    with pytest.raises(ValueError, match=reason):
        workflow_client.result_from_zip(data)


def test_request_turns_a_refused_connection_into_unanswered() -> None:
    """`transport.request`: no `requests` exception escapes, and no cause carries the request."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    with transport.new_session() as session, pytest.raises(transport.Unanswered) as caught:
        transport.request(session, method="POST", url=f"http://127.0.0.1:{port}/init", json={})
    assert (caught.value.timed_out, caught.value.reason) == (False, "Connection refused")
    assert caught.value.kind == "ConnectionError"
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
