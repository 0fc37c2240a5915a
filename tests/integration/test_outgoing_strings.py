"""What leaves the process, through the real CLI: no secret in any sink (comment, status,
summary, outputs, log, annotations) even when the server echoes it back, escaped or cut; no
workflow command forged by server text; the first log line; `--local` prints the status."""

from __future__ import annotations

import pathlib
import re
from typing import Any

import pytest

from evals_action import render
from tests.fakes.evals import ECHO_API_KEY, FakeEvals
from tests.fakes.github import FakeGitHub
from tests.integration.helpers import (
    HEAD_SHA,
    PR,
    PROMPT_ID,
    Result,
    environment,
    no_traceback,
    run_cli,
    seed,
)
from tests.integration.test_flow_timing import FakeTime, run_flow

# Markdown-special characters on purpose: the comment and summary escape `_` and `*`.
API_KEY = "evals_k*y_with_*marks*_0123456789"
TOKEN = "ghs_t*k_en_*secret*_ABCDEFGHIJ"
SECRETS = (API_KEY, TOKEN)
KEYS = pytest.mark.parametrize(
    ("fake_evals", "fake_github"), [({"api_key": API_KEY}, {"token": TOKEN})], indirect=True
)
# The runner ends a line at \n, \r or \r\n (.NET StreamReader.ReadLine).
RUNNER_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def leaks(text: str, secret: str) -> list[str]:
    """Every form of `secret` (as is, Markdown-escaped, JSON-escaped) of which 8 or more
    leading characters appear in `text`: what a cut could leave of it."""
    forms = {secret, render.md(secret), secret.replace("\\", "\\\\")}
    return [form[:8] for form in forms if form[:8] in text]


def places(result: Result, github: FakeGitHub) -> dict[str, str]:
    log = "\n".join(line for line in result.log.splitlines() if not line.startswith("::add-mask::"))
    found = {"log": log, "summary": result.summary}
    found |= {f"output {k}": v for k, v in result.outputs.items()}
    found |= {f"comment {c['id']}": c["body"] for c in github.comments(PR)}
    for n, status in enumerate(github.statuses(HEAD_SHA)):
        found |= {f"status {n} {k}": str(v) for k, v in status.items()}
    return found


def assert_nothing_leaks(result: Result, github: FakeGitHub) -> None:
    for where, text in places(result, github).items():
        for secret in SECRETS:
            assert not leaks(text, secret), f"{secret!r} leaked into {where}: {text!r}"


# A reason long enough that the 140-character status description cuts through the api key.
PADDING = "The agent could not log in " + "." * 78 + " key="
FAILED = {"status": "failed", "failureReason": f"{PADDING}{ECHO_API_KEY} token={TOKEN}"}
DNF = {
    "status": "completed",
    "report": {
        "outcome": "failed",
        "url": "https://2027.dev/evals/reports/x",
        "keyFinding": f"{PADDING}{ECHO_API_KEY}",
        "verdict": f"Login refused for {TOKEN}",
        "metrics": {"errors": 1},
    },
}


@KEYS
@pytest.mark.parametrize(("step", "state"), [(FAILED, "error"), (DNF, "failure")])
def test_secrets_echoed_by_the_server_reach_no_sink(
    tmp_path: pathlib.Path,
    fake_github: FakeGitHub,
    fake_evals: FakeEvals,
    step: dict[str, Any],
    state: str,
) -> None:
    """The server quotes the api key (and the token) in the title and the reason; the status
    description is cut in the middle of the key. Nothing of either reaches any sink."""
    seed(fake_github, None)
    fake_evals.add_prompt(prompt_id=PROMPT_ID, title=f"Log in {ECHO_API_KEY} now", text="x")
    fake_evals.script(PROMPT_ID, [{"status": "running"}, step])
    assert PADDING.index("key=") + 4 < 137 < len(PADDING) + len(API_KEY)  # the cut is inside
    result = run_cli(environment(tmp_path, fake_github, fake_evals))
    no_traceback(result)
    assert_nothing_leaks(result, fake_github)
    final = fake_github.statuses(HEAD_SHA)[-1]
    assert final["state"] == state
    assert final["context"] == "2027/eval/log-in-now"
    assert "***" in final["description"]
    assert len(final["description"]) <= 140
    body = fake_github.comments(PR)[0]["body"]
    assert "### 2027 // Log in *** now — " in body
    assert "### 2027 // Log in *** now — " in result.summary
    output = "report-json" if step is DNF else "failure-reason"
    assert "key=***" in result.outputs[output]


