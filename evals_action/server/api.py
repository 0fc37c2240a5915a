"""The evals REST API's handlers (action-contract.md §3): prompts, start a run, read and list runs.

    GET  /api/v1/prompts                   the configured prompts
    GET  /api/v1/prompts/{id}              one prompt
    POST /api/v1/prompts/{id}/run          start a run → 201 {runId, statusUrl, runUrl}
    GET  /api/v1/runs/{id}[?wait=N]        a run; long polls up to N s (X-Evals-Long-Poll)
    GET  /api/v1/runs?promptId=&reportStatus=&branch=default&limit=&offset=   newest first

plus the open `GET /api/openapi` (the schema, no data) and `GET /healthz`. Each handler is
`async (request, server)`; `app.py` decides which need a key. Database calls run on a worker
thread, so the event loop only parses and waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from evals_action import models
from evals_action.eval_protocol import prompts as ep_prompts
from evals_action.server import (
    egress,
    guards,
    openapi,
    pages,
    prompts,
    report_request,
    routing,
    schema,
    webhooks,
)

log = logging.getLogger("evals_action.server")

MAX_LIST_LIMIT = 100
MAX_SQL_INTEGER = openapi.MAX_SQL_INTEGER  # offsets and PR numbers stay within SQLite's range
MAX_SUITE_ID = openapi.MAX_SUITE_ID
DEFAULT_BRANCH = "default"  # `GET /api/v1/runs?branch=default`: runs without a pull request

error = guards.error


async def list_prompts(request: Request, server: routing.Server) -> Response:
    return guards.JSON([prompt_json(p) for p in server.settings.prompts.values()])


async def get_prompt(request: Request, server: routing.Server) -> Response:
    prompt = server.settings.prompts.get(request.path_params["prompt_id"])
    if prompt is None:
        return error(f"Prompt not found: {request.path_params['prompt_id']}", status=404)
    return guards.JSON(prompt_json(prompt))


async def start_run(request: Request, server: routing.Server) -> Response:
    prompt_id = request.path_params["prompt_id"]
    prompt = server.settings.prompts.get(prompt_id)
    if prompt is None:
        return error(f"Prompt not found: {prompt_id}", status=404)
    body = await guards.read_json(request)
    problem, parsed = parse_start(body=body, prompt=prompt)
    if not problem:  # a DNS lookup: off the event loop
        problem = await asyncio.to_thread(
            previews_problem, url_map=parsed["urlMap"], policy=server.settings.fetch
        )
    if problem:
        return error(problem, status=400)
    bound = getattr(request.state, "oidc_repository", None)
    repository = parsed["context"].get("repository")
    if bound is not None and repository is not None and repository != bound:
        return error(
            "context.repository must be the repository the OIDC token was issued to",
            status=403,
        )
    run, created = await run_in_threadpool(
        create_run,
        server=server,
        prompt=prompt,
        parsed=parsed,
        idempotency_key=request.headers.get("idempotency-key") or None,
    )
    links = run_links(run_id=run.run_id, public_url=server.public_url)
    return guards.JSON({"runId": run.run_id, **links}, status_code=201 if created else 200)


def create_run(
    *,
    server: routing.Server,
    prompt: prompts.Prompt,
    parsed: Mapping[str, Any],
    idempotency_key: str | None,
) -> tuple[schema.RunRow, bool]:
    """Store a run of `prompt` as `parse_start` parsed it and hand it to the worker (for the
    API and the webhooks alike); (run, created)."""
    context = parsed["context"]
    new = schema.NewRun(
        run_id=str(uuid.uuid4()),
        prompt_id=prompt.id,
        request={
            "urlMap": parsed["urlMap"],
            "templateArgs": parsed["templateArgs"],
            **({"report": parsed["report"]} if parsed.get("report") else {}),
            **{k: parsed[k] for k in (webhooks.TEMPLATE_SECRETS,) if parsed.get(k)},
        },
        idempotency_key=idempotency_key,
        repository=context.get("repository"),
        pull_request=context.get("pullRequest"),
        sha=context.get("sha"),
        suite=context.get("suite"),
        attempt=context.get("attempt"),
        prompt_title=prompt.title,
        prompt_text=ep_prompts.prompt_text(
            ep_prompts.target_messages(
                messages=prompt.messages,
                template_args=parsed["templateArgs"],
                url_map=parsed["urlMap"],
            )
        )
        or "",
    )
    run, created, superseded = server.db.create_run(new=new)
    if created:
        server.runner.submit(run=run)
        log.info(
            "run %s: created for prompt %s%s",
            run.run_id,
            prompt.id,
            f", superseding {', '.join(superseded)}" if superseded else "",
        )
    return run, created


def parse_start(*, body: Any, prompt: prompts.Prompt) -> tuple[str | None, dict[str, Any]]:
    """Check a start request's body; `(problem, parsed)`, problem None when it is good."""
    if not isinstance(body, Mapping):
        return "Request body must be a JSON object", {}
    url_map = body.get("urlMap") or {}
    if not isinstance(url_map, Mapping) or not all(
        isinstance(v, str) and v.startswith(("http://", "https://")) for v in url_map.values()
    ):
        return "urlMap must be an object of hostname → http(s) URL", {}
    args = body.get("templateArgs") or {}
    if not isinstance(args, Mapping):
        return "templateArgs must be an object", {}
    missing = [name for name in prompt.template_vars if name not in args]
    if missing:
        return f"Missing template vars: {', '.join(missing)}", {}
    context = body.get("context") or {}
    if not isinstance(context, Mapping):
        context = {}
    problem, clean_context = _parse_context(context)
    report = report_request.parse(context)
    problem = problem or report_request.problem(report)
    if problem:
        return problem, {}
    return None, {
        "urlMap": dict(url_map),
        "templateArgs": {k: str(v) for k, v in args.items()},
        "context": clean_context,
        "report": report,
    }


