"""The whole loop in real headless Chromium: evals server → agent service → scripted model →
demo preview site, graded by the server, with the trace on the run and report pages."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from evals_action import demo
from evals_action.agent import rollouts, scripted, service
from evals_action.server import rollout_clients, serving
from tests.server.conftest import Running, running_server

from .conftest import API_KEY, CHROMIUM, Hits, ModelStandIn, needs_chromium, settings

pytestmark = [pytest.mark.browser, needs_chromium]
Start = Callable[[scripted.Script], ModelStandIn]
DEADLINE = 120.0  # a hang detector, not a speed assertion
DEMO_STEPS = [
    "model",
    "browser_navigate",
    "model",
    "browser_type",
    "model",
    "browser_type",
    "model",
    "browser_click",
    "model",
    "browser_type",
    "model",
    "browser_click",
    "model",
    "http_request",
    "model",
]


@pytest.fixture
def agent_url() -> Iterator[str]:
    app = service.create_app(
        execute=lambda request: rollouts.execute(request=request, settings=settings())
    )
    with serving.Background(app=app) as served:
        yield served.url


def _server(tmp_path: Path, *, agent_url: str, model_url: str) -> Any:
    loaded = demo.demo_settings(
        agent_url=agent_url, options=demo.Options(model_api_key=API_KEY), model_url=model_url
    )
    return running_server(
        database=tmp_path / "evals.sqlite3",
        settings_=dataclasses.replace(loaded, poll_interval_seconds=0.05),
        client_factory=rollout_clients.backend_clients,
    )


def _screenshots_in_chromium(url: str) -> tuple[int, list[str]]:
    """How many of the page's images Chromium loaded, and its console's CSP complaints."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            blocked: list[str] = []
            page.on(
                "console",
                lambda message: (
                    blocked.append(message.text)
                    if "Content Security Policy" in message.text
                    else None
                ),
            )
            page.goto(url)
            images = page.locator("#trace img")
            for index in range(images.count()):  # loading="lazy": bring each into view
                images.nth(index).scroll_into_view_if_needed()
            page.wait_for_load_state("networkidle")
            loaded = page.eval_on_selector_all(
                "#trace img", "imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length"
            )
        finally:
            browser.close()
    return int(loaded), blocked


