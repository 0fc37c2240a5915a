"""Webhook deliveries: signature, replays, and decisions from GitHub's real example payloads.

GitHub reads go through the real PyGithub client (`github_app.RepositoryReads`) to FakeGitHub on
loopback; replays are recorded in a real store (SQLite in a temporary folder).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evals_action import errors, github_app
from evals_action.server import store, webhooks
from tests.fakes.events import event_payload
from tests.fakes.github import FakeGitHub

SECRET = "whsec-test-0123456789"  # noqa: S105  (a test's webhook secret)
SHA = "ab" * 20
PREVIEW = "https://pr-12.preview.example.com"
REPO = "octo-org/octo-repo"
TRIGGERS = webhooks.Triggers(
    repository=REPO,
    prompts=("create-project", "invite-user"),
    deployment_status=True,
    status_contexts=("netlify/*/deploy-preview",),
    label="run-evals",
    command="/eval",
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as gh:
        gh.add_pull(number=12, head_sha=SHA)
        gh.set_role(login="maintainer", role="maintain")
        gh.set_role(login="triager", role="triage")
        yield gh
        assert gh.violations == []


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(tmp_path: Path, clock: Clock) -> Iterator[store.Store]:
    database = store.Store(path=tmp_path / "evals.sqlite3", clock=clock)
    yield database
    database.close()


def _reads(fake: FakeGitHub) -> github_app.RepositoryReads:
    return github_app.RepositoryReads(
        source=github_app.StaticToken(fake.token), api_url=fake.url, user_agent="t", retries=0
    )


def _deliver(
    fake: FakeGitHub,
    db: store.Store,
    event: str,
    payload: Any,
    *,
    delivery: str | None = None,
    secret: str = SECRET,
    body: bytes | None = None,
) -> webhooks.Decision:
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    headers = {
        "x-hub-signature-256": signature,
        "x-github-delivery": delivery or str(uuid.uuid4()),
        "x-github-event": event,
    }
    return webhooks.receive(
        headers=headers,
        body=raw if body is None else body,
        secret=SECRET,
        record_delivery=lambda d: db.record_delivery(delivery_id=d, keep_seconds=7 * 86400),
        forget_delivery=lambda d: db.forget_delivery(delivery_id=d),
        triggers={REPO: TRIGGERS},
        github=_reads(fake),
    )


def _deployment(state: str = "success", **kw: Any) -> dict[str, Any]:
    name = (
        "deployment_status.created"
        if state == "success"
        else "deployment_status.created.in_progress"
    )
    payload = event_payload(name, head_sha=SHA, **kw)
    payload["deployment_status"]["target_url"] = PREVIEW
    return payload


def _comment(body: str, login: str, **kw: Any) -> dict[str, Any]:
    payload = event_payload("issue_comment.created", pr_number=12, **kw)
    payload["comment"]["body"] = body
    payload["sender"]["login"] = payload["comment"]["user"]["login"] = login
    return payload


def test_forged_signature_is_refused_before_anything_else(
    fake: FakeGitHub, db: store.Store
) -> None:
    """A wrong secret: 401, no delivery recorded, no GitHub request."""
    with pytest.raises(webhooks.Refused) as caught:
        _deliver(fake, db, "deployment_status", _deployment(), delivery="d-1", secret="guess")
    assert caught.value.status == 401
    assert SECRET not in str(caught.value)
    assert fake.requests == []
    assert db.record_delivery(delivery_id="d-1", keep_seconds=60) is True, "not recorded"


def test_signature_must_cover_the_body_sent(fake: FakeGitHub, db: store.Store) -> None:
    """A valid signature of another body does not pass."""
    with pytest.raises(webhooks.Refused):
        _deliver(fake, db, "status", _deployment(), body=b'{"zen": "tampered"}')


def test_signature_check_is_constant_time_comparison() -> None:
    """`signature_valid` accepts exactly the HMAC and nothing shorter, longer or non-ASCII."""
    body = b"{}"
    good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert webhooks.signature_valid(secret=SECRET, body=body, header=good)
    for bad in (None, "", good[:-1], good + "0", "sha1=" + good[7:], good[:-1] + "é"):
        assert not webhooks.signature_valid(secret=SECRET, body=body, header=bad)


def test_replayed_delivery_starts_nothing(fake: FakeGitHub, db: store.Store) -> None:
    """The same X-GitHub-Delivery twice: the second is a replay, decided without GitHub."""
    first = _deliver(fake, db, "deployment_status", _deployment(), delivery="d-2")
    assert first.run
    asked = len(fake.requests)
    second = _deliver(fake, db, "deployment_status", _deployment(), delivery="d-2")
    assert (second.run, second.reason) == (False, "delivery seen before (a replay)")
    assert len(fake.requests) == asked


def test_delivery_record_survives_a_restart_and_is_bounded(tmp_path: Path, clock: Clock) -> None:
    """Kept in SQLite: a new Store on the same file still knows it; past the window, forgotten."""
    path = tmp_path / "evals.sqlite3"
    first = store.Store(path=path, clock=clock)
    assert first.record_delivery(delivery_id="d-3", keep_seconds=3600)
    first.close()
    again = store.Store(path=path, clock=clock)
    assert not again.record_delivery(delivery_id="d-3", keep_seconds=3600)
    clock.now += 3601
    assert again.record_delivery(delivery_id="d-4", keep_seconds=3600)
    assert again.record_delivery(delivery_id="d-3", keep_seconds=3600), "pruned after the window"
    again.close()


def test_deployment_status_success_runs_with_its_target_url(
    fake: FakeGitHub, db: store.Store
) -> None:
    """Preview from the deployment event; the PR found through the commit."""
    decision = _deliver(fake, db, "deployment_status", _deployment(), delivery="d-7")
    assert decision == webhooks.Decision(
        run=True,
        reason="deployed",
        event="deployment_status",
        delivery="d-7",
        repository=REPO,
        prompts=TRIGGERS.prompts,
        pull_request=12,
        sha=SHA,
        preview_url=PREVIEW,
    )


def test_deployment_in_progress_starts_nothing(fake: FakeGitHub, db: store.Store) -> None:
    """Only a successful deployment counts."""
    assert not _deliver(fake, db, "deployment_status", _deployment(state="in_progress")).run


def test_deployment_of_a_fork_pr_starts_nothing(fake: FakeGitHub, db: store.Store) -> None:
    """A fork PR is evaluated only when a maintainer asks."""
    fake.add_pull(number=13, head_sha="cd" * 20, head_repo_full_name="fork-owner/octo-repo")
    payload = event_payload("deployment_status.created", head_sha="cd" * 20)
    payload["deployment_status"]["target_url"] = PREVIEW
    decision = _deliver(fake, db, "deployment_status", payload)
    assert not decision.run
    assert decision.reason.startswith("pull request from a fork")


def test_status_success_with_a_matching_context_runs(fake: FakeGitHub, db: store.Store) -> None:
    """Netlify-style: a commit status whose context matches; preview = its target_url."""
    payload = event_payload("status.event", head_sha=SHA)
    payload.update(context="netlify/site/deploy-preview", target_url=PREVIEW)
    decision = _deliver(fake, db, "status", payload)
    assert (decision.run, decision.pull_request, decision.preview_url) == (True, 12, PREVIEW)
    payload["context"] = "ci/build"
    assert not _deliver(fake, db, "status", payload).run


def test_label_by_a_maintainer_runs_even_on_a_fork(fake: FakeGitHub, db: store.Store) -> None:
    """A maintainer's label is how a fork PR gets evaluated; no preview from PR text."""
    fake.add_pull(number=14, head_sha="ef" * 20, head_repo_full_name="fork-owner/octo-repo")
    payload = event_payload("pull_request.labeled", pr_number=14, head_sha="ef" * 20, fork=True)
    payload["label"]["name"] = "run-evals"
    payload["sender"]["login"] = "maintainer"
    payload["pull_request"]["body"] = f"preview: {PREVIEW}"
    decision = _deliver(fake, db, "pull_request", payload)
    assert (decision.run, decision.pull_request, decision.sha) == (True, 14, "ef" * 20)
    assert decision.preview_url is None


