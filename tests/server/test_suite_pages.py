"""Suites on the pages: the run page and the dashboard group a step's runs by prompt, with
pass rates and mean scores and their 95% intervals (suites-contract §6)."""

from __future__ import annotations

import html
import re
from typing import Any

import requests

from evals_action.server import suite_pages

from .conftest import FakeRollouts, Running

SMOKE = "team/smoke test"
PR = {"repository": "o/r", "pullRequest": 4, "sha": "abcdef1234"}


def finish_run(
    server: Running, rollouts: FakeRollouts, run_id: str, *, count: int, **end: Any
) -> None:
    """End the rollout of `run_id` (the runner may send `/init`s in any order)."""
    rollouts.started(count)
    (rollout_id,) = [
        rid for rid, req in rollouts.requests.items() if req["metadata"]["run_id"] == run_id
    ]
    rollouts.finish(rollout_id, **end)
    server.until(run_id, lambda b: b["status"] not in ("pending", "running"))


def start_suite(server: Running, rollouts: FakeRollouts, suite: str) -> dict[str, list[str]]:
    """Smoke: 3 completed runs (90 and 94 succeeded, 86 did not); signup: one failed run, one
    completed graded 50 (its preview check cannot pass), one still running."""
    runs: dict[str, list[str]] = {SMOKE: [], "signup": []}
    count = 0
    for attempt, (outcome, score) in enumerate(
        [("succeeded", 90), ("succeeded", 94), ("goal_not_met", 86)], start=1
    ):
        run_id = server.start(
            prompt_id=SMOKE, template_args={}, context={**PR, "suite": suite, "attempt": attempt}
        )
        count += 1
        finish_run(
            server, rollouts, run_id, count=count, result={"outcome": outcome, "score": score}
        )
        runs[SMOKE].append(run_id)
    failed = server.start(context={**PR, "suite": suite, "attempt": 1})
    count += 1
    finish_run(server, rollouts, failed, count=count, status="failed", message="agent crashed")
    graded = server.start(context={**PR, "suite": suite, "attempt": 2})
    count += 1
    finish_run(
        server,
        rollouts,
        graded,
        count=count,
        result={"messages": [{"role": "assistant", "content": "made demo"}]},
    )
    live = server.start(context={**PR, "suite": suite, "attempt": 3})
    rollouts.started(count + 1)
    runs["signup"] = [failed, graded, live]
    return runs


def rows_of(page: str, suite: str) -> dict[str, str]:
    """Each prompt's row in the suite's card, as text."""
    start = page.index(f'id="suite-{html.escape(suite)}"')
    card = page[start : page.index("</table>", start)]
    rows = re.findall(r'<tr class="suite-prompt" data-prompt="([^"]*)">(.*?)</tr>', card, re.S)
    return {
        html.unescape(prompt): " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
        for prompt, row in rows
    }


def test_the_run_page_groups_its_suites_runs_by_prompt_with_intervals(
    server: Running, rollouts: FakeRollouts
) -> None:
    runs = start_suite(server, rollouts, "step-1")
    page = requests.get(f"{server.url}/runs/{runs[SMOKE][0]}", timeout=5).text
    rows = rows_of(page, "step-1")
    # Wilson 95% for 2 of 3 is 20.8%-93.9%; the t interval of 90, 94, 86 is 90 ± 4.303·4/√3.
    assert "67% (2/3) 95% CI 21%–94%" in rows[SMOKE]
    assert "90.0 95% CI 80.1–99.9" in rows[SMOKE]
    assert "#1 ✔ 90 #2 ✔ 94 #3 ✘ 86" in rows[SMOKE]
    # The failed run is not in the sample; Wilson for 0 of 1 is 0%-79.3%.
    assert "0% (0/1) 95% CI 0%–79%" in rows["signup"]
    assert "50.0 one score: no interval" in rows["signup"]
    assert "#1 failed #2 ✘ 50 #3 running" in rows["signup"]
    assert "o/r#4 · abcdef1" in page
    assert "runs in flight" in page
    badges = re.findall(r'class="badge s-([a-z_]+)( current)?" href="/runs/([^"]+)"', page)
    assert [kind for kind, _, _ in badges] == [
        *("succeeded", "succeeded", "goal_not_met"),
        *("failed", "goal_not_met", "running"),
    ]
    current = re.search(r'class="badge s-succeeded current" href="/runs/([^"]+)"', page)
    assert current is not None
    assert current.group(1) == runs[SMOKE][0]


def test_a_run_without_a_suite_has_no_suite_card(server: Running, rollouts: FakeRollouts) -> None:
    run_id = server.start(context=PR)
    page = requests.get(f"{server.url}/runs/{run_id}", timeout=5).text
    assert 'class="card suite"' not in page


def test_the_dashboard_shows_recent_suites_newest_first(
    server: Running, rollouts: FakeRollouts
) -> None:
    start_suite(server, rollouts, "older-step")
    newer = server.start(prompt_id=SMOKE, template_args={}, context={**PR, "suite": "newer"})
    finish_run(server, rollouts, newer, count=7, result={"outcome": "succeeded", "score": 100})
    page = requests.get(f"{server.url}/", timeout=5).text
    assert page.index('id="suite-newer"') < page.index('id="suite-older-step"')
    assert "100% (1/1) 95% CI 21%–100%" in rows_of(page, "newer")[SMOKE]
    assert "67% (2/3)" in rows_of(page, "older-step")[SMOKE]


def test_the_dashboard_shows_at_most_the_five_newest_suites(server: Running) -> None:
    for number in range(suite_pages.RECENT_SUITES + 2):
        server.start(context={"suite": f"s{number}"})
    page = requests.get(f"{server.url}/", timeout=5).text
    shown = re.findall(r'id="suite-(s\d)"', page)
    assert shown == [f"s{n}" for n in range(6, 1, -1)]
