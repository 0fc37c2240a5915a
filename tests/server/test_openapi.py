"""`GET /api/openapi` declares everything the action's client sends and reads.

Two checks keep client and server from drifting: every request and response of a full
exchange made by the action's own client validates against the document (response schemas are
closed, so an undeclared field the server sends fails too), and every key the client's code
reads or sends is declared in the document.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from evals_action import hand_over, models, transport
from evals_action.backends import evals_api, evals_api_baselines

from .conftest import FakeRollouts, Running


def _document(server: Running) -> dict[str, Any]:
    response = requests.get(f"{server.url}/api/openapi", timeout=5)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _declared_names(node: Any) -> set[str]:
    """Every property, parameter and header name anywhere in the document."""
    names: set[str] = set()
    if isinstance(node, dict):
        names.update(node.get("properties", {}))
        if node.get("in") in ("query", "header", "path"):
            names.add(node["name"])
        names.update(node.get("headers", {}))
        for value in node.values():
            names |= _declared_names(value)
    elif isinstance(node, list):
        for value in node:
            names |= _declared_names(value)
    return names


def _client_keys() -> set[str]:
    """String keys the action's client reads (`x.get("k")`, `x["k"]`) or sends (dict keys)."""
    # the client, its baseline listings and its wire format
    sources = (
        Path(evals_api.__file__),
        Path(evals_api_baselines.__file__),
        Path(models.__file__),
        Path(hand_over.__file__),  # what `wait: false` asks of the server
    )
    trees = [ast.parse(source.read_text(encoding="utf-8")) for source in sources]
    keys: set[str] = set()
    for node in (node for tree in trees for node in ast.walk(tree)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            keys.add(node.args[0].value)
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            keys.add(node.slice.value)
        elif isinstance(node, ast.Dict):
            keys.update(
                k.value
                for k in node.keys
                if isinstance(k, ast.Constant) and isinstance(k.value, str)
            )
        elif isinstance(node, ast.Tuple) and all(isinstance(e, ast.Constant) for e in node.elts):
            keys.update(e.value for e in node.elts if isinstance(e.value, str))  # type: ignore[attr-defined]
    return keys


def test_every_field_the_action_client_reads_or_sends_is_declared(server: Running) -> None:
    declared = _declared_names(_document(server))
    keys = _client_keys()
    assert {
        "runId",
        "runUrl",
        "statusUrl",
        "failureReason",
        "keyFinding",
        "whatDidnt",
        "timeSeconds",
        "costUsd",
        "urlMap",
        "templateArgs",
        "context",
        "promptId",
        "reportStatus",
        "limit",
        "offset",
        "wait",
        "commentId",
        "hold",
    } <= keys  # the scan sees the client
    not_fields = {"Authorization", "error", "message", "detail"}  # auth scheme, error body
    assert sorted(keys - not_fields - declared) == []
    assert models.LONG_POLL_HEADER in declared
    assert "Idempotency-Key" in declared


def test_a_whole_exchange_of_the_action_client_validates(
    server: Running, rollouts: FakeRollouts
) -> None:
    spec = OpenAPI.from_dict(_document(server))
    exchanged: list[requests.Response] = []
    session = transport.new_session()
    session.hooks["response"].append(lambda response, *a, **k: exchanged.append(response))
    backend = evals_api.EvalsApiBackend(session=session, base_url=server.url, api_key=server.key)
    run = backend.start(
        request=models.StartRequest(
            prompt_id="signup",
            url_map={"app.example.com": "https://p.dev"},
            template_args={"project_name": "demo"},
            idempotency_key="k",
            context={
                "repository": "o/r",
                "pullRequest": 3,
                "sha": "abc",
                "report": {"by": "server", "skipComment": False, "hold": True},
            },
        )
    )
    backend.fetch(run_id=run.run_id)
    backend.hand_over(run_id=run.run_id, comment_id=12)
    (rollout_id,) = rollouts.started()
    rollouts.finish(
        rollout_id,
        result={
            "messages": [{"role": "assistant", "content": "demo"}],
            "metrics": {"costUsd": 0.5},
        },
    )
    server.until(run.run_id, lambda b: b["status"] == "completed")
    backend.fetch(run_id=run.run_id, wait_seconds=5)
    backend.baseline(prompt_id="signup", current_run_id="other")
    with pytest.raises(Exception):  # noqa: B017, PT011 - any error: the 400 is what we validate
        backend.start(
            request=models.StartRequest(
                prompt_id="signup", url_map={}, template_args=None, idempotency_key="k2"
            )
        )
    assert [r.status_code for r in exchanged] == [201, 200, 200, 200, 200, 400]
    for response in exchanged:
        request = RequestsOpenAPIRequest(response.request)
        spec.validate_request(request)
        spec.validate_response(request, RequestsOpenAPIResponse(response))


def test_the_errors_for_extreme_input_are_declared(server: Running) -> None:
    """400s for out-of-range integers validate; 413 and 503 are declared where they happen."""
    document = _document(server)
    spec = OpenAPI.from_dict(document)
    session = server.session()
    answers = [
        session.get(f"{server.url}/api/v1/runs", params={"offset": 2**63}, timeout=5),
        session.post(
            f"{server.url}/api/v1/prompts/signup/run",
            json={"templateArgs": {"project_name": "x"}, "context": {"pullRequest": 2**63}},
            timeout=5,
        ),
    ]
    assert [a.status_code for a in answers] == [400, 400]
    for answer in answers:
        request = RequestsOpenAPIRequest(answer.request)
        spec.validate_response(request, RequestsOpenAPIResponse(answer))
        with pytest.raises(Exception):  # noqa: B017, PT011 - the request breaks a declared range
            spec.validate_request(request)
    start = document["paths"]["/api/v1/prompts/{promptId}/run"]["post"]["responses"]
    assert {"400", "413", "503"} <= set(start)


def test_suites_are_declared_the_header_the_branch_filter_and_the_context(
    server: Running, rollouts: FakeRollouts
) -> None:
    """`X-Evals-Suites` on every declared response, `branch=default` on the listing and
    `context.suite`/`context.attempt` both ways, validated against real traffic."""
    document = _document(server)
    for path in document["paths"].values():
        for operation in path.values():
            for response in operation["responses"].values():
                assert response["headers"]["X-Evals-Suites"]["schema"]["enum"] == ["1"]
    spec = OpenAPI.from_dict(document)
    session = server.session()
    answers = [
        session.post(
            f"{server.url}/api/v1/prompts/signup/run",
            json={
                "templateArgs": {"project_name": "x"},
                "context": {"repository": "o/r", "pullRequest": 3, "suite": "s", "attempt": 2},
            },
            timeout=5,
        )
    ]
    run_id = answers[0].json()["runId"]
    answers.append(session.get(f"{server.url}/api/v1/runs/{run_id}", timeout=5))
    answers.append(
        session.get(
            f"{server.url}/api/v1/runs",
            params={"promptId": "signup", "branch": "default", "reportStatus": "published"},
            timeout=5,
        )
    )
    assert [a.status_code for a in answers] == [201, 200, 200]
    assert answers[1].json()["context"]["suite"] == "s"
    for answer in answers:
        request = RequestsOpenAPIRequest(answer.request)
        spec.validate_request(request)
        spec.validate_response(request, RequestsOpenAPIResponse(answer))