def _parse_context(context: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The run's `context`: repository, pull request, sha, and the suite's step and attempt."""
    pull_request: Any = context.get("pullRequest")
    if _is_int(pull_request) and not 1 <= pull_request <= MAX_SQL_INTEGER:
        return f"context.pullRequest must be a pull request number, 1-{MAX_SQL_INTEGER}", {}
    suite, attempt = context.get("suite"), context.get("attempt")
    if suite is not None and not (isinstance(suite, str) and 1 <= len(suite) <= MAX_SUITE_ID):
        return (
            f"context.suite must be a string of 1-{MAX_SUITE_ID} characters "
            "(one id per step invocation), or left out",
            {},
        )
    if attempt is not None and not (_is_int(attempt) and 1 <= attempt <= MAX_SQL_INTEGER):
        return (
            f"context.attempt must be a whole number, 1-{MAX_SQL_INTEGER} "
            "(the run's 1-based attempt for its prompt), or left out",
            {},
        )
    return None, {
        "repository": _string(context.get("repository")),
        "pullRequest": pull_request if _is_int(pull_request) else None,
        "sha": _string(context.get("sha")),
        "suite": suite,
        "attempt": attempt,
    }


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def previews_problem(*, url_map: Mapping[str, str], policy: egress.Policy) -> str | None:
    """Why one of the url map's previews may not be used (`[fetch]`), else None."""
    for host, url in url_map.items():
        problem = egress.preview_problem(host=host, url=url, policy=policy)
        if problem:
            return problem
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


async def get_run(request: Request, server: routing.Server) -> Response:
    run_id = request.path_params["run_id"]
    wait = _wait_seconds(
        request.query_params.get("wait"), limit=server.settings.long_poll_max_seconds
    )
    run = await run_in_threadpool(server.db.get_run, run_id=run_id)
    if run is None:
        return error(f"Run not found: {run_id}", status=404)
    if wait > 0 and run.in_flight:
        run = await _wait_for_change(server=server, run=run, seconds=wait)
    headers = {models.LONG_POLL_HEADER: f"{server.settings.long_poll_max_seconds:g}"}
    return guards.JSON(run_json(run=run, public_url=server.public_url), headers=headers)


async def _wait_for_change(
    *, server: routing.Server, run: schema.RunRow, seconds: float
) -> schema.RunRow:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    with server.changes.watch(run_id=run.run_id) as changed:
        while True:
            # re-read after subscribing
            current = await run_in_threadpool(server.db.get_run, run_id=run.run_id)
            if current is None or current.status != run.status:
                return current or run
            remaining = deadline - loop.time()
            if remaining <= 0:
                return current
            changed.clear()
            with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=remaining)


