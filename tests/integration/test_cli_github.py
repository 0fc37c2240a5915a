"""The real CLI, as a child process, against the loopback evals API and GitHub fakes.

Each test pins one row of the contract's tables (events, outcomes, comment rules) or one fault.
Both fakes validate every request (GitHub's OpenAPI description; the evals wire contract) and fail
the test at teardown on any violation.
"""

from __future__ import annotations

import pathlib
import signal

import pytest

from tests.fakes.evals import DEFAULT_API_KEY, FakeEvals, Fault
from tests.fakes.events import event_payload
from tests.fakes.github import FakeGitHub
from tests.integration.helpers import (
    HEAD_SHA,
    MARKER,
    PR,
    PROMPT_ID,
    assert_no_secrets,
    environment,
    github_calls,
    no_traceback,
    run_and_signal,
    run_cli,
    run_while,
    seed,
)

CONTEXT = "2027/eval/sign-up-and-create-a-project"


def states(github: FakeGitHub, sha: str = HEAD_SHA) -> list[tuple[str, str, str]]:
    return [(s["state"], s["context"], s["description"]) for s in github.statuses(sha)]


def test_fresh_pr_success_end_to_end(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    """A fresh PR: pending then success status, one comment, all outputs, at most 5 requests."""
    seed(fake_github, fake_evals)
    result = run_cli(environment(tmp_path, fake_github, fake_evals))
    no_traceback(result)
    assert result.code == 0, result.log
    assert states(fake_github) == [
        ("pending", CONTEXT, "Running eval..."),
        ("success", CONTEXT, "Completed — see report"),
    ]
    comments = fake_github.comments(PR)
    assert len(comments) == 1
    body = comments[0]["body"]
    assert body.startswith(MARKER + "\n### 2027 // Sign up and create a project — **Succeeded**")
    assert "[View report →](" in body
    run = fake_evals.runs[0]
    assert result.outputs["run-id"] == run["runId"]
    assert result.outputs["final-status"] == "completed"
    assert result.outputs["prompt-title"] == "Sign up and create a project"
    assert result.outputs["score"] != ""
    assert result.outputs["report-json"].startswith("{")
    assert "### 2027 // Sign up and create a project — **Succeeded**" in result.summary
    assert run["body"]["urlMap"] == {"docs.example.com": "https://pr-42.preview.example.dev"}
    assert "templateArgs" not in run["body"]
    calls = github_calls(fake_github)
    assert len(calls) <= 5, calls
    assert not any(c.startswith("GET /user") for c in calls)
    assert_no_secrets(result, DEFAULT_API_KEY, fake_github.token, github=fake_github)
    # Masked at once: the runner hides these values in every later log line.
    first = result.stdout.splitlines()[:2]
    assert sorted(first) == sorted(
        [f"::add-mask::{DEFAULT_API_KEY}", f"::add-mask::{fake_github.token}"]
    )


def test_existing_comment_of_ours_is_updated_on_page_three(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    """250 comments; ours (by github-actions[bot]) is the 201st: found, updated, not duplicated."""
    seed(fake_github, fake_evals)
    for i in range(200):
        fake_github.add_comment(issue_number=PR, body=f"chatter {i}", user_login="someone")
    ours = fake_github.add_comment(
        issue_number=PR, body=MARKER + "\nold", user_login="github-actions[bot]", user_type="Bot"
    )
    for i in range(49):
        fake_github.add_comment(issue_number=PR, body=f"more {i}", user_login="someone")
    result = run_cli(environment(tmp_path, fake_github, fake_evals))
    assert result.code == 0, result.log
    comments = fake_github.comments(PR)
    assert len(comments) == 250
    updated = next(c for c in comments if c["id"] == ours)
    assert "**Succeeded**" in updated["body"]
    calls = github_calls(fake_github)
    assert calls.count("GET /user") == 1
    assert not any(c.startswith("POST") and "comments" in c for c in calls)


def test_marker_comment_by_someone_else_is_never_edited(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    theirs = fake_github.add_comment(
        issue_number=PR, body=MARKER + "\nforged", user_login="mallory"
    )
    result = run_cli(environment(tmp_path, fake_github, fake_evals))
    assert result.code == 0, result.log
    comments = fake_github.comments(PR)
    assert next(c for c in comments if c["id"] == theirs)["body"] == MARKER + "\nforged"
    ours = [c for c in comments if c["id"] != theirs]
    assert len(ours) == 1
    assert ours[0]["user"]["login"] == "github-actions[bot]"


@pytest.mark.parametrize(
    "fake_github", [{"token_kind": "user", "user_login": "evals-bot"}], indirect=True
)
def test_personal_token_identity_comes_from_get_user(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    bots = fake_github.add_comment(
        issue_number=PR, body=MARKER + "\nby the actions bot", user_login="github-actions[bot]"
    )
    mine = fake_github.add_comment(issue_number=PR, body=MARKER + "\nmine", user_login="evals-bot")
    result = run_cli(environment(tmp_path, fake_github, fake_evals))
    assert result.code == 0, result.log
    by_id = {c["id"]: c["body"] for c in fake_github.comments(PR)}
    assert by_id[bots].endswith("by the actions bot")
    assert "**Succeeded**" in by_id[mine]


@pytest.mark.parametrize(
    ("step", "state", "description", "code", "final"),
    [
        (
            {
                "status": "completed",
                "report": {
                    "outcome": "goal_not_met",
                    "keyFinding": "Create button stayed disabled",
                },
            },
            "failure",
            "Did not finish — Create button stayed disabled",
            0,
            "completed",
        ),
        (
            {"status": "failed", "failureReason": "Preview returned HTTP 502"},
            "error",
            "Preview returned HTTP 502",
            1,
            "failed",
        ),
        ({"status": "superseded"}, "success", "Superseded by newer commit", 0, "superseded"),
    ],
    ids=["did-not-finish", "failed", "superseded"],
)
def test_terminal_outcomes(
    tmp_path: pathlib.Path,
    fake_github: FakeGitHub,
    fake_evals: FakeEvals,
    step: dict[str, object],
    state: str,
    description: str,
    code: int,
    final: str,
) -> None:
    seed(fake_github, fake_evals)
    fake_evals.script(PROMPT_ID, [{"status": "running"}, step])
    result = run_cli(environment(tmp_path, fake_github, fake_evals))
    no_traceback(result)
    assert result.code == code, result.log
    assert states(fake_github)[-1] == (state, CONTEXT, description)
    assert result.outputs["final-status"] == final
    if state == "error":
        assert "::error title=evals-action::Preview returned HTTP 502" in result.stdout
    if state == "failure":
        assert result.outputs["failure-reason"] == "Create button stayed disabled"
        assert "::warning title=evals-action::Did not finish" in result.stdout


@pytest.mark.parametrize(
    ("fails", "state", "description"),
    [
        ("false", "success", "Still running — see status page"),
        ("true", "failure", "Eval timed out — failing per timeout-fails=true"),
    ],
)
def test_timeout(
    tmp_path: pathlib.Path,
    fake_github: FakeGitHub,
    fake_evals: FakeEvals,
    fails: str,
    state: str,
    description: str,
) -> None:
    seed(fake_github, fake_evals)
    fake_evals.script(PROMPT_ID, [{"status": "running"}])
    env = environment(
        tmp_path,
        fake_github,
        fake_evals,
        EVALS_WAIT_TIMEOUT_MINUTES="0.01",
        EVALS_TIMEOUT_FAILS=fails,
    )
    result = run_cli(env)
    assert result.code == 0, result.log
    assert states(fake_github)[-1] == (state, CONTEXT, description)
    assert result.outputs["final-status"] == "running"
    assert "Still running" in fake_github.comments(PR)[0]["body"]


def test_auth_error_while_polling_ends_in_error_not_pending(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    fake_evals.script(PROMPT_ID, [{"status": "running"}, Fault(status=401)])
    result = run_cli(environment(tmp_path, fake_github, fake_evals))
    no_traceback(result)
    assert result.code == 1
    state, _, description = states(fake_github)[-1]
    assert state == "error"
    assert description.startswith("Eval status unavailable — read eval run: HTTP 401")
    assert result.outputs["final-status"] == "failed"


def test_non_json_bodies_three_times_in_a_row_are_fatal(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    html = Fault(status=200, raw_body="<html>captive portal</html>")
    fake_evals.script(PROMPT_ID, [{"status": "running"}, html, html, html])
    result = run_cli(environment(tmp_path, fake_github, fake_evals))
    assert result.code == 1, result.log
    assert states(fake_github)[-1][0] == "error"
    assert "not JSON" in states(fake_github)[-1][2]


def test_transient_faults_while_polling_are_survived(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    """A reset connection, a 503 and a 502 in a row, then the run completes."""
    seed(fake_github, fake_evals)
    fake_evals.script(
        PROMPT_ID,
        [
            {"status": "running"},
            Fault(reset=True),
            Fault(status=503),
            Fault(status=502),
            {"status": "completed", "report": {"outcome": "succeeded", "score": 90}},
        ],
    )
    result = run_cli(environment(tmp_path, fake_github, fake_evals))
    assert result.code == 0, result.log
    assert states(fake_github)[-1][0] == "success"
    assert result.stdout.count("poll failed, will retry") == 3


def test_start_rejected_sets_no_status(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    """A 401 on the start: exit 1, one clear line, no comment and no status at all."""
    seed(fake_github, fake_evals)
    env = environment(tmp_path, fake_github, fake_evals, EVALS_API_KEY="wrong-key-999")
    result = run_cli(env)
    no_traceback(result)
    assert result.code == 1
    assert "start eval run: HTTP 401" in result.stdout
    assert "check the api-key" in result.stdout
    assert fake_github.statuses(HEAD_SHA) == []
    assert fake_github.comments(PR) == []
    assert_no_secrets(result, "wrong-key-999")


def test_missing_template_vars_is_reported(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, None)
    fake_evals.add_prompt(prompt_id=PROMPT_ID, title="T", text="x", required_vars=["plan", "seat"])
    result = run_cli(environment(tmp_path, fake_github, fake_evals))
    assert result.code == 1
    assert "Missing template vars: plan, seat" in result.stdout


def test_template_vars_are_sent_as_template_args(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, None)
    fake_evals.add_prompt(prompt_id=PROMPT_ID, title="T", text="x", required_vars=["plan"])
    env = environment(
        tmp_path, fake_github, fake_evals, EVALS_URL_MAP="", EVALS_TEMPLATE_VARS='{"plan": "pro"}'
    )
    result = run_cli(env)
    assert result.code == 0, result.log
    assert fake_evals.runs[0]["body"] == {
        "urlMap": {},
        "templateArgs": {"plan": "pro"},
        "context": {"repository": "octo-org/octo-repo", "pullRequest": PR, "sha": HEAD_SHA},
    }
    assert "\n> {{plan}} → `pro`\n" in fake_github.comments(PR)[0]["body"]


def test_start_response_missing_run_id(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    fake_evals.start_faults([Fault(status=201, body={"statusUrl": "x", "runUrl": "https://x"})])
    result = run_cli(environment(tmp_path, fake_github, fake_evals))
    no_traceback(result)
    assert result.code == 1
    assert "start response missing runId" in result.stdout


def test_fork_pr_on_pull_request_is_skipped_cleanly(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals, fork=True)
    # As on GitHub: a fork's pull_request run gets no secrets.
    env = environment(tmp_path, fake_github, fake_evals, fork=True, EVALS_API_KEY="")
    result = run_cli(env)
    assert result.code == 0, result.log
    assert "::warning title=evals-action::PR is from a fork" in result.stdout
    assert result.outputs == {"final-status": "skipped"}
    assert "PR is from a fork" in result.summary
    assert fake_evals.requests == []
    assert fake_github.requests == []


def test_fork_pr_on_pull_request_target_is_evaluated(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals, fork=True)
    env = environment(
        tmp_path, fake_github, fake_evals, fork=True, event_name="pull_request_target"
    )
    result = run_cli(env)
    assert result.code == 0, result.log
    assert states(fake_github)[-1][0] == "success"


def test_deployment_status_targets_the_deployed_commit(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    payload = event_payload("deployment_status.created", head_sha=HEAD_SHA)
    env = environment(
        tmp_path, fake_github, fake_evals, payload=payload, event_name="deployment_status"
    )
    result = run_cli(env)
    assert result.code == 0, result.log
    assert states(fake_github)[-1][0] == "success"
    assert len(fake_github.comments(PR)) == 1
    assert f"GET /repos/octo-org/octo-repo/commits/{HEAD_SHA}/pulls" in github_calls(fake_github)


def test_issue_comment_on_a_plain_issue_fails_without_any_call(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    payload = event_payload("issue_comment.created", on_pull_request=False)
    env = environment(
        tmp_path, fake_github, fake_evals, payload=payload, event_name="issue_comment"
    )
    result = run_cli(env)
    no_traceback(result)
    assert result.code == 2
    assert "could not derive pull request number" in result.stdout
    assert "issue_comment" in result.stdout
    assert fake_evals.requests == []
    assert fake_github.requests == []


def test_comment_forbidden_is_a_warning_and_the_status_is_still_set(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    fake_github.fail_next(
        method="POST",
        path_pattern=r"/issues/\d+/comments$",
        status=403,
        body={"message": "Resource not accessible by integration"},
        times=None,
    )
    result = run_cli(environment(tmp_path, fake_github, fake_evals))
    assert result.code == 0, result.log
    assert "PR comment not written" in result.stdout
    assert "HTTP 403" in result.stdout
    assert states(fake_github)[-1][0] == "success"
    comment_posts = [
        c for c in github_calls(fake_github) if c.startswith("POST") and "comments" in c
    ]
    assert len(comment_posts) == 1  # not retried after a 403


def test_final_status_refused_fails_the_step(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    """Pending was set, the final status is refused: exit 1 and an error, never silent."""
    seed(fake_github, fake_evals)
    fake_evals.script(
        PROMPT_ID,
        [
            {"status": "running"},
            {"status": "running"},
            {"status": "completed", "report": {"outcome": "succeeded"}},
        ],
    )

    def refuse_statuses(proc: object) -> None:
        fake_github.fail_next(
            method="POST",
            path_pattern=r"/statuses/",
            status=403,
            body={"message": "Resource not accessible by integration"},
            times=None,
        )

    env = environment(tmp_path, fake_github, fake_evals, EVALS_POLL_INTERVAL_SECONDS="0.3")
    result = run_while(env, when=lambda: fake_github.statuses(HEAD_SHA), then=refuse_statuses)
    no_traceback(result)
    assert result.code == 1, result.log
    assert "::error title=evals-action::Commit status not set" in result.stdout
    assert "HTTP 403" in result.stdout
    assert [s[0] for s in states(fake_github)] == ["pending"]


def test_sigterm_mid_poll_ends_in_error(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    """Cancelling the job (SIGTERM) mid-poll: status `error`, `Eval cancelled`, exit 1."""
    seed(fake_github, fake_evals)
    fake_evals.script(PROMPT_ID, [{"status": "running"}])
    env = environment(tmp_path, fake_github, fake_evals, EVALS_POLL_INTERVAL_SECONDS="0.2")
    result = run_and_signal(
        env,
        when=lambda: (
            len(fake_github.statuses(HEAD_SHA)) >= 1
            and fake_evals.runs
            and fake_evals.runs[0]["gets"] >= 2
        ),
    )
    no_traceback(result)
    assert result.code == 1, result.log
    assert states(fake_github)[-1] == ("error", CONTEXT, "Eval cancelled")
    assert "Eval cancelled" in fake_github.comments(PR)[0]["body"]
    assert result.outputs["final-status"] == "failed"


def test_sigint_is_handled_like_sigterm(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    fake_evals.script(PROMPT_ID, [{"status": "running"}])
    env = environment(tmp_path, fake_github, fake_evals, EVALS_POLL_INTERVAL_SECONDS="0.2")
    result = run_and_signal(
        env, sig=signal.SIGINT, when=lambda: len(fake_github.statuses(HEAD_SHA)) >= 1
    )
    no_traceback(result)
    assert result.code == 1
    assert states(fake_github)[-1][0] == "error"


def test_long_failure_reason_is_cut_to_140_characters(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    """GitHub answers 422 above 140 characters; the fake does too, so this would fail loudly."""
    seed(fake_github, fake_evals)
    fake_evals.script(PROMPT_ID, [{"status": "failed", "failureReason": "boom " * 100}])
    result = run_cli(environment(tmp_path, fake_github, fake_evals))
    assert result.code == 1
    description = states(fake_github)[-1][2]
    assert len(description) == 140
    assert description.endswith("...")


def test_huge_prompt_and_url_map_stay_under_the_body_limit(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, None)
    fake_evals.add_prompt(prompt_id=PROMPT_ID, title="T", text="step\n" * 20_000)
    many = "{" + ",".join(f'"h{i}.example.com": "https://p{i}.dev"' for i in range(3000)) + "}"
    env = environment(
        tmp_path, fake_github, fake_evals, EVALS_URL_MAP=many, EVALS_DEPLOYMENT_URL="https://p1.dev"
    )
    result = run_cli(env)
    assert result.code == 0, result.log
    body = fake_github.comments(PR)[0]["body"]
    assert len(body) <= 65_536
    assert "cut to fit" in body


@pytest.mark.parametrize(
    "fake_github", [{"api_prefix": "/api/v3", "spec": "ghes-3.19"}], indirect=True
)
def test_github_enterprise_server(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    result = run_cli(environment(tmp_path, fake_github, fake_evals))
    assert result.code == 0, result.log
    assert all(r.path.startswith("/api/v3/") for r in fake_github.requests)
    assert states(fake_github)[-1][0] == "success"


def test_skip_comment_and_skip_status(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    env = environment(
        tmp_path, fake_github, fake_evals, EVALS_SKIP_COMMENT="true", EVALS_SKIP_STATUS="yes"
    )
    result = run_cli(env)
    assert result.code == 0, result.log
    assert fake_github.comments(PR) == []
    assert fake_github.statuses(HEAD_SHA) == []
    assert result.outputs["final-status"] == "completed"


def test_status_context_override(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    env = environment(tmp_path, fake_github, fake_evals, EVALS_STATUS_CONTEXT="evals/signup")
    assert run_cli(env).code == 0
    assert {s[1] for s in states(fake_github)} == {"evals/signup"}


def test_pr_and_sha_overrides(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    fake_github.add_pull(number=7, head_sha="f" * 40)
    env = environment(tmp_path, fake_github, fake_evals, EVALS_PR_NUMBER="7", EVALS_SHA="f" * 40)
    assert run_cli(env).code == 0
    assert len(fake_github.comments(7)) == 1
    assert fake_github.comments(PR) == []
    assert states(fake_github, "f" * 40)[-1][0] == "success"


def test_baseline_deltas_and_output(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, fake_evals)
    fake_evals.script(
        PROMPT_ID,
        [
            {
                "status": "completed",
                "report": {
                    "outcome": "succeeded",
                    "score": 90,
                    "metrics": {"time": "2m14s", "timeSeconds": 134, "errors": 2},
                },
            }
        ],
    )
    fake_evals.add_baseline_runs(
        [
            {
                "promptId": PROMPT_ID,
                "report": {"outcome": "goal_not_met", "score": 10, "metrics": {"timeSeconds": 1}},
            },
            {
                "promptId": PROMPT_ID,
                "report": {
                    "outcome": "succeeded",
                    "score": 80,
                    "metrics": {"timeSeconds": 120, "errors": 1},
                },
            },
        ]
    )
    result = run_cli(environment(tmp_path, fake_github, fake_evals))
    assert result.code == 0, result.log
    assert result.outputs["baseline-score"] == "80"
    body = fake_github.comments(PR)[0]["body"]
    assert "| 2m14s ▲ +14s | 2 ▲ +1 |" in body


def test_prompt_id_is_one_encoded_path_segment(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    seed(fake_github, None)
    odd = "team/a b"
    fake_evals.add_prompt(prompt_id=odd, title="T", text="x")
    result = run_cli(environment(tmp_path, fake_github, fake_evals, EVALS_PROMPT_ID=odd))
    assert result.code == 0, result.log
    post = next(r for r in fake_evals.requests if r.method == "POST")
    assert post.path == "/api/v1/prompts/team%2Fa%20b/run"


def test_baseline_failure_is_a_warning_and_no_baseline(
    tmp_path: pathlib.Path, fake_github: FakeGitHub, fake_evals: FakeEvals
) -> None:
    """The listing answers 500: the eval still succeeds, with a warning and no baseline."""
    seed(fake_github, fake_evals)
    fake_evals.script(
        PROMPT_ID,
        [
            {
                "status": "completed",
                "report": {"outcome": "succeeded", "metrics": {"timeSeconds": 3}},
            }
        ],
    )
    fake_evals.listing_faults([Fault(status=500)])
    result = run_cli(environment(tmp_path, fake_github, fake_evals))
    assert result.code == 0, result.log
    warning = (
        "::warning title=evals-action::No baseline for metric deltas: read baseline runs: HTTP 500"
    )
    assert warning in result.stdout
    assert result.outputs["baseline-score"] == ""
    assert states(fake_github)[-1][0] == "success"
