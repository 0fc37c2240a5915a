"""FakeGitHub: GitHub's REST API on loopback, for what the action and its rollout backend call.

PyGithub works against it unmodified (`github.Github(base_url=fake.url, auth=Auth.Token(...))`).
Every request (except `/_fake/...` control routes and the artifact download URL) is checked
against GitHub's OpenAPI description (`tests/data/github/`), and so are the fake's own JSON answers;
a mismatch is appended to `violations` and the request is still answered as GitHub would.

Behaviour worth knowing:
- Auth: `Authorization: token X` or `Bearer X`; anything else answers 401 "Bad credentials".
  The token a request carries decides who writes (comment `user`, status `creator`): the fake's
  own `token` with `token_kind="installation"` (GITHUB_TOKEN) writes as `github-actions[bot]`
  and gets 403 from `GET /user`; with `"user"` it writes as `user_login`. An App's installation
  token (see GitHub Apps below) writes as `<slug>[bot]` (type Bot, the App in the comment's
  `performed_via_github_app`) and gets 403 "Resource not accessible by integration" from
  `GET /user`, as on GitHub.
- Listings page like GitHub (`per_page` default 30, at most 100) with GitHub's `Link` header, whose
  URLs use the `/repositories/{id}/...` form; the fake resolves those.
- `api_prefix="/api/v3"` behaves like GHES (requests outside the prefix are violations).
- Workflow runs follow a script: the n-th `GET .../actions/runs/{id}` answers step n (the last
  step repeats); listings show the current step without advancing it. A completed run uploads the
  workflow's `artifact_files` as artifact `rollout-result`; its `/zip` answers 302 to a download
  URL on this server (which drips the zip a byte at a time when `download_drip` is set).
- Contract checks beyond the description: editing or deleting a comment someone else wrote.
  One exception: an App's installation token may edit or delete a comment whose first line is
  the evals-action marker (`render.MARKER_PREFIX`) on a repository the App is installed on —
  the evals server reporting for the step that wrote it. GitHub lets anyone with write access
  edit any comment; the project's own policy is that only marker comments are ever edited.
- Races as on GitHub: a PATCH replaces a comment's body wholesale, so concurrent PATCHes are
  last-writer-wins; concurrent creates both succeed (two comments). `gate` (see `_http`) holds a
  chosen request before it takes effect, so a test decides which one lands last.
- GitHub Apps (`add_app`): `GET /app`, `POST /app/installations/{id}/access_tokens` and
  `GET /repos/{o}/{r}/installation` need an App JWT signed by the App's key (else 401);
  installation tokens expire (`advance_clock`) and then get 401. `set_role` gives a user a
  role on the repository, read back by `GET .../collaborators/{username}/permission`. See
  `_github_apps`.
- Deployments (`add_deployment`): `GET .../deployments` (newest first, `sha`/`ref`/`task`/
  `environment` filters) and `GET .../deployments/{id}/statuses` (newest first, 404 for an
  unknown deployment), paged like every listing. See `_github_deployments`.

Run standalone with `python -m tests.fakes.github --port 0 [--state-file F]`; see `main`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import re
import secrets
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlencode

from evals_action import render
from tests.fakes import _github_apps as apps
from tests.fakes import _github_deployments as deployments
from tests.fakes import _github_objects as objects
from tests.fakes import _openapi
from tests.fakes._http import FakeServer, RecordedRequest, Reply, serve_main

ACTIONS_BOT = "github-actions[bot]"
MAX_COMMENT = 65536
MAX_DESCRIPTION = 140
STATUS_STATES = ("error", "failure", "pending", "success")
DEFAULT_SCRIPT = (("queued", None), ("in_progress", None), ("completed", "success"))
DEFAULT_INPUTS = ("completion_params", "metadata", "model_base_url", "api_key")
ARTIFACT_NAME = "rollout-result"
_SHA = re.compile(r"[0-9a-f]{40}")
_REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"


@dataclasses.dataclass
class _Repo:
    owner: str
    name: str
    id: int

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclasses.dataclass
class _Pull:
    number: int
    head_sha: str
    head_repo_full_name: str | None
    state: str
    merged: bool
    head_ref: str
    title: str
    head_repo_deleted: bool
    created_at: str


@dataclasses.dataclass
class _Workflow:
    workflow_id: str
    numeric_id: int
    repo: str
    inputs: tuple[str, ...] | None
    run_name: Callable[[Mapping[str, Any]], str] | str | None
    script: tuple[tuple[str, str | None], ...]
    artifact_files: dict[str, bytes] | None
    appear_after_polls: int
    name: str
    runs_started: int = 0


@dataclasses.dataclass
class _Run:
    id: int
    workflow: _Workflow
    repo: str
    ref: str
    inputs: dict[str, Any]
    name: str
    run_number: int
    head_sha: str
    created_at: str
    updated_at: str
    hidden_listings: int
    step: int = 0
    gets: int = 0
    cancelled: bool = False
    artifact_ids: list[int] = dataclasses.field(default_factory=list)

    @property
    def status(self) -> str:
        return "completed" if self.cancelled else self._step()[0]

    @property
    def conclusion(self) -> str | None:
        return "cancelled" if self.cancelled else self._step()[1]

    def _step(self) -> tuple[str, str | None]:
        script = self.workflow.script
        return script[min(self.step, len(script) - 1)]


@dataclasses.dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str]
    times: int | None


@dataclasses.dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: str
    in_description: bool = True  # False: GitHub has it, but the OpenAPI cut does not


def _routes(*table: tuple[str, str, str] | tuple[str, str, str, bool]) -> list[_Route]:
    return [_Route(t[0], re.compile(t[1] + "$"), *t[2:]) for t in table]


ROUTES = _routes(
    ("GET", "/user", "_get_user"),
    ("GET", "/rate_limit", "_get_rate_limit"),
    ("GET", _REPO, "_get_repo"),
    ("GET", _REPO + r"/pulls/(?P<number>\d+)", "_get_pull"),
    ("GET", _REPO + r"/commits/(?P<sha>[^/]+)/pulls", "_list_commit_pulls"),
    ("GET", _REPO + r"/commits/(?P<ref>[^/]+)/statuses", "_list_statuses"),
    ("GET", _REPO + r"/commits/(?P<ref>[^/]+)/status", "_get_combined_status"),
    ("GET", _REPO + r"/commits/(?P<ref>[^/]+)", "_get_commit", False),
    ("POST", _REPO + r"/statuses/(?P<sha>[^/]+)", "_create_status"),
    ("GET", _REPO + r"/deployments", "_list_deployments"),
    ("GET", _REPO + r"/deployments/(?P<deployment_id>\d+)/statuses", "_list_deployment_statuses"),
    ("GET", _REPO + r"/issues/(?P<number>\d+)/comments", "_list_comments"),
    ("POST", _REPO + r"/issues/(?P<number>\d+)/comments", "_create_comment"),
    ("GET", _REPO + r"/issues/comments/(?P<comment_id>\d+)", "_get_comment"),
    ("PATCH", _REPO + r"/issues/comments/(?P<comment_id>\d+)", "_update_comment"),
    ("DELETE", _REPO + r"/issues/comments/(?P<comment_id>\d+)", "_delete_comment"),
    ("GET", _REPO + r"/actions/workflows/(?P<workflow>[^/]+)", "_get_workflow", False),
    ("POST", _REPO + r"/actions/workflows/(?P<workflow>[^/]+)/dispatches", "_dispatch"),
    ("GET", _REPO + r"/actions/workflows/(?P<workflow>[^/]+)/runs", "_list_workflow_runs"),
    ("GET", _REPO + r"/actions/runs", "_list_repo_runs"),
    ("GET", _REPO + r"/actions/runs/(?P<run_id>\d+)", "_get_run"),
    ("POST", _REPO + r"/actions/runs/(?P<run_id>\d+)/cancel", "_cancel_run"),
    ("GET", _REPO + r"/actions/runs/(?P<run_id>\d+)/artifacts", "_list_artifacts"),
    ("GET", _REPO + r"/actions/artifacts/(?P<artifact_id>\d+)/(?P<fmt>[^/]+)", "_get_zip"),
    ("POST", r"/app/installations/(?P<installation_id>\d+)/access_tokens", "_create_app_token"),
    ("GET", r"/app", "_get_app"),
    ("GET", _REPO + r"/installation", "_get_repo_installation"),
    ("GET", _REPO + r"/collaborators/(?P<username>[^/]+)/permission", "_get_permission"),
)
_APP_ROUTES = re.compile(r"/app(/|$)|/repos/[^/]+/[^/]+/installation$")
_DOCS = {
    "_get_user": "users/users#get-the-authenticated-user",
    "_create_comment": "issues/comments#create-an-issue-comment",
    "_update_comment": "issues/comments#update-an-issue-comment",
    "_create_status": "commits/statuses#create-a-commit-status",
    "_list_commit_pulls": "commits/commits#list-pull-requests-associated-with-a-commit",
    "_dispatch": "actions/workflows#create-a-workflow-dispatch-event",
    "_cancel_run": "actions/workflow-runs#cancel-a-workflow-run",
}


class FakeGitHub(FakeServer):
    """GitHub's REST API for one repository (plus any repository a workflow is added to)."""

    control_ops = frozenset(
        {
            "add_pull",
            "add_comment",
            "add_workflow",
            "add_deployment",
            "fail_next",
            "set_role",
            "advance_clock",
            "clear_requests",
            "take_violations",
            "gate",
            "release_gate",
        }
    )
    server_header = "github.com"

    def __init__(
        self,
        *,
        owner: str = "octo-org",
        repo: str = "octo-repo",
        token: str = "ghs_fake_installation_token",  # noqa: S107  (a fake's fake token)
        token_kind: str = "installation",  # noqa: S107  (not a password)
        user_login: str = "octo-bot",
        api_prefix: str = "",
        spec: str = "api.github.com",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if token_kind not in ("installation", "user"):
            raise ValueError(f"token_kind must be 'installation' or 'user', not {token_kind!r}")
        if spec not in _openapi.SPEC_FILES:
            raise ValueError(f"spec must be one of {sorted(_openapi.SPEC_FILES)}, not {spec!r}")
        if api_prefix and (not api_prefix.startswith("/") or api_prefix.endswith("/")):
            raise ValueError(f"api_prefix must look like '/api/v3', not {api_prefix!r}")
        super().__init__(host=host, port=port)
        self.owner, self.repo, self.token = owner, repo, token
        self.token_kind, self.user_login = token_kind, user_login
        self.api_prefix, self.spec = api_prefix, spec
        self.download_drip = 0.0  # > 0: artifact zips are sent a byte at a time, this far apart
        self._created_at = objects.now()
        self._repos: dict[str, _Repo] = {}
        self._main = self._repo_record(f"{owner}/{repo}")
        self._pulls: dict[int, _Pull] = {}
        self._issues: set[int] = set()
        self._comments: dict[int, dict[str, Any]] = {}
        self._statuses: list[dict[str, Any]] = []
        self._workflows: list[_Workflow] = []
        self._runs: dict[int, _Run] = {}
        self._artifacts: dict[int, dict[str, Any]] = {}
        self._dispatches: list[dict[str, Any]] = []
        self._cancelled: list[int] = []
        self._faults: list[_Fault] = []
        self._next = {"comment": 2_400_000_001, "status": 30_000_000_001, "artifact": 1_500_000_001}
        self._next_run = 9_000_000_001
        self._used = 0
        self._reset_at = int(time.time()) + 3600
        self.apps = apps.Apps()
        self.deployments = deployments.Deployments()

    # --- addresses -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API base for PyGithub's `base_url` and `GITHUB_API_URL` (includes any prefix)."""
        return self.root_url + self.api_prefix

    @property
    def server_url(self) -> str:
        """The web base (`GITHUB_SERVER_URL`): github.com, or this host when acting as GHES."""
        return self.root_url if self.api_prefix else "https://github.com"

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"

    @property
    def identity(self) -> str:
        """The login comments and statuses made with the fake's own `token` are attributed to
        (an App's installation tokens write as `<slug>[bot]`)."""
        return ACTIONS_BOT if self.token_kind == "installation" else self.user_login

    # --- seeding -------------------------------------------------------------------------------

    def add_pull(
        self,
        *,
        number: int,
        head_sha: str,
        head_repo_full_name: str | None = None,
        state: str = "open",
        merged: bool = False,
        head_ref: str | None = None,
        title: str | None = None,
        head_repo_deleted: bool = False,
    ) -> None:
        """A pull request in the main repository; a `head_repo_full_name` of another owner is a
        fork; `head_repo_deleted` answers `head.repo: null` like GitHub does for a deleted fork."""
        with self._lock:
            self._pulls[number] = _Pull(
                number=number,
                head_sha=head_sha,
                head_repo_full_name=head_repo_full_name,
                state="closed" if merged else state,
                merged=merged,
                head_ref=head_ref or f"feature-{number}",
                title=title or f"Change things (#{number})",
                head_repo_deleted=head_repo_deleted,
                created_at=objects.now(),
            )
            self._issues.add(number)

    def add_comment(
        self, *, issue_number: int, body: str, user_login: str, user_type: str = "User"
    ) -> int:
        """A comment someone already wrote on an issue or PR; returns its id."""
        with self._lock:
            self._issues.add(issue_number)
            return self._new_comment(issue_number, body, user_login, user_type)

    def add_workflow(
        self,
        *,
        workflow_id: str,
        numeric_id: int,
        inputs: Sequence[str] | None = DEFAULT_INPUTS,
        run_name: Callable[[Mapping[str, Any]], str] | str | None = None,
        script: Sequence[Sequence[str | None]] = DEFAULT_SCRIPT,
        artifact_files: Mapping[str, bytes | str] | None = None,
        appear_after_polls: int = 0,
        repo_full_name: str | None = None,
        name: str = "Rollout",
    ) -> None:
        """A `workflow_dispatch` workflow. `inputs=None` accepts any inputs; `run_name` (callable
        of the inputs, or a fixed string) defaults to `rollout:<metadata.rollout_id>`; `script`
        is the (status, conclusion) answered by successive GETs of a run; `appear_after_polls`
        hides a new run from that many listings first."""
        if not script:
            raise ValueError("script needs at least one (status, conclusion) step")
        files = None
        if artifact_files is not None:
            files = {k: v.encode() if isinstance(v, str) else v for k, v in artifact_files.items()}
        with self._lock:
            repo = self._repo_record(repo_full_name or self.full_name)
            self._workflows.append(
                _Workflow(
                    workflow_id=workflow_id,
                    numeric_id=numeric_id,
                    repo=repo.full_name.lower(),
                    inputs=tuple(inputs) if inputs is not None else None,
                    run_name=run_name,
                    script=tuple((str(s[0]), s[1]) for s in script),
                    artifact_files=files,
                    appear_after_polls=appear_after_polls,
                    name=name,
                )
            )

    def add_deployment(
        self,
        *,
        sha: str,
        environment: str = "Preview",
        statuses: Sequence[Sequence[str]] = (),
        ref: str | None = None,
        task: str = "deploy",
        repo_full_name: str | None = None,
    ) -> int:
        """A deployment of `sha` (in the main repository unless `repo_full_name`), with
        `statuses` oldest first, each (state, target_url) or (state, target_url,
        environment_url); returns its id. Later deployments are newer."""
        with self._lock:
            repo = self._repo_record(repo_full_name or self.full_name)
            return self.deployments.add(
                repo=repo.full_name,
                sha=sha,
                environment=environment,
                ref=ref or sha,
                task=task,
                created_at=objects.now(),
                statuses=statuses,
            )

    def fail_next(
        self,
        *,
        method: str,
        path_pattern: str,
        status: int,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        times: int | None = 1,
    ) -> None:
        """Answer the next `times` requests (None: all) whose method matches (`*` for any) and
        whose route (path without the GHES prefix) matches the regex with this error."""
        with self._lock:
            self._faults.append(
                _Fault(
                    method=method.upper(),
                    pattern=re.compile(path_pattern),
                    status=status,
                    body=body,
                    headers=dict(headers or {}),
                    times=times,
                )
            )

    def add_app(
        self,
        *,
        app_id: int,
        public_key_pem: bytes,
        installation_id: int,
        repositories: Sequence[str] = (),
        token_ttl: float = 3600.0,
        slug: str = "",
    ) -> None:
        """A GitHub App installed on `repositories` (default: the main one). Its JWTs must verify
        with `public_key_pem`; its installation tokens expire after `token_ttl` seconds and write
        as `<slug>[bot]` (default slug `evals-app-<app_id>`)."""
        with self._lock:
            names = {r.lower() for r in (repositories or [self.full_name])}
            slug = slug or f"evals-app-{app_id}"
            self.apps.add(apps.App(app_id, public_key_pem, installation_id, names, token_ttl, slug))

    def set_role(self, *, login: str, role: str) -> None:
        """A collaborator's role: admin, maintain, write, triage or read."""
        with self._lock:
            self.apps.roles[login.lower()] = role

    def advance_clock(self, *, seconds: float) -> None:
        """Move the clock installation tokens expire by (JWTs are checked against real time)."""
        with self._lock:
            self.apps.offset += seconds

    # --- inspection ----------------------------------------------------------------------------

    def comments(self, issue_number: int) -> list[dict[str, Any]]:
        """The comments on an issue or PR as the API returns them, oldest first."""
        with self._lock:
            return [self._comment_json(c) for c in self._comment_records(issue_number)]

    def statuses(self, sha: str) -> list[dict[str, Any]]:
        """The statuses set on a commit as the API returns them, in creation order."""
        with self._lock:
            return [self._status_json(s) for s in self._statuses if s["sha"] == sha]

    @property
    def dispatches(self) -> list[dict[str, Any]]:
        """Each accepted dispatch: workflow_id (as requested), ref, inputs, run_id."""
        with self._lock:
            return [dict(d) for d in self._dispatches]

    @property
    def cancelled_runs(self) -> list[int]:
        with self._lock:
            return list(self._cancelled)

    def workflow_runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first, as `GET .../actions/runs/{id}` would show it (no advance)."""
        with self._lock:
            return [self._run_json(r) for r in self._runs.values()]

    def _state_extra(self) -> dict[str, Any]:
        return {
            "pulls": [dataclasses.asdict(p) for p in self._pulls.values()],
            "comments": {n: self.comments(n) for n in sorted(self._issues)},
            "statuses": [self._status_json(s) | {"sha": s["sha"]} for s in self._statuses],
            "dispatches": self.dispatches,
            "cancelled_runs": self.cancelled_runs,
            "workflow_runs": self.workflow_runs(),
        }

    # --- request handling ----------------------------------------------------------------------

    def _handle(self, request: RecordedRequest, raw: bytes) -> Reply:
        if request.path.startswith("/_download/"):
            return self._serve_download(request)
        route = self._route_path(request.path)
        if route is None:
            self._violations.append(
                f"{request.method} {request.path}: outside the API prefix {self.api_prefix!r} "
                "(use the base URL, e.g. GITHUB_API_URL, for every call)"
            )
            return self._error(404, "Not Found")
        request.route = route
        matched = self._match(request.method, route)
        if matched is not None and not matched[0].in_description:
            self._violations.append(
                f"{request.method} {route}: GitHub has this endpoint but the project's OpenAPI "
                "cut does not; avoid the call (e.g. build the object from what you have)"
            )
        elif not self._check_request(request, raw) and matched is None:
            self._violations.append(
                f"{request.method} {route}: in GitHub's description but FakeGitHub does not "
                "implement it; extend tests/fakes/github.py"
            )
        authed = self._authorized(request)
        reply = self._gate(request, authed) or self._answer(request, matched)
        if matched is not None and matched[0].in_description and reply.check:
            self._check_response(request, reply)
        reply.headers = {**self._standard_headers(authed), **reply.headers}
        return reply

    def _gate(self, request: RecordedRequest, authed: bool) -> Reply | None:
        if not request.header("user-agent"):
            self._violations.append(f"{request.method} {request.path}: no User-Agent header")
            return self._error(
                403,
                "Request forbidden by administrative rules. Please make sure your request has "
                "a User-Agent header (https://docs.github.com/rest/overview/"
                "resources-in-the-rest-api#user-agent-required).",
            )
        if not authed:
            return self._error(401, "Bad credentials")
        if request.route != "/rate_limit":
            self._used += 1
        return self._take_fault(request)

    def _answer(
        self, request: RecordedRequest, matched: tuple[_Route, dict[str, str]] | None
    ) -> Reply:
        if matched is None:
            return self._error(404, "Not Found")
        route, params = matched
        if request.method in ("POST", "PATCH", "PUT") and request.body and request.json is None:
            return self._error(400, "Problems parsing JSON")
        repo = None
        if "owner" in params:
            repo = self._repos.get(f"{params.pop('owner')}/{params.pop('repo')}".lower())
            if repo is None:
                return self._error(404, "Not Found")
        handler = getattr(self, route.handler)
        reply: Reply = handler(request, repo, **params) if repo else handler(request, **params)
        return reply

    def _route_path(self, path: str) -> str | None:
        if self.api_prefix:
            if path != self.api_prefix and not path.startswith(self.api_prefix + "/"):
                return None
            path = path[len(self.api_prefix) :] or "/"
        match = re.match(r"/repositories/(\d+)(/.*)?$", path)
        if match:
            by_id = {r.id: r for r in self._repos.values()}
            repo = by_id.get(int(match.group(1)))
            if repo is not None:
                return f"/repos/{repo.full_name}{match.group(2) or ''}"
        return path

    def _match(self, method: str, route: str) -> tuple[_Route, dict[str, str]] | None:
        for candidate in ROUTES:
            m = candidate.pattern.match(route)
            if m and candidate.method == method:
                return candidate, {k: unquote(v) for k, v in m.groupdict().items()}
        return None

    def _authorized(self, request: RecordedRequest) -> bool:
        scheme, _, credential = (request.header("authorization") or "").partition(" ")
        if _APP_ROUTES.match(request.route):  # App JWTs: the handler verifies them
            return scheme.lower() == "bearer" and credential.count(".") == 2
        if scheme.lower() not in ("token", "bearer"):
            return False
        return credential.strip() == self.token or self.apps.token_valid(credential.strip())

    def _take_fault(self, request: RecordedRequest) -> Reply | None:
        for fault in self._faults:
            if fault.method in ("*", request.method) and fault.pattern.search(request.route):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                body = fault.body if fault.body is not None else self._error_body(fault.status)
                return Reply(fault.status, body, dict(fault.headers), check=False)
        return None

    # --- checks against the description --------------------------------------------------------

    def _check_request(self, request: RecordedRequest, raw: bytes) -> list[str]:
        errors = _openapi.request_errors(
            self.spec,
            method=request.method,
            path=request.route,
            query=request.query,
            body=raw,
            content_type=request.header("content-type") or "",
        )
        self._violations += [f"{request.method} {request.path}: {e}" for e in errors]
        return errors

    def _check_response(self, request: RecordedRequest, reply: Reply) -> None:
        if not isinstance(reply.body, (dict, list)):
            return
        for error in _openapi.response_errors(
            self.spec,
            method=request.method,
            path=request.route,
            query=request.query,
            status=reply.status,
            body=json.dumps(reply.body).encode(),
            headers=reply.headers,
        ):
            self._violations.append(f"response to {request.method} {request.path}: {error}")

    # --- shared answers ------------------------------------------------------------------------

    def _site(self) -> objects.Site:
        return objects.Site(api=self.url, html=self.server_url)

    def _docs(self, anchor: str = "") -> str:
        base = "https://docs.github.com"
        if self.spec.startswith("ghes-"):
            base += f"/enterprise-server@{self.spec.removeprefix('ghes-')}"
        return f"{base}/rest/{anchor}" if anchor else f"{base}/rest"

    def _error_body(self, status: int, message: str = "", anchor: str = "") -> dict[str, Any]:
        return {
            "message": message or HTTPStatus(status).phrase,
            "documentation_url": self._docs(anchor),
            "status": str(status),
        }

    def _error(self, status: int, message: str, anchor: str = "") -> Reply:
        return Reply(status, self._error_body(status, message, anchor))

    def _invalid(
        self, anchor: str, resource: str, field: str, code: str, message: str = ""
    ) -> Reply:
        error = {"resource": resource, "code": code, "field": field}
        if message:
            error["message"] = message
        body = {"message": "Validation Failed", "errors": [error], **self._error_body(422)}
        body["documentation_url"] = self._docs(anchor)
        return Reply(422, body)

    def _standard_headers(self, authed: bool) -> dict[str, str]:
        limit = 5000 if authed else 60
        used = self._used if authed else 1
        headers = {
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "X-GitHub-Request-Id": f"{secrets.token_hex(2).upper()}:{secrets.token_hex(4).upper()}",
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - used)),
            "X-RateLimit-Reset": str(self._reset_at),
            "X-RateLimit-Used": str(used),
            "X-RateLimit-Resource": "core",
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Expose-Headers": "ETag, Link, Location, Retry-After, X-GitHub-OTP, "
            "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, "
            "X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Poll-Interval, "
            "X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset",
            "X-Content-Type-Options": "nosniff",
            "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
        }
        if authed and self.token_kind == "user":
            headers["X-OAuth-Scopes"] = "repo, workflow"
        return headers

    def _page(
        self, request: RecordedRequest, repo: _Repo, items: Sequence[Any]
    ) -> tuple[list[Any], dict[str, str]]:
        per_page = min(_positive(request.query.get("per_page"), 30), 100)
        page = _positive(request.query.get("page"), 1)
        last = max(1, math.ceil(len(items) / per_page))
        chunk = list(items[(page - 1) * per_page : page * per_page])
        rest = re.sub(r"^/repos/[^/]+/[^/]+", "", request.route)
        base = f"{self.root_url}{self.api_prefix}/repositories/{repo.id}{rest}"

        def link(number: int, rel: str) -> str:
            query = dict(request.query)
            query["page"] = str(number)
            return f'<{base}?{urlencode(query)}>; rel="{rel}"'

        links = []
        if page > 1:
            links.append(link(min(page - 1, last), "prev"))
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links.append(link(1, "first"))
        return chunk, ({"Link": ", ".join(links)} if links else {})

    def _repo_record(self, full_name: str) -> _Repo:
        key = full_name.lower()
        if key not in self._repos:
            owner, _, name = full_name.partition("/")
            self._repos[key] = _Repo(owner=owner, name=name, id=700_000_000 + len(self._repos))
        return self._repos[key]

    def _repo_json(self, repo: _Repo) -> dict[str, Any]:
        return objects.repository(
            self._site(),
            owner=repo.owner,
            name=repo.name,
            repo_id=repo.id,
            created_at=self._created_at,
        )

    def _identity_json(self) -> dict[str, Any]:
        kind = "Bot" if self.token_kind == "installation" else "User"
        return objects.user(self._site(), login=self.identity, type=kind)

    def _writer(self, request: RecordedRequest) -> apps.Writer:
        """Who the request's token acts as (`_authorized` already let it in)."""
        credential = (request.header("authorization") or "").partition(" ")[2].strip()
        app = None if credential == self.token else self.apps.app_for_token(credential)
        if app is not None:
            return apps.Writer.bot(app)
        kind = "Bot" if self.token_kind == "installation" else "User"
        return apps.Writer(login=self.identity, type=kind)

    def _app_owner_json(self) -> dict[str, Any]:
        return objects.user(self._site(), login=self.owner, type="Organization")

    # --- users and repositories ----------------------------------------------------------------

    def _get_user(self, request: RecordedRequest) -> Reply:
        if self.token_kind == "installation" or self._writer(request).app is not None:
            return self._error(403, "Resource not accessible by integration", _DOCS["_get_user"])
        site = self._site()
        return Reply(
            200, objects.private_user(site, login=self.user_login, created_at=self._created_at)
        )

    def _get_rate_limit(self, request: RecordedRequest) -> Reply:
        return Reply(200, objects.rate_limit(limit=5000, used=self._used, reset=self._reset_at))

    def _get_repo(self, request: RecordedRequest, repo: _Repo) -> Reply:
        return Reply(200, self._repo_json(repo))

    # --- GitHub Apps ---------------------------------------------------------------------------

    def _get_app(self, request: RecordedRequest) -> Reply:
        app, problem = self.apps.jwt_problem(request.header("authorization") or "")
        if app is None or problem:
            return self._error(401, problem or "A JSON web token could not be decoded")
        site = self._site()
        owner = self._app_owner_json()
        return Reply(200, apps.app_json(api=site.api, html=site.html, app=app, owner=owner))

    def _create_app_token(self, request: RecordedRequest, installation_id: str) -> Reply:
        app, problem = self.apps.jwt_problem(request.header("authorization") or "")
        if app is None or problem:
            return self._error(401, problem or "A JSON web token could not be decoded")
        if app.installation_id != int(installation_id):
            return self._error(404, "Not Found")
        token, expires_at = self.apps.issue(app)
        return Reply(201, {"token": token, "expires_at": expires_at, "permissions": {}})

    def _get_repo_installation(self, request: RecordedRequest, repo: _Repo) -> Reply:
        app, problem = self.apps.jwt_problem(request.header("authorization") or "")
        if app is None or problem:
            return self._error(401, problem or "A JSON web token could not be decoded")
        if self.apps.for_repository(repo.full_name) is not app:
            return self._error(404, "Not Found")
        site = self._site()
        account = objects.user(site, login=repo.full_name.split("/")[0], type="Organization")
        return Reply(
            200, apps.installation_json(api=site.api, html=site.html, app=app, account=account)
        )

    def _get_permission(self, request: RecordedRequest, repo: _Repo, username: str) -> Reply:
        permission, role = self.apps.permission(username) or ("read", "read")  # public repo
        user = {**objects.user(self._site(), login=username), "role_name": role}
        return Reply(200, {"permission": permission, "role_name": role, "user": user})

    # --- pull requests -------------------------------------------------------------------------

    def _pull_json(self, pull: _Pull, *, simple: bool = False) -> dict[str, Any]:
        site = self._site()
        base_repo = self._repo_json(self._main)
        head_full = pull.head_repo_full_name or self.full_name
        head_owner, _, head_name = head_full.partition("/")
        head_repo = None
        if not pull.head_repo_deleted:
            head_repo = objects.repository(
                site,
                owner=head_owner,
                name=head_name,
                repo_id=self._repo_record(head_full).id,
                created_at=self._created_at,
                owner_type="User"
                if head_full.lower() != self.full_name.lower()
                else "Organization",
                fork=head_full.lower() != self.full_name.lower(),
            )
        return objects.pull(
            site,
            number=pull.number,
            title=pull.title,
            state=pull.state,
            merged=pull.merged,
            created_at=pull.created_at,
            author=objects.user(site, login="octocat"),
            base_repo=base_repo,
            base_sha=objects.fake_sha(f"base-{pull.number}"),
            head_repo=head_repo,
            head_owner=head_owner,
            head_ref=pull.head_ref,
            head_sha=pull.head_sha,
            simple=simple,
        )

    def _get_pull(self, request: RecordedRequest, repo: _Repo, number: str) -> Reply:
        pull = self._pulls.get(int(number)) if repo is self._main else None
        if pull is None:
            return self._error(404, "Not Found")
        # GitHub answers `head.repo: null` for a deleted fork; the description says it cannot be.
        return Reply(200, self._pull_json(pull), check=not pull.head_repo_deleted)

    def _list_commit_pulls(self, request: RecordedRequest, repo: _Repo, sha: str) -> Reply:
        if not _SHA.fullmatch(sha):
            return self._error(422, f"No commit found for SHA: {sha}", _DOCS["_list_commit_pulls"])
        pulls = [p for p in self._pulls.values() if p.head_sha == sha and repo is self._main]
        chunk, headers = self._page(request, repo, pulls)
        body = [self._pull_json(p, simple=True) for p in chunk]
        return Reply(200, body, headers, check=not any(p.head_repo_deleted for p in chunk))

    def _get_commit(self, request: RecordedRequest, repo: _Repo, ref: str) -> Reply:
        sha = ref if _SHA.fullmatch(ref) else objects.fake_sha(ref)
        author = objects.user(self._site(), login="octocat")
        return Reply(
            200, objects.commit(self._site(), full_name=repo.full_name, sha=sha, author=author)
        )

    # --- issue comments ------------------------------------------------------------------------

    def _new_comment(
        self, issue_number: int, body: str, login: str, user_type: str, app_id: int | None = None
    ) -> int:
        comment_id = self._next["comment"]
        self._next["comment"] += 1
        stamp = objects.now()
        self._comments[comment_id] = {
            "id": comment_id,
            "issue_number": issue_number,
            "body": body,
            "user_login": login,
            "user_type": user_type,
            "app_id": app_id,  # the App whose installation token wrote it
            "created_at": stamp,
            "updated_at": stamp,
        }
        return comment_id

    def _comment_records(self, issue_number: int) -> list[dict[str, Any]]:
        return [c for c in self._comments.values() if c["issue_number"] == issue_number]

    def _comment_json(self, record: dict[str, Any]) -> dict[str, Any]:
        site = self._site()
        app = self.apps.get(record["app_id"]) if record["app_id"] is not None else None
        via = None
        if app is not None:
            owner = self._app_owner_json()
            via = apps.app_json(api=site.api, html=site.html, app=app, owner=owner)
            del via["installations_count"]  # only `GET /app` answers it
        return objects.issue_comment(
            site,
            full_name=self.full_name,
            comment_id=record["id"],
            issue_number=record["issue_number"],
            is_pull=record["issue_number"] in self._pulls,
            body=record["body"],
            author=objects.user(site, login=record["user_login"], type=record["user_type"]),
            created_at=record["created_at"],
            updated_at=record["updated_at"],
        ) | {"performed_via_github_app": via}

    def _comment_body_error(self, request: RecordedRequest, anchor: str) -> Reply | None:
        body = request.json.get("body") if isinstance(request.json, dict) else None
        if not isinstance(body, str):
            return self._invalid(anchor, "IssueComment", "body", "missing_field")
        if not body.strip():
            return self._invalid(anchor, "IssueComment", "body", "custom", "body cannot be blank")
        if len(body) > MAX_COMMENT:
            message = f"body is too long (maximum is {MAX_COMMENT} characters)"
            return self._invalid(anchor, "IssueComment", "body", "custom", message)
        return None

    def _list_comments(self, request: RecordedRequest, repo: _Repo, number: str) -> Reply:
        if repo is not self._main or int(number) not in self._issues:
            return self._error(404, "Not Found")
        records = self._comment_records(int(number))
        since = _parse_time(request.query.get("since", ""))
        if since is not None:
            records = [c for c in records if _parse_time(c["updated_at"]) >= since]  # type: ignore[operator]
        chunk, headers = self._page(request, repo, records)
        return Reply(200, [self._comment_json(c) for c in chunk], headers)

    def _create_comment(self, request: RecordedRequest, repo: _Repo, number: str) -> Reply:
        if repo is not self._main or int(number) not in self._issues:
            return self._error(404, "Not Found")
        invalid = self._comment_body_error(request, _DOCS["_create_comment"])
        if invalid:
            return invalid
        who = self._writer(request)
        app_id = who.app.app_id if who.app else None
        comment_id = self._new_comment(
            int(number), request.json["body"], who.login, who.type, app_id
        )
        body = self._comment_json(self._comments[comment_id])
        return Reply(201, body, {"Location": body["url"]})

    def _comment(self, repo: _Repo, comment_id: str) -> dict[str, Any] | None:
        return self._comments.get(int(comment_id)) if repo is self._main else None

    def _get_comment(self, request: RecordedRequest, repo: _Repo, comment_id: str) -> Reply:
        record = self._comment(repo, comment_id)
        if record is None:
            return self._error(404, "Not Found")
        return Reply(200, self._comment_json(record))

    def _update_comment(self, request: RecordedRequest, repo: _Repo, comment_id: str) -> Reply:
        record = self._comment(repo, comment_id)
        if record is None:
            return self._error(404, "Not Found")
        invalid = self._comment_body_error(request, _DOCS["_update_comment"])
        if invalid:
            return invalid
        self._check_own_comment(request, record)
        record["body"] = request.json["body"]
        record["updated_at"] = objects.now()
        return Reply(200, self._comment_json(record))

    def _delete_comment(self, request: RecordedRequest, repo: _Repo, comment_id: str) -> Reply:
        record = self._comment(repo, comment_id)
        if record is None:
            return self._error(404, "Not Found")
        self._check_own_comment(request, record)
        del self._comments[record["id"]]
        return Reply(204)

    def _check_own_comment(self, request: RecordedRequest, record: dict[str, Any]) -> None:
        """A violation unless the token wrote the comment, or an App installed on the repository
        changes a marker comment (the server reporting for the step that wrote it)."""
        who = self._writer(request)
        if record["user_login"] == who.login:
            return
        if who.app is not None and self._reports_here(who.app, record):
            return
        why = (
            f"contract: {request.method} {request.path} changes a comment by "
            f"{record['user_login']!r}, but the token is {who.login!r}; "
            "the action never edits anyone else's comment"
        )
        if who.app is not None:
            why += " (an App may change another's comment only when it carries the marker)"
        self._violations.append(why)

    def _reports_here(self, app: apps.App, record: dict[str, Any]) -> bool:
        first = record["body"].split("\n", 1)[0].strip()
        marked = first.startswith(render.MARKER_PREFIX) and first.endswith("-->")
        return marked and self.full_name.lower() in app.repositories

    # --- commit statuses -----------------------------------------------------------------------

    def _status_json(self, record: dict[str, Any]) -> dict[str, Any]:
        return objects.status(
            self._site(),
            full_name=self.full_name,
            sha=record["sha"],
            record=record,
            creator=objects.user(
                self._site(), login=record["creator"], type=record["creator_type"]
            ),
        )

    def _create_status(self, request: RecordedRequest, repo: _Repo, sha: str) -> Reply:
        anchor = _DOCS["_create_status"]
        if repo is not self._main or not _SHA.fullmatch(sha):
            return self._error(422, f"No commit found for SHA: {sha}", anchor)
        body = request.json if isinstance(request.json, dict) else {}
        if body.get("state") not in STATUS_STATES:
            message = "state is not included in the list"
            return self._invalid(anchor, "Status", "state", "custom", message)
        description = body.get("description")
        if isinstance(description, str) and len(description) > MAX_DESCRIPTION:
            message = f"description is too long (maximum is {MAX_DESCRIPTION} characters)"
            return self._invalid(anchor, "Status", "description", "custom", message)
        record = {
            "id": self._next["status"],
            "sha": sha,
            "state": body["state"],
            "description": description,
            "target_url": body.get("target_url"),
            "context": body.get("context") or "default",
            "created_at": objects.now(),
            "creator": self._writer(request).login,
            "creator_type": self._writer(request).type,
        }
        self._next["status"] += 1
        self._statuses.append(record)
        answer = self._status_json(record)
        return Reply(201, answer, {"Location": answer["url"]})

    def _list_statuses(self, request: RecordedRequest, repo: _Repo, ref: str) -> Reply:
        records = [s for s in reversed(self._statuses) if s["sha"] == ref and repo is self._main]
        chunk, headers = self._page(request, repo, records)
        return Reply(200, [self._status_json(s) for s in chunk], headers)

    def _get_combined_status(self, request: RecordedRequest, repo: _Repo, ref: str) -> Reply:
        latest: dict[str, dict[str, Any]] = {}
        for record in reversed(self._statuses):
            if record["sha"] == ref and repo is self._main:
                latest.setdefault(record["context"], record)
        body = objects.combined_status(
            self._site(),
            repo=self._repo_json(repo),
            sha=ref,
            latest=[self._status_json(s) for s in latest.values()],
        )
        return Reply(200, body)

    # --- deployments ---------------------------------------------------------------------------

    def _list_deployments(self, request: RecordedRequest, repo: _Repo) -> Reply:
        found = self.deployments.listing(repo=repo.full_name, query=request.query)
        chunk, headers = self._page(request, repo, found)
        creator = objects.user(self._site(), login="octocat")
        body = [
            deployments.deployment_json(
                self._site(), full_name=repo.full_name, record=d, creator=creator
            )
            for d in chunk
        ]
        return Reply(200, body, headers)

    def _list_deployment_statuses(
        self, request: RecordedRequest, repo: _Repo, deployment_id: str
    ) -> Reply:
        found = self.deployments.get(repo=repo.full_name, deployment_id=int(deployment_id))
        if found is None:
            return self._error(404, "Not Found", "deployments/statuses#list-deployment-statuses")
        chunk, headers = self._page(request, repo, list(reversed(found.statuses)))
        creator = objects.user(self._site(), login="octocat")
        body = [
            deployments.status_json(
                self._site(), full_name=repo.full_name, deployment=found, record=s, creator=creator
            )
            for s in chunk
        ]
        return Reply(200, body, headers)

    # --- Actions: workflows and runs -----------------------------------------------------------

    def _workflow(self, repo: _Repo, key: str) -> _Workflow | None:
        for wf in self._workflows:
            if wf.repo == repo.full_name.lower() and key in (wf.workflow_id, str(wf.numeric_id)):
                return wf
        return None

    def _get_workflow(self, request: RecordedRequest, repo: _Repo, workflow: str) -> Reply:
        wf = self._workflow(repo, workflow)
        if wf is None:
            return self._error(404, "Not Found")
        path = f".github/workflows/{wf.workflow_id}"
        body = objects.workflow(
            self._site(),
            full_name=repo.full_name,
            numeric_id=wf.numeric_id,
            path=path,
            name=wf.name,
            created_at=self._created_at,
        )
        return Reply(200, body)

    def _dispatch(self, request: RecordedRequest, repo: _Repo, workflow: str) -> Reply:
        anchor = _DOCS["_dispatch"]
        wf = self._workflow(repo, workflow)
        if wf is None:
            return self._error(404, "Not Found", anchor)
        body = request.json if isinstance(request.json, dict) else {}
        ref, inputs = body.get("ref"), body.get("inputs") or {}
        if not isinstance(ref, str) or not ref:
            return self._error(422, 'Invalid request.\n\n"ref" wasn\'t supplied.', anchor)
        if not isinstance(inputs, dict):
            return self._error(
                422, "Invalid request.\n\nFor 'properties/inputs', is not an object.", anchor
            )
        if wf.inputs is not None:
            unexpected = [k for k in inputs if k not in wf.inputs]
            if unexpected:
                return self._error(
                    422, f"Unexpected inputs provided: {json.dumps(unexpected)}", anchor
                )
            missing = [k for k in wf.inputs if k not in inputs]
            if missing:
                return self._error(422, f"Required input '{missing[0]}' not provided", anchor)
        run = self._start_run(wf, ref, inputs)
        self._dispatches.append(
            {"workflow_id": workflow, "ref": ref, "inputs": dict(inputs), "run_id": run.id}
        )
        if body.get("return_run_details"):
            details = self._run_json(run)
            return Reply(
                200,
                {
                    "workflow_run_id": run.id,
                    "run_url": details["url"],
                    "html_url": details["html_url"],
                },
            )
        return Reply(204)

    def _start_run(self, wf: _Workflow, ref: str, inputs: dict[str, Any]) -> _Run:
        wf.runs_started += 1
        stamp = objects.now()
        run = _Run(
            id=self._next_run,
            workflow=wf,
            repo=wf.repo,
            ref=ref.removeprefix("refs/heads/").removeprefix("refs/tags/"),  # as head_branch
            inputs=dict(inputs),
            name=_run_name(wf, inputs),
            run_number=wf.runs_started,
            head_sha=objects.fake_sha(f"{wf.repo}@{ref}"),
            created_at=stamp,
            updated_at=stamp,
            hidden_listings=wf.appear_after_polls,
        )
        self._next_run += 1
        self._runs[run.id] = run
        return run

    def _run_json(self, run: _Run) -> dict[str, Any]:
        record = {
            "id": run.id,
            "name": run.name,
            "ref": run.ref,
            "head_sha": run.head_sha,
            "path": f".github/workflows/{run.workflow.workflow_id}",
            "run_number": run.run_number,
            "status": run.status,
            "conclusion": run.conclusion,
            "workflow_numeric_id": run.workflow.numeric_id,
            "created_at": run.created_at,
            "updated_at": run.updated_at,
        }
        repo = self._repos[run.repo]
        return objects.workflow_run(
            self._site(), repo=self._repo_json(repo), run=record, actor=self._identity_json()
        )

    def _list_workflow_runs(self, request: RecordedRequest, repo: _Repo, workflow: str) -> Reply:
        wf = self._workflow(repo, workflow)
        if wf is None:
            return self._error(404, "Not Found")
        return self._list_runs(request, repo, [r for r in self._runs.values() if r.workflow is wf])

    def _list_repo_runs(self, request: RecordedRequest, repo: _Repo) -> Reply:
        runs = [r for r in self._runs.values() if r.repo == repo.full_name.lower()]
        return self._list_runs(request, repo, runs)

    def _list_runs(self, request: RecordedRequest, repo: _Repo, runs: list[_Run]) -> Reply:
        visible = []
        for run in runs:
            if run.hidden_listings > 0:
                run.hidden_listings -= 1
            else:
                visible.append(run)
        wanted = _run_filter(request.query)
        matching = sorted((r for r in visible if wanted(r)), key=lambda r: r.id, reverse=True)
        chunk, headers = self._page(request, repo, matching)
        body = {"total_count": len(matching), "workflow_runs": [self._run_json(r) for r in chunk]}
        return Reply(200, body, headers)

    def _run(self, repo: _Repo, run_id: str) -> _Run | None:
        run = self._runs.get(int(run_id))
        return run if run is not None and run.repo == repo.full_name.lower() else None

    def _get_run(self, request: RecordedRequest, repo: _Repo, run_id: str) -> Reply:
        run = self._run(repo, run_id)
        if run is None:
            return self._error(404, "Not Found")
        run.gets += 1
        if not run.cancelled and run.step < len(run.workflow.script) - 1:
            run.step += 1
            run.updated_at = objects.now()
        if run.status == "completed" and not run.cancelled:
            self._upload_artifacts(run)
        return Reply(200, self._run_json(run))

    def _cancel_run(self, request: RecordedRequest, repo: _Repo, run_id: str) -> Reply:
        run = self._run(repo, run_id)
        if run is None:
            return self._error(404, "Not Found")
        if run.status == "completed":
            message = "Cannot cancel a workflow run that is completed."
            return self._error(409, message, _DOCS["_cancel_run"])
        run.cancelled = True
        run.updated_at = objects.now()
        self._cancelled.append(run.id)
        return Reply(202, {})

    # --- Actions: artifacts --------------------------------------------------------------------

    def _upload_artifacts(self, run: _Run) -> None:
        files = run.workflow.artifact_files
        if files is None or run.artifact_ids:
            return
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(name, data)
        data = buffer.getvalue()
        artifact_id = self._next["artifact"]
        self._next["artifact"] += 1
        created = datetime.now(timezone.utc)
        self._artifacts[artifact_id] = {
            "id": artifact_id,
            "name": ARTIFACT_NAME,
            "run_id": run.id,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "expires_at": (created + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data": data,
            "token": secrets.token_urlsafe(16),
        }
        run.artifact_ids.append(artifact_id)

    def _artifact_json(self, record: dict[str, Any]) -> dict[str, Any]:
        run = self._runs[record["run_id"]]
        repo = self._repos[run.repo]
        run_record = {"id": run.id, "ref": run.ref, "head_sha": run.head_sha}
        return objects.artifact(
            self._site(), full_name=repo.full_name, record=record, run=run_record, repo_id=repo.id
        )

    def _list_artifacts(self, request: RecordedRequest, repo: _Repo, run_id: str) -> Reply:
        run = self._run(repo, run_id)
        if run is None:
            return self._error(404, "Not Found")
        records = [self._artifacts[a] for a in run.artifact_ids]
        if "name" in request.query:
            records = [a for a in records if a["name"] == request.query["name"]]
        chunk, headers = self._page(request, repo, records)
        body = {"total_count": len(records), "artifacts": [self._artifact_json(a) for a in chunk]}
        return Reply(200, body, headers)

    def _get_zip(self, request: RecordedRequest, repo: _Repo, artifact_id: str, fmt: str) -> Reply:
        record = self._artifacts.get(int(artifact_id))
        if (
            record is None
            or fmt != "zip"
            or self._runs[record["run_id"]].repo != repo.full_name.lower()
        ):
            return self._error(404, "Not Found")
        location = (
            f"{self.root_url}/_download/artifacts/{record['id']}/{record['name']}.zip"
            f"?sig={record['token']}"
        )
        return Reply(302, None, {"Location": location})

    def _serve_download(self, request: RecordedRequest) -> Reply:
        match = re.match(r"/_download/artifacts/(\d+)/", request.path)
        record = self._artifacts.get(int(match.group(1))) if match else None
        if record is None or request.query.get("sig") != record["token"]:
            return Reply(403, b"AuthenticationFailed", {"Content-Type": "application/xml"})
        headers = {
            "Content-Type": "application/zip",
            "Content-Disposition": f"attachment; filename={record['name']}.zip",
        }
        return Reply(200, record["data"], headers, drip=self.download_drip)


def _positive(value: str | None, default: int) -> int:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return number if number > 0 else default


def _parse_time(value: str, *, end: bool = False) -> datetime | None:
    value = value.strip()
    if not value or value == "*":
        return None
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=timezone.utc)
            return day + timedelta(days=1) - timedelta(microseconds=1) if end else day
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _created_filter(expr: str) -> Callable[[datetime], bool]:
    """GitHub's search syntax for `created`: `>=X`, `>X`, `<=X`, `<X`, `X..Y`, or a date."""
    expr = expr.strip()
    if ".." in expr:
        first, second = expr.split("..", 1)
        low, high = _parse_time(first), _parse_time(second, end=True)
        return lambda t: (low is None or t >= low) and (high is None or t <= high)
    for op, test in ((">=", "ge"), ("<=", "le"), (">", "gt"), ("<", "lt")):
        if expr.startswith(op):
            bound = _parse_time(expr[len(op) :], end=op in ("<=", ">"))
            if bound is None:
                return lambda t: False
            return lambda t: getattr(t, f"__{test}__")(bound)
    start, stop = _parse_time(expr), _parse_time(expr, end=True)
    if start is None or stop is None:
        return lambda t: False
    return lambda t: start <= t <= stop


def _run_filter(query: Mapping[str, str]) -> Callable[[_Run], bool]:
    created = _created_filter(query["created"]) if "created" in query else None

    def wanted(run: _Run) -> bool:
        checks = (
            query.get("event") in (None, "workflow_dispatch"),
            query.get("branch") in (None, run.ref),
            query.get("status") in (None, run.status, run.conclusion),
            query.get("head_sha") in (None, run.head_sha),
            created is None or created(_parse_time(run.created_at) or datetime.now(timezone.utc)),
        )
        return all(checks)

    return wanted


def _run_name(wf: _Workflow, inputs: Mapping[str, Any]) -> str:
    """What `run-name:` evaluates to; GitHub falls back to the workflow's name on failure."""
    if isinstance(wf.run_name, str):
        return wf.run_name
    try:
        if wf.run_name is not None:
            return wf.run_name(inputs)
        return "rollout:" + str(json.loads(inputs["metadata"])["rollout_id"])
    except (KeyError, TypeError, ValueError):
        return wf.name


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m tests.fakes.github --port 0 --state-file state.json`: serve until killed."""

    def add_arguments(parser: Any) -> None:
        parser.add_argument("--owner", default="octo-org")
        parser.add_argument("--repo", default="octo-repo")
        parser.add_argument("--token", default="ghs_fake_installation_token")
        parser.add_argument(
            "--token-kind", choices=("installation", "user"), default="installation"
        )
        parser.add_argument("--user-login", default="octo-bot")
        parser.add_argument("--api-prefix", default="")
        parser.add_argument("--spec", choices=sorted(_openapi.SPEC_FILES), default="api.github.com")

    def build(args: Any) -> FakeServer:
        return FakeGitHub(
            owner=args.owner,
            repo=args.repo,
            token=args.token,
            token_kind=args.token_kind,
            user_login=args.user_login,
            api_prefix=args.api_prefix,
            spec=args.spec,
            host=args.host,
            port=args.port,
        )

    return serve_main(argv, description=__doc__ or "", add_arguments=add_arguments, build=build)


if __name__ == "__main__":
    raise SystemExit(main())
