"""GitHub webhook deliveries: is it GitHub, have we seen it, and what does it ask us to run.

`receive` takes one delivery (headers and raw body) and returns a `Decision`, in this order:
1. `X-Hub-Signature-256` must be the HMAC-SHA256 of the raw body with the webhook secret,
   compared in constant time (`hmac.compare_digest`); otherwise `Refused` (401), before the body
   is even parsed;
2. the body must be a JSON object, and `X-GitHub-Delivery` a delivery id; otherwise `Refused`;
3. a delivery id seen before is a replay: a `Decision` not to run (the record is the server's
   SQLite, see `store.Store.record_delivery`);
4. `decide`: the repository's triggers from the config, and the fork rules of docs/permissions.md.

A label or command run has no preview in its event: its preview is the one of the PR head commit's
newest successful deployment (`GET .../deployments?sha=`, the `MAX_DEPLOYMENTS` newest, each one's
newest status), chosen by `preview_of` exactly as for a `deployment_status` event; none found: the
prompt's own addresses. Never from PR text.

`decide` reads GitHub only through `GitHubReads` (production: `github_app.RepositoryReads`):
a commenter's permission comes from `GET /repos/{o}/{r}/collaborators/{u}/permission`, never from
the payload's `author_association`. Nothing here starts a run; the caller does that with the
decision, after answering GitHub.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from evals_action import errors, github_app, models

SIGNATURE_HEADER = "x-hub-signature-256"
DELIVERY_HEADER = "x-github-delivery"
EVENT_HEADER = "x-github-event"
WRITE_OR_HIGHER = frozenset({"admin", "write"})  # `maintain` is reported as `write`
MAX_DELIVERY_ID = 100
TEMPLATE_SECRETS = "templateSecrets"  # a run request's names of template vars read from the env
MAX_DEPLOYMENTS = 5  # a label or command run looks at this many of the commit's newest deployments


class Refused(errors.EvalsActionError):
    """A delivery that is not GitHub's or not readable; `status` is the HTTP answer."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclasses.dataclass(frozen=True)
class Triggers:
    """Which events start which prompts for one repository (the `[[webhooks.repositories]]`)."""

    repository: str
    prompts: tuple[str, ...]
    deployment_status: bool = False
    environments: tuple[str, ...] = ()  # deployment_status: only these environments (empty: any)
    status_contexts: tuple[str, ...] = ()  # status: success of these contexts (globs)
    label: str = ""  # pull_request labeled with this label
    command: str = ""  # issue_comment starting with this, e.g. "/eval"
    # templateArgs of the runs webhooks start; the values of `secret_vars` came from the
    # environment (`template_vars_env`) and are secrets: never logged, stored redacted
    template_vars: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)
    secret_vars: frozenset[str] = frozenset()


class GitHubReads(Protocol):
    def permission(self, *, repository: str, login: str) -> str: ...

    def pull(self, *, repository: str, number: int) -> github_app.PullInfo: ...

    def pulls_for_commit(self, *, repository: str, sha: str) -> list[github_app.PullInfo]: ...

    def deployments(
        self, *, repository: str, sha: str, environment: str | None, limit: int
    ) -> list[github_app.DeploymentInfo]: ...

    def newest_deployment_status(
        self, *, repository: str, deployment_id: int
    ) -> github_app.DeploymentStatusInfo | None: ...


@dataclasses.dataclass(frozen=True)
class Decision:
    """What a delivery asks for. `run` False: nothing to do, and `reason` says why."""

    run: bool
    reason: str
    event: str = ""
    delivery: str = ""  # X-GitHub-Delivery: a natural Idempotency-Key for the runs it starts
    repository: str = ""
    prompts: tuple[str, ...] = ()
    pull_request: int | None = None
    sha: str = ""
    preview_url: str | None = None  # only ever from a deployment or a status event, never PR text


