"""The loop against a scripted model on loopback: retries, bad arguments, limits, origins.

No browser here (tools: http only), so these run in well under a second each. Every rollout
goes through `rollouts.execute` for real: real HTTP to the stand-in model and the preview.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from evals_action.agent import limits, rollouts, scripted

from .conftest import API_KEY, Hits, ModelStandIn, init_request, script_of, settings, steps_named

Start = Callable[[scripted.Script], ModelStandIn]
HTTP_ONLY = ("http",)


def test_a_429_is_retried_after_the_servers_retry_after(model_factory: Start, preview: str) -> None:
    """429 with Retry-After: 7 → the agent waits 7 s (recorded, not slept), then goes on."""
    turns = iter(
        [
            scripted.Turn(status=429, headers={"Retry-After": "7"}, body={"error": "slow down"}),
            scripted.Turn(status=503, body="busy"),
            scripted.answer("done"),
        ]
    )
    model = model_factory(lambda body: next(turns))
    waits: list[float] = []
    finished = rollouts.execute(
        request=init_request(model_url=model.url, preview=preview),
        settings=settings(groups=HTTP_ONLY, sleep=waits.append),
    )
    assert finished.status.code == 100
    assert waits == [7.0, 2.0]  # Retry-After wins; then the plain backoff of attempt 2
    assert finished.result["summary"] == "done"
    assert len(model.model.seen) == 3


def test_a_model_that_keeps_failing_ends_the_rollout_with_status_13_and_the_trace(
    model_factory: Start, preview: str
) -> None:
    model = model_factory(lambda body: scripted.Turn(status=500, body={"error": API_KEY}))
    finished = rollouts.execute(
        request=init_request(model_url=model.url, preview=preview),
        settings=settings(groups=HTTP_ONLY),
    )
    assert finished.status.code == 13
    assert finished.status.message.startswith("agent error: the model at http://127.0.0.1:")
    assert "answered HTTP 500 (gave up after 5 attempts)" in finished.status.message
    assert finished.result["trace"]["failedStep"] == 1
    assert API_KEY not in json.dumps(finished.result) + finished.status.message


def test_malformed_tool_arguments_are_recorded_and_answered_not_fatal(
    model_factory: Start, preview: str
) -> None:
    model = model_factory(
        script_of(
            scripted.call("http_request", '{"method": "GET", "url": '),  # cut-off JSON
            scripted.call("http_request", '["GET"]'),  # JSON, but not an object
            scripted.call("no_such_tool", url=preview),
            scripted.answer("gave up"),
        )
    )
    finished = rollouts.execute(
        request=init_request(model_url=model.url, preview=preview),
        settings=settings(groups=HTTP_ONLY),
    )
    steps = finished.result["trace"]["steps"]
    tool_steps = [s for s in steps if s["kind"] == "tool"]
    assert [(s["name"], s["ok"], s["error"]) for s in tool_steps] == [
        ("http_request", False, "the arguments are not valid JSON; send one JSON object"),
        ("http_request", False, "the arguments must be a JSON object"),
        ("no_such_tool", False, "error: no tool named 'no_such_tool' (tools: http_request)"),
    ]
    assert tool_steps[0]["args"] == {"raw": '{"method": "GET", "url": '}
    tool_messages = [m["content"] for m in model.model.seen[-1]["messages"] if m["role"] == "tool"]
    assert tool_messages[0] == (
        "error: http_request: the arguments are not valid JSON; send one JSON object"
    )
    assert finished.result["metrics"]["errors"] == 3
    assert finished.status.code == 100


def test_an_endless_loop_of_calls_stops_at_the_step_limit(
    model_factory: Start, preview: str
) -> None:
    model = model_factory(lambda body: scripted.call("http_request", method="GET", url=preview))
    finished = rollouts.execute(
        request=init_request(model_url=model.url, preview=preview),
        settings=settings(groups=HTTP_ONLY, limits=limits.Limits(max_steps=4)),
    )
    result = finished.result
    assert len(model.model.seen) == 4
    assert steps_named(result) == ["model", "http_request"] * 4
    assert result["outcome"] == "limit_reached"
    assert result["summary"] == "Stopped: step limit reached (4 model calls)"
    assert result["trace"]["failedStep"] == 8
    assert result["metrics"]["steps"] == 4
    assert finished.status.code == 100


def test_the_wall_clock_limit_holds_on_an_injected_clock(
    model_factory: Start, preview: str
) -> None:
    """Each model call takes 20 s on the injected clock: a 45 s limit allows three calls."""
    now = [0.0]

    def slow_model(body: Any) -> scripted.Turn:
        now[0] += 20
        return scripted.call("http_request", method="GET", url=preview)

    model = model_factory(slow_model)
    finished = rollouts.execute(
        request=init_request(model_url=model.url, preview=preview),
        settings=settings(
            groups=HTTP_ONLY, limits=limits.Limits(max_seconds=45), clock=lambda: now[0]
        ),
    )
    assert finished.result["summary"] == "Stopped: time limit reached (45 s)"
    assert len(model.model.seen) == 3
    assert finished.result["metrics"]["timeSeconds"] == 60


def test_the_cost_budget_stops_the_rollout_and_cost_is_reported(
    model_factory: Start, preview: str
) -> None:
    """1000 + 500 tokens a call at $1/$2 per million = $0.002 a call; the budget is $0.005."""
    usage = {"prompt_tokens": 1000, "completion_tokens": 500}
    model = model_factory(
        lambda body: scripted.Turn(
            message=scripted.call("http_request", method="GET", url=preview).message, usage=usage
        )
    )
    finished = rollouts.execute(
        request=init_request(model_url=model.url, preview=preview),
        settings=settings(
            groups=HTTP_ONLY,
            limits=limits.Limits(max_cost_usd=0.005),
            prices={"scripted": limits.Price(input_per_mtok=1.0, output_per_mtok=2.0)},
        ),
    )
    metrics = finished.result["metrics"]
    assert len(model.model.seen) == 3
    assert finished.result["summary"] == "Stopped: cost budget spent ($0.0060 of $0.005)"
    assert (metrics["costUsd"], metrics["cost"]) == (0.006, "$0.01")
    assert (metrics["promptTokens"], metrics["completionTokens"], metrics["totalTokens"]) == (
        3000,
        1500,
        4500,
    )


def test_the_token_budget_stops_the_rollout(model_factory: Start, preview: str) -> None:
    model = model_factory(lambda body: scripted.call("http_request", method="GET", url=preview))
    finished = rollouts.execute(
        request=init_request(model_url=model.url, preview=preview),
        settings=settings(groups=HTTP_ONLY, limits=limits.Limits(max_tokens=250)),
    )
    assert finished.result["summary"] == "Stopped: token budget spent (360 of 250 tokens)"
    assert len(model.model.seen) == 3


def test_a_request_outside_the_preview_is_refused_recorded_and_never_sent(
    model_factory: Start, preview: str, outside: tuple[str, Hits]
) -> None:
    elsewhere, hits = outside
    model = model_factory(
        script_of(
            scripted.call("http_request", method="GET", url=f"{elsewhere}/steal"),
            scripted.call("http_request", method="GET", url=f"{preview}/api/projects"),
            scripted.answer("ok"),
        )
    )
    finished = rollouts.execute(
        request=init_request(model_url=model.url, preview=preview),
        settings=settings(groups=HTTP_ONLY),
    )
    steps = [s for s in finished.result["trace"]["steps"] if s["kind"] == "tool"]
    assert hits.paths == []
    assert steps[0]["refused"] is True
    assert steps[0]["summary"] == (
        f"refused: {elsewhere}/steal is outside this rollout's origins ({preview}); not sent"
    )
    assert (steps[1]["refused"], steps[1]["ok"], steps[1]["summary"]) == (
        False,
        True,
        "HTTP 200\n[]",
    )


def test_a_prompt_line_widens_the_origins(
    model_factory: Start, preview: str, outside: tuple[str, Hits]
) -> None:
    elsewhere, hits = outside
    model = model_factory(
        script_of(
            scripted.call("http_request", method="GET", url=f"{elsewhere}/docs"),
            scripted.answer("ok"),
        )
    )
    prompt = f"Test {preview}.\nAllowed origins: {elsewhere}\n"
    rollouts.execute(
        request=init_request(model_url=model.url, preview=preview, prompt=prompt),
        settings=settings(groups=HTTP_ONLY),
    )
    assert hits.paths == ["/docs"]


def test_the_model_key_never_reaches_the_result_even_when_the_model_echoes_it(
    model_factory: Start, preview: str
) -> None:
    model = model_factory(script_of(scripted.answer(f"my key is {API_KEY}")))
    finished = rollouts.execute(
        request=init_request(model_url=model.url, preview=preview),
        settings=settings(groups=HTTP_ONLY),
    )
    assert API_KEY not in json.dumps(finished.result)
    assert finished.result["summary"] == "my key is ***"
    assert model.model.seen[0]["model"] == "scripted"


@pytest.mark.parametrize(
    ("tools", "offered"),
    [
        (None, ["http_request"]),
        ([{"type": "function", "function": {"name": "shell"}}], ["shell"]),
    ],
)
def test_the_request_tools_choose_the_tool_groups(
    model_factory: Start, preview: str, tools: Any, offered: list[str]
) -> None:
    model = model_factory(script_of(scripted.answer("ok")))
    rollouts.execute(
        request=init_request(model_url=model.url, preview=preview, tools=tools),
        settings=settings(groups=HTTP_ONLY),
    )
    assert [t["function"]["name"] for t in model.model.seen[0]["tools"]] == offered
