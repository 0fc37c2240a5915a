"""The evals REST API (contract §3): the managed 2027 service or `evals-action serve`.

Wire format only: building requests, reading responses into `models`. Timing lives in `polling`.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Mapping
from typing import Any

import requests

from evals_action import errors, http, models, polling, text

LOG = logging.getLogger(__name__)
DOCUMENTED_STATUSES = frozenset(
    {models.PENDING, models.RUNNING, models.COMPLETED, models.FAILED, models.SUPERSEDED}
)
BASELINE_PAGE_SIZE = 20
BASELINE_MAX_PAGES = 5


class EvalsApiBackend:
    """`base.Backend` over the evals REST API."""

    def __init__(
        self,
        *,
        session: requests.Session,
        base_url: str,
        api_key: str,
        timeout: tuple[float, float] = http.DEFAULT_TIMEOUT,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._auth = {"Authorization": f"Bearer {api_key}"}
        self._timeout = timeout
        self._long_poll_max = 0.0
        self._suites = False

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
        response = http.send(
            self._session,
            method="POST",
            url=url,
            what="start eval run",
            headers={**self._auth, "Idempotency-Key": request.idempotency_key},
            body=start_body(request),
            timeout=self._timeout,
        )
        self._suites = response.headers.get(models.SUITES_HEADER, "").strip() == "1"
        data = http.json_body(response, what="start eval run")
        if not isinstance(data, dict):
            raise errors.FatalAPIError("start response is not a JSON object")
        for key in ("runId", "runUrl"):
            if not text.nonempty(data.get(key)):
                raise errors.FatalAPIError(f"start response missing {key}")
        return models.StartedRun(
            run_id=str(data["runId"]),
            run_url=str(data["runUrl"]),
            status_url=text.nonempty(data.get("statusUrl")) or self.run_url(str(data["runId"])),
        )

    def describe(self, *, request: models.StartRequest) -> models.RequestPreview:
        return models.RequestPreview(
            method="POST",
            url=f"{self._base}/api/v1/prompts/{segment(request.prompt_id)}/run",
            headers={"Authorization": "Bearer ***", "Idempotency-Key": request.idempotency_key},
            body=start_body(request),
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
        response = http.send(
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
        data = http.json_body(response, what="read eval run")
        if not isinstance(data, dict):
            raise errors.ClientAPIError("read eval run: the body is not a JSON object")
        return parse_run(data, fallback_id=run_id)

    def cancel(self, *, run_id: str) -> None:
        """The evals API has no cancel call; the server times runs out itself."""

    def baseline(self, *, prompt_id: str, current_run_id: str) -> models.Report | None:
        try:
            return self._baseline(prompt_id=prompt_id, current_run_id=current_run_id)
        except errors.APIError as exc:
            LOG.warning("No baseline for metric deltas: %s", exc.message)
            return None

    def _baseline(self, *, prompt_id: str, current_run_id: str) -> models.Report | None:
        for page in range(BASELINE_MAX_PAGES):
            response = http.send(
                self._session,
                method="GET",
                url=f"{self._base}/api/v1/runs",
                what="read baseline runs",
                headers=self._auth,
                params={
                    "promptId": prompt_id,
                    "reportStatus": "published",
                    "limit": BASELINE_PAGE_SIZE,
                    "offset": page * BASELINE_PAGE_SIZE,
                },
                timeout=self._timeout,
            )
            runs = http.json_body(response, what="read baseline runs")
            if not isinstance(runs, list):
                raise errors.ClientAPIError("read baseline runs: the body is not a JSON array")
            for item in runs:
                found = _baseline_candidate(item, current_run_id=current_run_id)
                if found is not None:
                    return found
            if len(runs) < BASELINE_PAGE_SIZE:
                return None
        return None


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


def parse_run(data: Mapping[str, Any], *, fallback_id: str = "") -> models.Run:
    prompt = _object(data.get("prompt"))
    status = text.nonempty(data.get("status")) or models.PENDING
    if status not in DOCUMENTED_STATUSES:  # contract §3: any other value is "still running"
        status = models.RUNNING
    return models.Run(
        run_id=text.nonempty(data.get("runId")) or fallback_id,
        status=status,
        run_url=text.nonempty(data.get("runUrl")) or "",
        status_url=text.nonempty(data.get("statusUrl")) or "",
        failure_reason=text.nonempty(data.get("failureReason")),
        prompt_title=text.nonempty(prompt.get("title")),
        prompt_text=text.nonempty(prompt.get("text")),
        report=parse_report(data.get("report")),
    )


def parse_report(data: Any) -> models.Report | None:
    if not isinstance(data, dict):
        return None
    summary = _object(data.get("summary"))
    return models.Report(
        slug=text.nonempty(data.get("slug")),
        url=text.nonempty(data.get("url")),
        score=_number(data.get("score")),
        grade=text.nonempty(data.get("grade")),
        outcome=text.nonempty(data.get("outcome")),
        null_notice=text.nonempty(data.get("nullNotice")),
        key_finding=text.nonempty(data.get("keyFinding")),
        what_didnt=text.nonempty(summary.get("whatDidnt")),
        verdict=text.nonempty(data.get("verdict")),
        metrics=parse_metrics(data.get("metrics")),
        raw=dict(data),
    )


def parse_metrics(data: Any) -> models.Metrics | None:
    if not isinstance(data, dict):
        return None
    metrics = models.Metrics(
        time=text.nonempty(data.get("time")),
        time_seconds=_number(data.get("timeSeconds")),
        cost=text.nonempty(data.get("cost")),
        cost_usd=_number(data.get("costUsd")),
        errors=_int(data.get("errors")),
        interruptions=_int(data.get("interruptions")),
    )
    return metrics if metrics.present else None


def _baseline_candidate(item: Any, *, current_run_id: str) -> models.Report | None:
    if not isinstance(item, dict) or text.nonempty(item.get("runId")) == current_run_id:
        return None
    report = parse_report(item.get("report"))
    if report is None or report.outcome != "succeeded" or report.metrics is None:
        return None
    return report


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _int(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 0.0
    except ValueError:
        return 0.0