def signature_valid(*, secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is `sha256=<HMAC-SHA256 of body>`, compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    given = (header or "").strip().encode("utf-8", "replace")
    return hmac.compare_digest(expected.encode(), given)


def receive(
    *,
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    record_delivery: Callable[[str], bool],
    forget_delivery: Callable[[str], None],
    triggers: Mapping[str, Triggers],
    github: GitHubReads,
) -> Decision:
    """Check one delivery and decide. `headers` has lower-case names; `record_delivery(id)` is
    True the first time an id is seen. Raises `Refused` for a delivery not to be trusted, and
    `GitHubError` when GitHub cannot be asked (the id is then forgotten, so that GitHub's
    redelivery of it, which keeps the id, is not taken for a replay)."""
    if not signature_valid(secret=secret, body=body, header=headers.get(SIGNATURE_HEADER)):
        raise Refused("X-Hub-Signature-256 does not match the webhook secret", status=401)
    delivery = headers.get(DELIVERY_HEADER, "").strip()
    if not delivery or len(delivery) > MAX_DELIVERY_ID:
        raise Refused("X-GitHub-Delivery is missing", status=400)
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        raise Refused(
            "the body is not a JSON object (set Content type: application/json)", status=400
        )
    event = headers.get(EVENT_HEADER, "").strip()
    if not record_delivery(delivery):
        return Decision(run=False, reason="delivery seen before (a replay)", event=event)
    try:
        decision = decide(event=event, payload=payload, triggers=triggers, github=github)
    except errors.GitHubError:
        forget_delivery(delivery)
        raise
    return dataclasses.replace(decision, delivery=delivery)


def decide(
    *, event: str, payload: Mapping[str, Any], triggers: Mapping[str, Triggers], github: GitHubReads
) -> Decision:
    """What this event asks the server to run for its repository (see the module docstring)."""
    repository = _str(payload, "repository", "full_name")
    found = triggers.get(repository.lower())
    if found is None:
        return Decision(run=False, reason="repository not configured in [webhooks]", event=event)
    handler = _HANDLERS.get(event)
    if handler is None:
        return Decision(run=False, reason=f"event {event!r} starts nothing", event=event)
    decision = handler(payload, found, github)
    return dataclasses.replace(decision, event=event, repository=found.repository)


def _deployment_status(payload: Mapping[str, Any], t: Triggers, gh: GitHubReads) -> Decision:
    if not t.deployment_status:
        return Decision(run=False, reason="deployment_status triggers are off")
    if _str(payload, "deployment_status", "state") != "success":
        return Decision(run=False, reason="deployment not successful (yet)")
    environment = _str(payload, "deployment", "environment")
    if t.environments and environment not in t.environments:
        return Decision(run=False, reason="environment not in the configured environments")
    preview = preview_of(
        target_url=_str(payload, "deployment_status", "target_url"),
        environment_url=_str(payload, "deployment_status", "environment_url"),
    )
    return _on_commit(gh, t, sha=_str(payload, "deployment", "sha"), preview=preview)


def preview_of(*, target_url: str, environment_url: str) -> str:
    """A successful deployment status's preview: its target_url, else its environment_url;
    "" unless that is an http(s) URL."""
    preview = target_url or environment_url
    return preview if preview.startswith(("https://", "http://")) else ""


def _status(payload: Mapping[str, Any], t: Triggers, gh: GitHubReads) -> Decision:
    context = _str(payload, "context")
    if not any(fnmatch.fnmatchcase(context, pattern) for pattern in t.status_contexts):
        return Decision(run=False, reason="status context not in status_contexts")
    if _str(payload, "state") != "success":
        return Decision(run=False, reason="status not successful (yet)")
    return _on_commit(gh, t, sha=_str(payload, "sha"), preview=_str(payload, "target_url"))


def _on_commit(gh: GitHubReads, t: Triggers, *, sha: str, preview: str) -> Decision:
    """A deployment finished for `sha`: its open PR, unless that PR comes from a fork."""
    if not preview:
        return Decision(run=False, reason="the event names no preview URL")
    if not sha:
        return Decision(run=False, reason="the event names no commit")
    pulls = [p for p in gh.pulls_for_commit(repository=t.repository, sha=sha) if p.open]
    pull = next((p for p in pulls if p.head_sha == sha), pulls[0] if pulls else None)
    if pull is not None and pull.fork:
        return Decision(run=False, reason=_FORK, pull_request=pull.number, sha=sha)
    number = pull.number if pull else None
    return Decision(
        run=True,
        reason="deployed",
        prompts=t.prompts,
        pull_request=number,
        sha=sha,
        preview_url=preview,
    )


def _labeled(payload: Mapping[str, Any], t: Triggers, gh: GitHubReads) -> Decision:
    if payload.get("action") != "labeled" or not t.label:
        return Decision(run=False, reason="not a configured label")
    if _str(payload, "label", "name") != t.label:
        return Decision(run=False, reason="not a configured label")
    refusal = _needs_write(gh, t, login=_str(payload, "sender", "login"))
    if refusal:
        return refusal
    number = payload.get("number")
    if not isinstance(number, int) or isinstance(number, bool):
        return Decision(run=False, reason="the event names no pull request")
    return _maintainer_asked(gh, t, number=number, prompts=t.prompts)


def _comment(payload: Mapping[str, Any], t: Triggers, gh: GitHubReads) -> Decision:
    if payload.get("action") != "created" or not t.command:
        return Decision(run=False, reason="not a command")
    issue = payload.get("issue")
    if not isinstance(issue, Mapping) or not isinstance(issue.get("pull_request"), Mapping):
        return Decision(run=False, reason="comment is not on a pull request")
    first = (_str(payload, "comment", "body").strip().splitlines() or [""])[0].split()
    if not first or first[0] != t.command or len(first) > 2:
        return Decision(run=False, reason="not a command")
    prompts = t.prompts if len(first) == 1 else (first[1],)
    if not set(prompts) <= set(t.prompts):
        return Decision(run=False, reason="the command names a prompt not configured here")
    if _str(payload, "sender", "type") == "Bot":
        return Decision(run=False, reason="commands from bots are ignored")
    refusal = _needs_write(gh, t, login=_str(payload, "sender", "login"))
    if refusal:
        return refusal
    number = issue.get("number")
    if not isinstance(number, int) or isinstance(number, bool):
        return Decision(run=False, reason="the event names no pull request")
    return _maintainer_asked(gh, t, number=number, prompts=prompts)


def _needs_write(gh: GitHubReads, t: Triggers, *, login: str) -> Decision | None:
    """None when `login` may write to the repository (asked of GitHub), else a refusal."""
    if login and gh.permission(repository=t.repository, login=login) in WRITE_OR_HIGHER:
        return None
    return Decision(run=False, reason="the sender lacks write permission on the repository")


def _maintainer_asked(
    gh: GitHubReads, t: Triggers, *, number: int, prompts: tuple[str, ...]
) -> Decision:
    """A maintainer asked for PR `number` (fork or not); the preview comes from a deployment."""
    pull = gh.pull(repository=t.repository, number=number)
    if not pull.open:
        return Decision(run=False, reason="the pull request is closed", pull_request=number)
    preview = deployed_preview(gh, t, sha=pull.head_sha)
    reason = "a maintainer asked"
    if not preview:
        reason += (
            f"; no successful deployment of {pull.head_sha[:12]} found, "
            "so the prompts run on their own addresses"
        )
    return Decision(
        run=True,
        reason=reason,
        prompts=prompts,
        pull_request=number,
        sha=pull.head_sha,
        preview_url=preview or None,
    )


def deployed_preview(gh: GitHubReads, t: Triggers, *, sha: str) -> str:
    """The preview of `sha`'s newest deployment (of `t.environments`, when set) whose newest
    status is a success, among its `MAX_DEPLOYMENTS` newest; "" when there is none."""
    found = [
        d
        for environment in t.environments or (None,)
        for d in gh.deployments(
            repository=t.repository, sha=sha, environment=environment, limit=MAX_DEPLOYMENTS
        )
    ]
    newest = sorted(found, key=lambda d: (d.created_at, d.id), reverse=True)[:MAX_DEPLOYMENTS]
    for deployment in newest:
        status = gh.newest_deployment_status(repository=t.repository, deployment_id=deployment.id)
        if status is None or status.state != "success":
            continue
        preview = preview_of(target_url=status.target_url, environment_url=status.environment_url)
        if preview:
            return preview
    return ""


def template_args(
    *, request: Mapping[str, Any], repository: str | None, triggers: Mapping[str, Triggers]
) -> dict[str, str]:
    """A run's templateArgs as its rollout and checks need them. The store keeps the values of
    `template_vars_env` redacted (they are secrets); they are put back from the config, for the
    names the webhook intake listed in the request (`TEMPLATE_SECRETS`), from that repository's
    config only."""
    args = {str(k): str(v) for k, v in (request.get("templateArgs") or {}).items()}
    found = triggers.get((repository or "").lower())
    for name in request.get(TEMPLATE_SECRETS) or ():
        if found is not None and name in found.secret_vars:
            args[name] = found.template_vars[name]
    return args


def _str(data: Any, *keys: str) -> str:
    for key in keys:
        if not isinstance(data, Mapping):
            return ""
        data = data.get(key)
    return models.nonempty(data) or ""


_FORK = "pull request from a fork: evaluated only when a maintainer asks (label or command)"
_HANDLERS: dict[str, Callable[[Mapping[str, Any], Triggers, GitHubReads], Decision]] = {
    "deployment_status": _deployment_status,
    "status": _status,
    "pull_request": _labeled,
    "issue_comment": _comment,
}