def test_label_by_a_triager_or_another_label_starts_nothing(
    fake: FakeGitHub, db: store.Store
) -> None:
    """Triage may label, but only write or higher starts runs; other labels are ignored."""
    payload = event_payload("pull_request.labeled", pr_number=12, head_sha=SHA)
    payload["label"]["name"] = "run-evals"
    payload["sender"]["login"] = "triager"
    assert "lacks write" in _deliver(fake, db, "pull_request", payload).reason
    payload["label"]["name"] = "bug"
    payload["sender"]["login"] = "maintainer"
    assert not _deliver(fake, db, "pull_request", payload).run


def test_eval_command_from_a_writer_runs_every_prompt(fake: FakeGitHub, db: store.Store) -> None:
    """`/eval` on a PR from a user GitHub says can write: all of the repository's prompts."""
    decision = _deliver(fake, db, "issue_comment", _comment("/eval", "maintainer"))
    assert (decision.run, decision.prompts, decision.sha) == (True, TRIGGERS.prompts, SHA)
    permission_calls = [r for r in fake.requests if r.route.endswith("/permission")]
    assert [r.route for r in permission_calls] == [
        f"/repos/{REPO}/collaborators/maintainer/permission"
    ]


def test_eval_command_with_a_prompt_runs_that_prompt(fake: FakeGitHub, db: store.Store) -> None:
    """`/eval <prompt>` picks one configured prompt; an unknown one starts nothing."""
    assert _deliver(
        fake, db, "issue_comment", _comment("/eval invite-user\nthanks", "maintainer")
    ).prompts == ("invite-user",)
    assert not _deliver(fake, db, "issue_comment", _comment("/eval rm-rf", "maintainer")).run


