"""The evals REST API (contract §3): the managed 2027 service or `evals-action serve`.

Wire format only: building requests, reading responses into `models`. Timing lives in `polling`.
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any

import requests

from evals_action import errors, models, polling, stats, transport
from evals_action.backends import evals_api_baselines

LOG = logging.getLogger(__name__)

REPORTING_PATH = "/api/v1/reporting"  # evals-action serve: does it write reports?


class EvalsApiBackend:
    """`base.Backend` over the evals REST API."""

    def __init__(
        self,
        *,
        session: requests.Session,
        base_url: str,
        api_key: str,
        timeout: tuple[float, float] = transport.DEFAULT_TIMEOUT,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._auth = {"Authorization": f"Bearer {api_key}"}
        self._timeout = timeout
        self._long_poll_max = 0.0
        self._suites = False
        self._baselines = evals_api_baselines.Baselines(
            session=session, base_url=self._base, auth=self._auth, timeout=timeout
        )

    @property
    def start_policy(self) -> polling.RetryPolicy:
        return polling.START  # contract §4: the POST is retried up to 3 times

    @property
    def supports_suites(self) -> bool:
        """True once the server advertised that runs of one step never supersede each other."""
        return self._suites

    @property
    def supports_long_poll(self) -> bool:
        return self._long_poll_max > 0

    def start(self, *, request: models.StartRequest) -> models.StartedRun:
        url = f"{self._base}/api/v1/prompts/{segment(request.prompt_id)}/run"
        response = transport.send(
            self._session,
            method="POST",
            url=url,
            what="start eval run",
            headers={**self._auth, "Idempotency-Key": request.idempotency_key},
            body=start_body(request),
            timeout=self._timeout,
        )
        self._suites = response.headers.get(models.SUITES_HEADER, "").strip() == "1"
        data = transport.json_body(response, what="start eval run")
        if not isinstance(data, dict):
            raise errors.FatalAPIError("start response is not a JSON object")
        for key in ("runId", "runUrl"):
            if not models.nonempty(data.get(key)):
                raise errors.FatalAPIError(f"start response missing {key}")
        return models.StartedRun(
            run_id=str(data["runId"]),
            run_url=str(data["runUrl"]),
            status_url=models.nonempty(data.get("statusUrl")) or self.run_url(str(data["runId"])),
        )

    def describe(self, *, request: models.StartRequest) -> models.RequestPreview:
        return models.RequestPreview(
            method="POST",
            url=f"{self._base}/api/v1/prompts/{segment(request.prompt_id)}/run",
            headers={"Authorization": "Bearer ***", "Idempotency-Key": request.idempotency_key},
            body=start_body(request),
        )

    def server_reports(self, *, repository: str) -> str | None:
        """None when the evals server writes the final report for `repository` itself
        (`GET /api/v1/reporting`); else why not (the managed API has no such route)."""
        try:
            response = transport.send(
                self._session,
                method="GET",
                url=f"{self._base}{REPORTING_PATH}",
                what="ask the evals server whether it reports",
                headers=self._auth,
                params={"repository": repository},
                timeout=self._timeout,
                fatal_statuses=frozenset({401, 403}),
            )
        except errors.ClientAPIError as exc:
            if exc.status in (404, 405):
                return f"{self._base} does not write reports itself (no {REPORTING_PATH})"
            raise
        body = transport.json_body(response, what="ask the evals server whether it reports")
        if isinstance(body, dict) and body.get("reports") is True:
            return None
        reason = body.get("reason") if isinstance(body, dict) else None
        return str(reason or "the server says it does not report for this repository")

    def hand_over(self, *, run_id: str, comment_id: int | None) -> None:
        """`wait: false`: the pending status and comment are written; the server reports now
        (`POST /api/v1/runs/{id}/hand-over`, see `hand_over`)."""
        transport.send(
            self._session,
            method="POST",
            url=f"{self.run_url(run_id)}/hand-over",
            what="hand the run over to the evals server",
            headers=self._auth,
            body={"commentId": comment_id},
            timeout=self._timeout,
            fatal_statuses=frozenset({400, 401, 403, 404, 409}),
        )

    def run_url(self, run_id: str) -> str:
        return f"{self._base}/api/v1/runs/{segment(run_id)}"

    def fetch(self, *, run_id: str, wait_seconds: float = 0) -> models.Run:
        params: dict[str, Any] | None = None
        timeout = self._timeout
        if wait_seconds > 0 and self.supports_long_poll:
            wait = max(1, int(min(wait_seconds, self._long_poll_max)))
            if wait_seconds >= 1:
                params = {"wait": wait}
                timeout = (timeout[0], timeout[1] + wait)
        response = transport.send(
            self._session,
            method="GET",
            url=self.run_url(run_id),
            what="read eval run",
            headers=self._auth,
            params=params,
            timeout=timeout,
        )
        self._long_poll_max = _seconds(response.headers.get(models.LONG_POLL_HEADER))
        self._suites = response.headers.get(models.SUITES_HEADER, "").strip() == "1"
        data = transport.json_body(response, what="read eval run")
        if not isinstance(data, dict):
            raise errors.ClientAPIError("read eval run: the body is not a JSON object")
        return models.Run.from_wire(data, fallback_id=run_id)

    def cancel(self, *, run_id: str) -> None:
        """The evals API has no cancel call; the server times runs out itself."""

    def baseline(self, *, prompt_id: str, current_run_id: str) -> models.Report | None:
        return self._baselines.latest(prompt_id=prompt_id, current_run_id=current_run_id)

    def baseline_sample(
        self, *, prompt_id: str, exclude: frozenset[str], limit: int, default_branch: bool
    ) -> list[stats.Observation] | None:
        """Up to `limit` prior published runs of the prompt (`baselines.Baselines.sample`)."""
        return self._baselines.sample(
            prompt_id=prompt_id, exclude=exclude, limit=limit, default_branch=default_branch
        )


def segment(value: str) -> str:
    """One URL path segment: `/` → `%2F`, space → `%20`."""
    return urllib.parse.quote(value, safe="")


def start_body(request: models.StartRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"urlMap": dict(request.url_map)}
    if request.template_args:
        body["templateArgs"] = dict(request.template_args)
    if request.context:
        body["context"] = dict(request.context)
    return body


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 0.0
    except ValueError:
        return 0.0