def _finished(server: Running, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE
    while True:
        body = server.run(run_id)
        if body["status"] not in ("pending", "running"):
            return body
        assert time.monotonic() < deadline, f"the run never finished: {body}"
        server.session().get(f"{server.url}/api/v1/runs/{run_id}", params={"wait": 5}, timeout=10)


def test_the_agent_signs_up_creates_a_project_and_the_server_grades_it_succeeded(
    tmp_path: Path, preview: str, model_factory: Start, agent_url: str
) -> None:
    model = model_factory(scripted.demo_script)
    with _server(tmp_path, agent_url=agent_url, model_url=model.url) as server:
        run_id = server.start(prompt_id="create-project", preview=preview)
        body = _finished(server, run_id)
        trace = server.db.get_trace(run_id=run_id)
        run_page = requests.get(f"{server.url}/runs/{run_id}", timeout=10).text
        report_page = requests.get(body["report"]["url"], timeout=10).text
        shot = requests.get(f"{server.url}/runs/{run_id}/files/step-12.jpg", timeout=10)
        no_trace_file = requests.get(f"{server.url}/runs/{run_id}/files/trace.json", timeout=10)
        projects = requests.get(f"{preview}/api/projects", timeout=10).json()
        shown, blocked = _screenshots_in_chromium(f"{server.url}/runs/{run_id}")

    report = body["report"]
    assert body["status"] == "completed", body
    assert report["keyFinding"] is None, report
    assert (report["outcome"], report["score"], report["verdict"]) == (
        "succeeded",
        100,
        "All 4 checks passed",
    )
    assert [d["name"] for d in report["dimensions"] if d["passed"]][-1] == (
        "the agent's last page shows the project"
    )
    assert projects == [{"id": 1, "name": "demo", "owner": scripted.DEMO_EMAIL}]
    assert "trace" not in report  # the API's report keeps its size; pages read the trace
    assert trace is not None
    assert [s["name"] for s in trace["steps"]] == DEMO_STEPS
    assert all(s["ok"] for s in trace["steps"])
    clicked = trace["steps"][11]
    assert clicked["args"] == {"selector": "role=button[name='Create project']"}
    assert "Created project demo" in clicked["page"]["text"]
    for step in trace["steps"]:
        assert f'id="step-{step["index"]}"' in run_page
        assert f'id="step-{step["index"]}"' in report_page
    assert f'<img src="/runs/{run_id}/files/step-12.jpg"' in run_page
    assert shot.status_code == 200
    assert shot.headers["content-type"] == "image/jpeg"
    assert shot.content.startswith(b"\xff\xd8\xff")
    assert no_trace_file.status_code == 404
    assert shown == len([s for s in trace["steps"] if s["screenshot"]]) > 0
    assert blocked == []  # the pages' Content-Security-Policy lets the screenshots load
    assert [m["model"] for m in model.model.seen] == ["scripted"] * 8
    assert API_KEY not in run_page + report_page + str(trace)


def test_a_refused_step_is_where_the_dnf_reason_links(
    tmp_path: Path,
    preview: str,
    outside: tuple[str, Hits],
    model_factory: Start,
    agent_url: str,
) -> None:
    elsewhere, hits = outside
    turns = [
        scripted.call("browser_navigate", url=preview),
        scripted.call("browser_navigate", url=f"{elsewhere}/signup"),
        scripted.answer("I could not sign up."),
    ]
    model = model_factory(lambda body: turns[scripted.turn_number(body)])
    with _server(tmp_path, agent_url=agent_url, model_url=model.url) as server:
        run_id = server.start(prompt_id="create-project", preview=preview)
        body = _finished(server, run_id)
        trace = server.db.get_trace(run_id=run_id)
        report_page = requests.get(body["report"]["url"], timeout=10).text

    report = body["report"]
    assert hits.paths == []  # neither the agent nor its browser reached the other origin
    assert report["outcome"] == "goal_not_met"
    assert report["keyFinding"] == (
        "the answer names the project: the final answer does not mention 'demo' "
        f"(trace: step 4, {report['url']}#step-4)"
    )
    assert report["summary"]["whatDidnt"] == report["keyFinding"]
    assert trace is not None
    refused = trace["steps"][3]
    assert (refused["name"], refused["refused"], refused["ok"]) == ("browser_navigate", True, False)
    assert refused["summary"].startswith(f"refused: {elsewhere}/signup is outside")
    assert '<li id="step-4" class="step step-error step-failed">' in report_page


def test_the_pages_own_requests_to_other_origins_are_aborted(
    outside: tuple[str, Hits], model_factory: Start
) -> None:
    """Not only the model's navigations: an image or a fetch the page makes is blocked too."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    elsewhere, hits = outside
    page = (
        f'<title>Leaky</title><img src="{elsewhere}/pixel.png">'
        f'<script>fetch("{elsewhere}/beacon").catch(() => {{}});'
        'document.title = "Leaky, loaded";</script><p>hello</p>'
    )

    async def home(request: Any) -> HTMLResponse:
        return HTMLResponse(page)

    with serving.Background(app=Starlette(routes=[Route("/", home)])) as site:
        turns = [scripted.call("browser_navigate", url=site.url), scripted.answer("seen")]
        model = model_factory(lambda body: turns[scripted.turn_number(body)])
        request = {
            "completion_params": {"model": "scripted"},
            "messages": [{"role": "user", "content": f"Look at {site.url}"}],
            "tools": None,
            "model_base_url": model.url,
            "metadata": {"rollout_id": "ro-leak", "url_map": {"app.example.com": site.url}},
            "api_key": None,
        }
        finished = rollouts.execute(request=request, settings=settings())
    navigate = finished.result["trace"]["steps"][1]
    assert navigate["ok"] is True
    assert navigate["summary"].startswith(f"URL: {site.url}/\nTitle: Leaky, loaded\n")
    assert hits.paths == []
