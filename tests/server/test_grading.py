"""Grading: deterministic checks, the LLM judge (a loopback fake), score, grade, metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evals_action.server import config, egress, grading, serving

from .conftest import Stack


def _prompt(*checks: dict[str, Any], judge: dict[str, Any] | None = None) -> config.ServerConfig:
    raw: dict[str, Any] = {
        "fetch": {"allow_private_networks": True},  # the previews are on loopback
        "prompts": [
            {
                "id": "p",
                "text": "Create {{project_name}} on https://app.example.com",
                "template_vars": ["project_name"],
                "rollout": {"target": "remote", "url": "http://127.0.0.1:9"},
                "checks": list(checks),
            }
        ],
    }
    if judge:
        raw["judge"] = judge
    return config.parse(raw=raw, environ={"JUDGE_KEY": "sk-judge"})


def _grade(
    settings: config.ServerConfig,
    *,
    answer: str = "",
    result: dict[str, Any] | None = None,
    preview: str = "http://127.0.0.1:9",
) -> dict[str, Any]:
    finished = grading.Finished(
        result={"messages": [{"role": "assistant", "content": answer}], **(result or {})},
        message=None,
        started_at=100.0,
        finished_at=234.4,
    )
    url_map = {"app.example.com": preview}
    guard = egress.guard(
        policy=settings.fetch,
        named_urls=[c.url for c in settings.prompts["p"].checks],
        url_map=url_map,
    )
    with requests.Session() as session:
        context = grading.Context(
            template_args={"project_name": "demo"},
            url_map=url_map,
            prompt_text="Create demo",
            session=session,
            judge=settings.judge,
            guard=guard,
        )
        return grading.report(
            prompt=settings.prompts["p"],
            finished=finished,
            context=context,
            slug="s",
            url="http://x/reports/s",
        )


def test_contains_and_regex_read_the_final_answer() -> None:
    settings = _prompt(
        {"type": "contains", "value": "{{project_name}}"},
        {"type": "regex", "pattern": r"project\s+#\d+"},
    )
    assert _grade(settings, answer="Created DEMO as Project #4")["outcome"] == "succeeded"
    report = _grade(settings, answer="Created demo")
    assert (report["score"], report["grade"], report["outcome"]) == (50, "F", "goal_not_met")
    assert report["keyFinding"] == (
        r"answer matches /project\s+#\d+/: the final answer does not match /project\s+#\d+/"
    )
    assert report["verdict"] == "1 of 2 checks passed"


def test_json_equals_reads_a_path_in_the_rollout_result() -> None:
    settings = _prompt({"type": "json_equals", "path": "metrics.errors", "expected": 0})
    assert _grade(settings, result={"metrics": {"errors": 0}})["score"] == 100
    failed = _grade(settings, result={"metrics": {"errors": 2}})
    assert failed["keyFinding"] == "result metrics.errors == 0: metrics.errors is 2, expected 0"
    missing = _grade(settings, result={})
    assert missing["keyFinding"].endswith("the rollout result has no metrics.errors")


def test_optional_checks_lower_the_score_but_not_the_outcome() -> None:
    settings = _prompt(
        {"type": "contains", "value": "demo"},
        {"type": "contains", "value": "fast", "required": False, "weight": 3},
    )
    report = _grade(settings, answer="demo")
    assert (report["score"], report["outcome"]) == (25, "succeeded")
    assert (
        report["keyFinding"] == "answer contains 'fast': the final answer does not mention 'fast'"
    )


def test_http_check_runs_against_the_preview(example_stack: Stack) -> None:
    """`http://app.example.com/api/projects` is rewritten to the preview through the url map."""
    requests.post(
        f"{example_stack.preview}/api/signup",
        json={"email": "g@example.com", "password": "pw"},
        timeout=5,
    )
    settings = _prompt(
        {
            "type": "http",
            "url": "http://app.example.com/api/projects",
            "json_contains": {"name": "graded-{{project_name}}"},
            "name": "lists graded-demo",
        },
        {"type": "http", "url": "http://app.example.com/", "body_contains": "Acme Projects"},
        {"type": "http", "url": "http://app.example.com/nope", "required": False},
    )
    before = _grade(settings, preview=example_stack.preview)
    assert before["keyFinding"] == 'lists graded-demo: no item has {"name": "graded-demo"}'
    token = requests.post(
        f"{example_stack.preview}/api/signup",
        json={"email": "g2@example.com", "password": "pw"},
        timeout=5,
    ).json()["token"]
    requests.post(
        f"{example_stack.preview}/api/projects",
        json={"name": "graded-demo"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    after = _grade(settings, preview=example_stack.preview)
    assert [d["passed"] for d in after["dimensions"]] == [True, True, False]
    assert after["dimensions"][2]["detail"] == "answered 404, expected 200"
    assert after["outcome"] == "succeeded"
    unreachable = _grade(settings, preview="http://127.0.0.1:9")
    assert unreachable["dimensions"][0]["detail"] == "request failed: ConnectionError"


class FakeJudge:
    """An OpenAI-compatible `/chat/completions` that answers what the test sets."""

    def __init__(self) -> None:
        self.reply = '{"pass": true, "reason": "looks right"}'
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str | None] = []

    def app(self) -> Starlette:
        async def complete(request: Request) -> Response:
            self.requests.append(await request.json())
            self.auth.append(request.headers.get("authorization"))
            return JSONResponse(
                {"choices": [{"message": {"role": "assistant", "content": self.reply}}]}
            )

        return Starlette(routes=[Route("/v1/chat/completions", complete, methods=["POST"])])


@pytest.fixture(scope="module")
def judge() -> Iterator[tuple[FakeJudge, str]]:
    fake = FakeJudge()
    with serving.Background(app=fake.app()) as served:
        yield fake, f"{served.url}/v1"


def test_llm_judge_passes_and_fails_on_the_judges_verdict(judge: tuple[FakeJudge, str]) -> None:
    fake, base_url = judge
    settings = _prompt(
        {"type": "llm_judge", "criteria": "The answer names {{project_name}}."},
        judge={"base_url": base_url, "model": "judge-1", "api_key_env": "JUDGE_KEY"},
    )
    fake.reply = 'Sure: {"pass": true, "reason": "it names demo"}'
    assert _grade(settings, answer="made demo")["dimensions"][0]["detail"] == "it names demo"
    sent = fake.requests[-1]
    assert sent["model"] == "judge-1"
    assert "The answer names demo." in sent["messages"][1]["content"]
    assert "made demo" in sent["messages"][1]["content"]
    assert fake.auth[-1] == "Bearer sk-judge"
    fake.reply = json.dumps({"pass": False, "reason": "no project named"})
    assert _grade(settings)["keyFinding"] == ("judge: The answer names demo.: no project named")
    fake.reply = "I think it passed"
    assert _grade(settings)["dimensions"][0]["detail"] == (
        "the judge's reply was not the JSON verdict asked for"
    )


def test_no_checks_takes_score_and_outcome_from_the_result() -> None:
    settings = _prompt()
    report = _grade(
        settings, result={"outcome": "goal_not_met", "score": 64.6, "summary": "stuck on login"}
    )
    assert (report["score"], report["grade"], report["outcome"]) == (65, "D", "goal_not_met")
    assert report["keyFinding"] == "stuck on login"
    assert _grade(settings)["outcome"] == "succeeded"


def test_metrics_use_the_results_numbers_else_wall_time() -> None:
    settings = _prompt()
    assert _grade(settings)["metrics"] == {
        "time": "2m14s",
        "timeSeconds": 134.4,
        "cost": None,
        "costUsd": None,
        "errors": 0,
        "interruptions": 0,
    }
    reported = _grade(
        settings,
        result={"metrics": {"timeSeconds": 61, "costUsd": 0.126, "errors": 2, "interruptions": 1}},
    )
    assert reported["metrics"] == {
        "time": "1m01s",
        "timeSeconds": 61,
        "cost": "$0.13",
        "costUsd": 0.126,
        "errors": 2,
        "interruptions": 1,
    }


@pytest.mark.parametrize(
    ("score", "letter"),
    [
        (100, "A+"),
        (97, "A+"),
        (96, "A"),
        (90, "A-"),
        (88, "B+"),
        (70, "C-"),
        (60, "D"),
        (59, "F"),
        (0, "F"),
        (None, None),
    ],
)
def test_grade_letters(score: int | None, letter: str | None) -> None:
    assert grading.grade(score=score) == letter
