"""The job's OpenID Connect token, requested the way GitHub Actions documents it.

A job with `permissions: id-token: write` gets two variables: `ACTIONS_ID_TOKEN_REQUEST_URL`
(already carrying a query string) and `ACTIONS_ID_TOKEN_REQUEST_TOKEN`. The token is
`GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<aud>` with `Authorization: bearer <request token>`,
answered with `{"value": "<JWT>"}`. The audience is what the receiving server checks (ours: its
public URL). See https://docs.github.com/actions/security-for-github-actions/security-hardening-
your-deployments/about-security-hardening-with-openid-connect.

Both variables and the token are secrets: they never appear in a message. The caller registers
the returned token for redaction before using it.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import requests

from evals_action import errors, transport

URL_VARIABLE = "ACTIONS_ID_TOKEN_REQUEST_URL"
TOKEN_VARIABLE = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"  # noqa: S105 - a variable's name
WHAT = "requesting the job's OIDC token"
# A GitHub OIDC token is about 1 KB; anything far larger is not one.
MAX_TOKEN_CHARS = 16_384


def request_token(*, session: requests.Session, environ: Mapping[str, str], audience: str) -> str:
    """The job's OIDC token for `audience`; `ConfigError` (exit 2) when the job cannot have one.

    Raises `APIError` subclasses (from `transport.send`) when the token endpoint fails.
    """
    url, bearer = _variables(environ=environ)
    if not audience.strip():
        raise errors.ConfigError([f"{WHAT}: the audience is empty; pass the server's URL"])
    separator = "&" if "?" in url else "?"
    response = transport.send(
        session,
        method="GET",
        url=f"{url}{separator}audience={quote(audience, safe='')}",
        what=WHAT,
        headers={"Authorization": f"bearer {bearer}"},
        fatal_statuses=frozenset(),  # no api-key hint: the request token is the runner's
    )
    return _token(data=transport.json_body(response, what=WHAT))


def _variables(*, environ: Mapping[str, str]) -> tuple[str, str]:
    url, bearer = environ.get(URL_VARIABLE, ""), environ.get(TOKEN_VARIABLE, "")
    missing = [name for name, value in ((URL_VARIABLE, url), (TOKEN_VARIABLE, bearer)) if not value]
    if missing:
        raise errors.ConfigError(
            [
                "api-key is empty and the job cannot request an OIDC token "
                f"({' and '.join(missing)} not set): give the job "
                "`permissions: id-token: write`, or pass api-key"
            ]
        )
    if not url.startswith(("https://", "http://")):
        raise errors.ConfigError(
            [f"{URL_VARIABLE} is not an http(s) URL: this job's runner did not set it up for OIDC"]
        )
    return url, bearer


def _token(*, data: object) -> str:
    value = data.get("value") if isinstance(data, dict) else None
    if not isinstance(value, str) or value.count(".") != 2 or len(value) > MAX_TOKEN_CHARS:
        raise errors.ClientAPIError(
            f'{WHAT}: the answer has no token (expected JSON {{"value": "<JWT>"}})'
        )
    return value