def _wait_seconds(value: str | None, *, limit: float) -> float:
    try:
        seconds = float(value) if value else 0.0
    except ValueError:
        return 0.0
    return min(max(seconds, 0.0), limit) if math.isfinite(seconds) else 0.0


async def list_runs(request: Request, server: routing.Server) -> Response:
    query = request.query_params
    try:
        limit = int(query.get("limit", "20"))
        offset = int(query.get("offset", "0"))
    except ValueError:
        return error("limit and offset must be integers", status=400)
    if not 1 <= limit <= MAX_LIST_LIMIT or not 0 <= offset <= MAX_SQL_INTEGER:
        return error(f"limit must be 1-{MAX_LIST_LIMIT} and offset 0-{MAX_SQL_INTEGER}", status=400)
    branch = query.get("branch") or None
    if branch not in (None, DEFAULT_BRANCH):
        return error(
            f"branch must be '{DEFAULT_BRANCH}' (only runs without a pull request, e.g. from "
            "pushes to the default branch) or left out",
            status=400,
        )
    runs = await run_in_threadpool(
        server.db.list_runs,
        prompt_id=query.get("promptId") or None,
        report_status=query.get("reportStatus") or None,
        default_branch=branch == DEFAULT_BRANCH,
        limit=limit,
        offset=offset,
    )
    return guards.JSON([run_json(run=r, public_url=server.public_url) for r in runs])


async def openapi_document(request: Request, server: routing.Server) -> Response:
    return guards.JSON(openapi.document(server_url=server.public_url))


async def health(request: Request, server: routing.Server) -> Response:
    return guards.JSON({"ok": True})


def run_links(*, run_id: str, public_url: str) -> dict[str, str]:
    return {
        "statusUrl": f"{public_url}/api/v1/runs/{run_id}",
        "runUrl": f"{public_url}/runs/{run_id}",
    }


def run_json(*, run: schema.RunRow, public_url: str) -> dict[str, Any]:
    """A run in the evals API's wire format (`models.Run.to_wire`, plus the server's fields)."""
    links = run_links(run_id=run.run_id, public_url=public_url)
    wire = models.Run(
        run_id=run.run_id,
        status=run.status,
        run_url=links["runUrl"],
        status_url=links["statusUrl"],
        failure_reason=run.failure_reason,
        prompt_title=run.prompt_title,
        prompt_text=run.prompt_text,
        report=models.Report.from_wire(run.report),
    ).to_wire()
    context: dict[str, Any] | None = None
    if run.repository or run.pull_request is not None or run.sha:
        context = {"repository": run.repository, "pullRequest": run.pull_request, "sha": run.sha}
    if run.suite is not None or run.attempt is not None:
        context = {**(context or {}), "suite": run.suite, "attempt": run.attempt}
    return {
        "runId": run.run_id,
        "promptId": run.prompt_id,
        **wire,
        "prompt": {"id": run.prompt_id, **wire["prompt"]},
        "reportStatus": run.report_status,
        "supersededBy": run.superseded_by,
        "context": context,
        "createdAt": pages.iso(run.created_at),
        "updatedAt": pages.iso(run.updated_at),
    }


def prompt_json(prompt: prompts.Prompt) -> dict[str, Any]:
    return {
        "id": prompt.id,
        "title": prompt.title,
        "text": prompt.text,
        "templateVars": list(prompt.template_vars),
        "rolloutTarget": prompt.rollout.target,
        "checks": [{"name": c.name, "type": c.type, "required": c.required} for c in prompt.checks],
    }
