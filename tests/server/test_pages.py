"""The run page, the report page and the dashboard, as headless Chromium shows them."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from .conftest import FakeRollouts, Running

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Outside CI a missing browser skips with a reason; in CI (which installs it) it is a failure,
# so the browser tests can never be skipped silently there.
if CHROMIUM is None and os.environ.get("CI") == "true":
    raise RuntimeError("CI=true but headless Chromium is missing: .ci/run must install it")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="headless Chromium is not installed "
        "(Debian: apt-get install chromium); CI installs it",
    ),
]
HOSTILE = '<img src=x onerror="alert(1)"> & <script>alert(2)</script>'


def browse(url: str, *, profile: Path) -> str:
    """The DOM after Chromium loaded `url`."""
    assert CHROMIUM is not None
    action = ["--dump-dom"]
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *action,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def text_of(dom: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', dom, re.DOTALL)
    assert match, f"no #{element_id} on the page"
    return html.unescape(match.group(1)).strip()


@pytest.fixture
def finished(server: Running, rollouts: FakeRollouts) -> tuple[str, str]:
    """One completed run with hostile text in its answer, one still running."""
    done = server.start(prompt_id="team/smoke test", template_args={})
    rollout_id = rollouts.started()[-1]
    rollouts.finish(
        rollout_id,
        result={
            "outcome": "goal_not_met",
            "score": 42,
            "summary": HOSTILE,
            "messages": [{"role": "assistant", "content": HOSTILE}],
        },
    )
    server.until(done, lambda b: b["status"] == "completed")
    running = server.start(context={"repository": "o/r", "pullRequest": 5, "sha": "abcdef123"})
    rollouts.started(2)
    return done, running


def test_run_page_shows_status_score_and_the_report_link(
    server: Running, finished: tuple[str, str], tmp_path: Path
) -> None:
    done, running = finished
    dom = browse(f"{server.url}/runs/{done}", profile=tmp_path)
    assert "<title>Run: Smoke &lt;b&gt;test&lt;/b&gt; · evals-action server</title>" in dom
    assert text_of(dom, "status") == "completed"
    assert "<b>test</b>" not in dom
    report = server.run(done)["report"]
    assert f'href="/reports/{report["slug"]}"' in dom
    live = browse(f"{server.url}/runs/{running}", profile=tmp_path)
    assert text_of(live, "status") == "running"
    assert "This page refreshes every 3 seconds." in live
    assert "o/r#5 · abcdef1" in live


def test_report_page_shows_the_verdict_and_escapes_agent_text(
    server: Running, finished: tuple[str, str], tmp_path: Path
) -> None:
    done, _ = finished
    url = server.run(done)["report"]["url"]
    dom = browse(url, profile=tmp_path)
    assert text_of(dom, "outcome") == "goal_not_met"
    assert text_of(dom, "score").startswith("42")
    assert text_of(dom, "key-finding") == HOSTILE
    assert text_of(dom, "answer") == HOSTILE
    assert "<script>alert" not in dom
    assert "<img src" not in dom


def test_dashboard_charts_each_prompts_scores_in_inline_svg(
    server: Running, rollouts: FakeRollouts, finished: tuple[str, str], tmp_path: Path
) -> None:
    done = server.start(prompt_id="team/smoke test", template_args={})
    rollouts.finish(rollouts.started(3)[-1], result={"outcome": "succeeded", "score": 90})
    server.until(done, lambda b: b["status"] == "completed")
    dom = browse(f"{server.url}/", profile=tmp_path)
    smoke = dom[dom.index('id="prompt-team/smoke test"') :]
    smoke = smoke[: smoke.index("</svg>")]
    assert "2 scored runs" in html.unescape(smoke)
    assert smoke.count('<circle class="dot"') == 2
    assert "<polyline" in smoke
    signup = dom[dom.index('id="prompt-signup"') :]
    assert "no scored runs yet" in signup[: signup.index("</svg>")]
    assert "<script" not in dom.lower()
    assert dom.count("<tr>") == 1 + 3  # header + three recent runs


def test_unknown_run_and_report_pages_are_404(server: Running) -> None:
    for path in ("/runs/nope", "/reports/nope"):
        response = requests.get(server.url + path, timeout=5)
        assert response.status_code == 404
        assert "No such" in response.text


def test_a_suite_group_renders_on_the_run_page_and_the_dashboard(
    server: Running, rollouts: FakeRollouts, tmp_path: Path
) -> None:
    """Two attempts of one prompt in one step: one card, one row, both runs, the pass rate
    with its interval; a hostile suite id stays text."""
    from .test_suite_pages import finish_run

    suite = HOSTILE[:40]
    runs = []
    for attempt, score in ((1, 80), (2, 100)):
        run_id = server.start(
            prompt_id="team/smoke test",
            template_args={},
            context={"suite": suite, "attempt": attempt},
        )
        finish_run(
            server, rollouts, run_id, count=attempt, result={"outcome": "succeeded", "score": score}
        )
        runs.append(run_id)
    for url in (f"{server.url}/runs/{runs[1]}", f"{server.url}/"):
        dom = browse(url, profile=tmp_path)
        card = dom[dom.index('class="card suite"') :]
        card = card[: card.index("</table>")]
        assert card.count('class="suite-prompt"') == 1
        assert html.unescape(card).count("Smoke <b>test</b>") == 1
        assert re.search(r'class="pass-rate"[^>]*>100% \(2/2\)<', card)
        assert "95% CI 34%–100%" in card
        assert re.search(r'class="mean-score"[^>]*>90\.0<', card)
        assert all(f'href="/runs/{r}"' in card for r in runs)
        assert "<script>alert" not in dom
        assert "<img src" not in dom
