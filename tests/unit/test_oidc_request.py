"""The action's OIDC token request, against a loopback stand-in of the runner's token endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import jwt
import pytest

from evals_action import errors, oidc, transport
from tests.fakes.oidc import REQUEST_TOKEN, FakeIssuer

AUDIENCE = "https://evals.example.com"
JWKS_ANSWER = "/.well-known/jwks?x=1"  # a JSON answer without "value"


@pytest.fixture
def issuer() -> Iterator[FakeIssuer]:
    with FakeIssuer() as fake:
        yield fake


def _environ(issuer: FakeIssuer) -> dict[str, str]:
    return {oidc.URL_VARIABLE: issuer.request_url, oidc.TOKEN_VARIABLE: REQUEST_TOKEN}


def test_request_follows_githubs_documented_variables(issuer: FakeIssuer) -> None:
    """GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<aud> with `bearer $..._TOKEN`; returns value."""
    token = oidc.request_token(
        session=transport.new_session(), environ=_environ(issuer), audience=AUDIENCE
    )
    (request,) = issuer.requests
    assert request.method == "GET"
    assert request.path == "/_apis/token"
    assert request.query == {"api-version": "2.0", "audience": AUDIENCE}
    assert request.header("authorization") == f"bearer {REQUEST_TOKEN}"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == AUDIENCE
    assert claims["repository"] == issuer.repository
    assert issuer.violations == []


@pytest.mark.parametrize("missing", [oidc.URL_VARIABLE, oidc.TOKEN_VARIABLE])
def test_missing_variable_is_one_config_error_naming_the_permission(
    issuer: FakeIssuer, missing: str
) -> None:
    """Without id-token: write the runner sets neither variable: exit 2, no request made."""
    environ = {**_environ(issuer), missing: ""}
    with pytest.raises(errors.ConfigError) as caught:
        oidc.request_token(session=transport.new_session(), environ=environ, audience=AUDIENCE)
    message = str(caught.value)
    assert caught.value.exit_code == 2
    assert missing in message
    assert "permissions: id-token: write" in message
    assert "\n" not in message
    assert REQUEST_TOKEN not in message
    assert issuer.requests == []


def test_refused_request_token_names_the_call_not_the_secret(issuer: FakeIssuer) -> None:
    """A 401 from the endpoint is an APIError naming the call; the request token stays out."""
    environ = {**_environ(issuer), oidc.TOKEN_VARIABLE: "stale-request-token"}
    with pytest.raises(errors.APIError) as caught:
        oidc.request_token(session=transport.new_session(), environ=environ, audience=AUDIENCE)
    assert caught.value.status == 401
    assert str(caught.value).startswith("requesting the job's OIDC token: HTTP 401")
    assert "stale-request-token" not in str(caught.value)
    assert "api-key" not in str(caught.value)


def test_answer_without_a_token_is_refused(issuer: FakeIssuer) -> None:
    """`{"value": ...}` must hold a JWT; anything else is an unreadable answer."""
    environ = {**_environ(issuer), oidc.URL_VARIABLE: issuer.root_url + JWKS_ANSWER}
    with pytest.raises(errors.ClientAPIError, match="the answer has no token"):
        oidc.request_token(session=transport.new_session(), environ=environ, audience=AUDIENCE)


def test_empty_audience_is_a_config_error(issuer: FakeIssuer) -> None:
    """The audience is what the server checks; an empty one is refused before any request."""
    with pytest.raises(errors.ConfigError, match="audience is empty"):
        oidc.request_token(session=transport.new_session(), environ=_environ(issuer), audience=" ")
    assert issuer.requests == []