@KEYS
def test_server_text_cannot_forge_workflow_commands_with_a_bare_carriage_return(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    """A title and a reason with `\\r`, `\\r\\n` and `##[`: read as the runner reads the log,
    no line is a workflow command we did not write."""
    seed(fake_github, None)
    forged = "x\r::stop-commands::pwned\r\n::error::forged\r  ::warning::w ##[error]legacy"
    fake_evals.add_prompt(prompt_id=PROMPT_ID, title=f"Sign up {forged}", text="x")
    fake_evals.script(PROMPT_ID, [{"status": "failed", "failureReason": forged}])
    result = run_cli(environment(tmp_path, fake_github, fake_evals))
    no_traceback(result)
    lines = RUNNER_LINE_BREAK.split(result.stdout)
    commands = [line.lstrip() for line in lines if line.lstrip().startswith("::")]
    assert any(c.startswith("::error title=evals-action::") for c in commands), result.stdout
    kinds = {re.sub(r"[ :].*", "", c[2:]) for c in commands}
    assert kinds <= {"add-mask", "group", "endgroup", "error", "warning"}, commands
    assert not [c for c in commands if c.startswith(("::error::", "::warning::"))], commands
    legacy = [line for line in lines if not line.lstrip().startswith("::") and "##[" in line]
    assert legacy == []
    assert "Sign up x" in result.stdout  # the title is still shown, defused


def test_completed_run_whose_grace_polls_the_deadline_cuts_did_not_finish(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    """Contract §5: `completed` without a report, deadline 8 s after creation: grace polls at
    5 s and 8 s, then the wait ends. The run is over, so "Did not finish" (failure), not
    "Still running"."""
    seed(fake_github, fake_evals)
    fake_evals.script(PROMPT_ID, [{"status": "completed"}])
    t = FakeTime()
    code, log = run_flow(
        tmp_path, fake_github, fake_evals, t, EVALS_WAIT_TIMEOUT_MINUTES=str(8 / 60)
    )
    assert code == 0, log
    assert t.sleeps == [5, 3]
    final = fake_github.statuses(HEAD_SHA)[-1]
    assert (final["state"], final["description"]) == ("failure", "Did not finish — unknown reason")
    assert "— Did not finish" in fake_github.comments(PR)[0]["body"]


def test_local_prints_the_status_it_would_set_with_the_comment_and_outputs(
    tmp_path: pathlib.Path, fake_evals: FakeEvals
) -> None:
    """Contract §8: `--local` on a laptop (no GitHub context, no commit) still prints the
    commit status it would set: state, context, description and link, before the comment."""
    seed(None, fake_evals)
    env = environment(
        tmp_path,
        None,
        fake_evals,
        GITHUB_EVENT_PATH=None,
        GITHUB_ACTIONS=None,
        GITHUB_REPOSITORY=None,
        GITHUB_SHA=None,
        GITHUB_EVENT_NAME=None,
    )
    result = run_cli(env, "--local")
    no_traceback(result)
    assert result.code == 0, result.log
    lines = result.stdout.splitlines()
    status, comment, outputs = (lines.index(f"--- {g}") for g in ("Status", "Comment", "Outputs"))
    assert status < comment < outputs
    assert lines[status + 1] == (
        "Status: success '2027/eval/sign-up-and-create-a-project': Completed — see report"
        " → https://2027.dev/evals/reports/checkout-flow"
    )


@pytest.mark.parametrize("mode", [(), ("--local",), ("--dry-run",)])
def test_the_first_log_line_names_the_resolved_api_base_url(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals, mode: tuple[str, ...]
) -> None:
    """As the managed action's README promises: the first line (after the masks, which the
    runner does not show) says which API the run talks to, trailing slash stripped."""
    seed(fake_github, fake_evals)
    env = environment(tmp_path, fake_github, fake_evals, EVALS_API_BASE_URL=fake_evals.url + "/")
    result = run_cli(env, *mode)
    assert result.code == 0, result.log
    shown = [line for line in result.stdout.splitlines() if not line.startswith("::add-mask::")]
    assert shown[0] == f"2027 eval action: API base={fake_evals.url}"


def test_the_first_log_line_of_a_skipped_fork_pr_names_the_api_base_url_too(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals, fork=True)
    result = run_cli(environment(tmp_path, fake_github, fake_evals, fork=True))
    assert result.code == 0, result.log
    shown = [line for line in result.stdout.splitlines() if not line.startswith("::add-mask::")]
    assert shown[0] == f"2027 eval action: API base={fake_evals.url}"
    assert shown[1].startswith("::warning title=evals-action::PR is from a fork")
