"""A run without the prompt's declared template vars is refused with the managed API's 400."""

from __future__ import annotations

import pytest

from evals_action import errors

from .conftest import FakeRollouts, Running


def test_missing_template_vars_is_a_400_naming_them(server: Running) -> None:
    response = server.session().post(
        f"{server.url}/api/v1/prompts/signup/run",
        json={"urlMap": {"app.example.com": "https://p.dev"}},
    )
    assert response.status_code == 400
    assert response.json() == {"error": "Missing template vars: project_name"}


def test_the_action_client_reports_the_servers_message(
    server: Running, rollouts: FakeRollouts
) -> None:
    with pytest.raises(
        errors.ClientAPIError, match="HTTP 400 .*: Missing template vars: project_name$"
    ):
        server.start(template_args={"other": "x"})
    assert rollouts.requests == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([1, 2], "Request body must be a JSON object"),
        ({"urlMap": {"a.com": "ftp://x"}}, "urlMap must be an object of hostname → http(s) URL"),
        ({"urlMap": {}, "templateArgs": ["x"]}, "templateArgs must be an object"),
    ],
)
def test_malformed_start_bodies_are_400(server: Running, body: object, message: str) -> None:
    response = server.session().post(
        f"{server.url}/api/v1/prompts/team%2Fsmoke%20test/run", json=body
    )
    assert (response.status_code, response.json()) == (400, {"error": message})


def test_unknown_fields_are_ignored(server: Running, rollouts: FakeRollouts) -> None:
    response = server.session().post(
        f"{server.url}/api/v1/prompts/signup/run",
        json={
            "urlMap": {},
            "templateArgs": {"project_name": "x"},
            "future": {"a": 1},
            "context": "not an object",
        },
    )
    assert response.status_code == 201
