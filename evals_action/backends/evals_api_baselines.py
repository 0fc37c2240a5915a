"""The evals API's baseline listings (action-contract §3.3, suites-contract §3): published runs
of a prompt, newest first, 20 a page and at most 5 pages.

`Baselines.latest` is the one-run comment's baseline (the newest succeeded report with metrics);
`Baselines.sample` is a suite's baseline sample (up to `baseline-runs` completed runs, this step's
own left out, only default-branch runs when our server offers that). A failed listing is a
warning and no baseline, never a failed eval.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import requests

from evals_action import errors, models, stats, transport

LOG = logging.getLogger("evals_action.backends.evals_api")

BASELINE_PAGE_SIZE = 20
BASELINE_MAX_PAGES = 5


class Baselines:
    """The listings of one evals API, with its key."""

    def __init__(
        self,
        *,
        session: requests.Session,
        base_url: str,
        auth: dict[str, str],
        timeout: tuple[float, float],
    ) -> None:
        self._session = session
        self._base = base_url
        self._auth = auth
        self._timeout = timeout

    def latest(self, *, prompt_id: str, current_run_id: str) -> models.Report | None:
        """The newest published succeeded report with metrics (action-contract §3.3), for the
        one-run comment's deltas; None when there is none or the listing failed."""
        try:
            return self._latest(prompt_id=prompt_id, current_run_id=current_run_id)
        except errors.APIError as exc:
            LOG.warning("No baseline for metric deltas: %s", exc.message)
            return None

    def _latest(self, *, prompt_id: str, current_run_id: str) -> models.Report | None:
        params = {"promptId": prompt_id, "reportStatus": "published"}
        for page in range(BASELINE_MAX_PAGES):
            runs = self._list_runs(params=params, page=page)
            for item in runs:
                found = baseline_candidate(item, current_run_id=current_run_id)
                if found is not None:
                    return found
            if len(runs) < BASELINE_PAGE_SIZE:
                return None
        return None

    def sample(
        self, *, prompt_id: str, exclude: frozenset[str], limit: int, default_branch: bool
    ) -> list[stats.Observation] | None:
        """Up to `limit` prior published runs of the prompt, newest first, as observations
        (suites-contract §3): §3.3 paging, at most 5 pages, `exclude` (this step's runs) left
        out; `default_branch` asks our server for runs without a pull request only. None when
        the listing failed (the verdict is then `no-baseline`)."""
        params: dict[str, Any] = {"promptId": prompt_id, "reportStatus": "published"}
        if default_branch:
            params["branch"] = "default"
        try:
            return sample_of(
                lambda page: self._list_runs(params=params, page=page), exclude=exclude, limit=limit
            )
        except errors.APIError as exc:
            LOG.warning("No baseline for %s: %s", prompt_id, exc.message)
            return None

    def _list_runs(self, *, params: dict[str, Any], page: int) -> list[Any]:
        response = transport.send(
            self._session,
            method="GET",
            url=f"{self._base}/api/v1/runs",
            what="read baseline runs",
            headers=self._auth,
            params={**params, "limit": BASELINE_PAGE_SIZE, "offset": page * BASELINE_PAGE_SIZE},
            timeout=self._timeout,
        )
        runs = transport.json_body(response, what="read baseline runs")
        if not isinstance(runs, list):
            raise errors.ClientAPIError("read baseline runs: the body is not a JSON array")
        return runs


def sample_of(
    pages: Callable[[int], list[Any]], *, exclude: frozenset[str], limit: int
) -> list[stats.Observation]:
    """Up to `limit` observations from the listing's pages (`pages(n)`: page n of published
    runs in the wire form, newest first), `exclude` left out, at most 5 pages (§3.3); the
    evals server reads its own store through it for a suite it reports."""
    found: list[stats.Observation] = []
    for page in range(BASELINE_MAX_PAGES):
        runs = pages(page)
        found += _observations(runs, exclude=exclude)[: limit - len(found)]
        if len(found) >= limit or len(runs) < BASELINE_PAGE_SIZE:
            break
    return found


def _observations(runs: list[Any], *, exclude: frozenset[str]) -> list[stats.Observation]:
    """The completed runs with a report among `runs`, as the verdict's baseline counts them."""
    found = []
    for item in runs:
        if not isinstance(item, dict) or models.nonempty(item.get("runId")) in exclude:
            continue
        report = models.Report.from_wire(item.get("report"))
        if item.get("status") != models.COMPLETED or report is None:
            continue
        metrics = report.metrics
        found.append(
            stats.Observation(
                status=stats.COMPLETED,
                succeeded=report.outcome == "succeeded",
                score=report.score,
                cost_usd=metrics.cost_usd if metrics else None,
            )
        )
    return found


def baseline_candidate(item: Any, *, current_run_id: str) -> models.Report | None:
    if not isinstance(item, dict) or models.nonempty(item.get("runId")) == current_run_id:
        return None
    report = models.Report.from_wire(item.get("report"))
    if report is None or report.outcome != "succeeded" or report.metrics is None:
        return None
    return report