def test_eval_command_from_a_read_only_user_starts_nothing(
    fake: FakeGitHub, db: store.Store
) -> None:
    """The payload's author_association (OWNER here) is not trusted; GitHub's answer is."""
    payload = _comment("/eval", "drive-by")
    assert payload["comment"]["author_association"] == "OWNER"
    decision = _deliver(fake, db, "issue_comment", payload)
    assert (decision.run, decision.reason) == (
        False,
        "the sender lacks write permission on the repository",
    )


@pytest.mark.parametrize(
    ("body", "on_pull_request"),
    [("/eval", False), ("please /eval", True), ("/evaluate", True), ("/eval a b", True)],
)
def test_other_comments_start_nothing(
    fake: FakeGitHub, db: store.Store, body: str, on_pull_request: bool
) -> None:
    """Only a first line that is exactly the command (and maybe a prompt), on a PR."""
    payload = _comment(body, "maintainer", on_pull_request=on_pull_request)
    assert not _deliver(fake, db, "issue_comment", payload).run
    assert fake.requests == []


def test_unconfigured_repository_starts_nothing(fake: FakeGitHub, db: store.Store) -> None:
    """Events for repositories without triggers are answered without any GitHub request."""
    payload = _deployment(owner="someone", repo="else")
    assert (
        _deliver(fake, db, "deployment_status", payload).reason
        == "repository not configured in [webhooks]"
    )
    assert fake.requests == []


def test_body_that_is_not_json_is_refused(fake: FakeGitHub, db: store.Store) -> None:
    """A form-encoded delivery (the other content type GitHub offers) is refused with a hint."""
    raw = b"payload=%7B%7D"
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    with pytest.raises(webhooks.Refused, match="application/json") as caught:
        webhooks.receive(
            headers={"x-hub-signature-256": signature, "x-github-delivery": "d-5"},
            body=raw,
            secret=SECRET,
            record_delivery=lambda d: True,
            forget_delivery=lambda d: None,
            triggers={REPO: TRIGGERS},
            github=_reads(fake),
        )
    assert caught.value.status == 400


def test_github_failure_forgets_the_delivery_so_a_redelivery_counts(
    fake: FakeGitHub, db: store.Store
) -> None:
    """GitHub down while asking permissions: an error, and the same delivery id may come again."""
    fake.fail_next(method="GET", path_pattern=r"/permission$", status=502)
    with pytest.raises(errors.GitHubError):
        _deliver(fake, db, "issue_comment", _comment("/eval", "maintainer"), delivery="d-6")
    again = _deliver(fake, db, "issue_comment", _comment("/eval", "maintainer"), delivery="d-6")
    assert again.run


def test_a_fork_prs_head_deployed_by_the_base_repository_is_its_preview(
    fake: FakeGitHub, db: store.Store
) -> None:
    """The preview of a maintainer's label run comes from the base repository's deployment of
    the PR head commit (a fork's commit included), never from the PR text."""
    fake.add_pull(number=14, head_sha="ef" * 20, head_repo_full_name="fork-owner/octo-repo")
    fake.add_deployment(sha="ef" * 20, statuses=[("success", PREVIEW)])
    payload = event_payload("pull_request.labeled", pr_number=14, head_sha="ef" * 20, fork=True)
    payload["label"]["name"] = "run-evals"
    payload["sender"]["login"] = "maintainer"
    payload["pull_request"]["body"] = "preview: https://attacker.example.com"
    decision = _deliver(fake, db, "pull_request", payload)
    assert (decision.run, decision.pull_request, decision.preview_url) == (True, 14, PREVIEW)


def test_the_preview_lookup_is_bounded_to_the_newest_deployments(
    fake: FakeGitHub, db: store.Store
) -> None:
    """Only the `MAX_DEPLOYMENTS` newest deployments are looked at: one listing and one
    status listing each; an older success is not reached."""
    fake.add_deployment(sha=SHA, statuses=[("success", PREVIEW)])
    for _ in range(webhooks.MAX_DEPLOYMENTS):
        fake.add_deployment(sha=SHA, statuses=[("error", "https://broken.example.com")])
    decision = _deliver(fake, db, "issue_comment", _comment("/eval", "maintainer"))
    assert (decision.run, decision.preview_url) == (True, None)
    assert "no successful deployment" in decision.reason
    asked = [r.route for r in fake.requests if "/deployments" in r.route]
    assert len(asked) == 1 + webhooks.MAX_DEPLOYMENTS
    assert asked[0] == f"/repos/{REPO}/deployments"
