"""FakeIssuer: GitHub Actions' OIDC side on loopback, with its own RSA key.

It plays both halves GitHub plays:
- the runner's token endpoint, `GET /_apis/token?api-version=2.0&audience=A` with
  `Authorization: bearer <request_token>`, answering `{"value": <JWT>}` signed RS256 with claims
  like a real Actions token (`repository`, `ref`, `workflow_ref`, `event_name`, ...);
- the issuer, `GET /.well-known/openid-configuration` (naming `jwks_uri`) and the JWKS itself.

`mint(...)` signs any claims/header a test wants (expired, wrong audience, another key);
`rotate()` starts signing with a new key and `kid` (the JWKS then lists both).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes._http import FakeServer, RecordedRequest, Reply

REQUEST_TOKEN = "fake-actions-id-token-request-token"  # noqa: S105  (a fake's fake token)
JWKS_PATH = "/.well-known/jwks"


def new_key() -> rsa.RSAPrivateKey:
    """A fresh RSA key for signing tokens (2048 bits, like GitHub's)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeIssuer(FakeServer):
    """An OIDC issuer and an Actions token endpoint for one repository's job."""

    server_header = "token.actions.githubusercontent.com"

    def __init__(self, *, repository: str = "octo-org/octo-repo") -> None:
        super().__init__()
        self.repository = repository
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.kid = ""
        self.rotate()

    @property
    def issuer(self) -> str:
        return self.root_url

    @property
    def request_url(self) -> str:
        """What the runner puts in ACTIONS_ID_TOKEN_REQUEST_URL (it carries a query string)."""
        return f"{self.root_url}/_apis/token?api-version=2.0"

    def rotate(self) -> str:
        """Sign with a new key from now on; the JWKS keeps the old ones too. Returns the kid."""
        with self._lock:
            self.kid = uuid.uuid4().hex[:16]
            self.keys[self.kid] = new_key()
            return self.kid

    def claims(self, *, audience: str, **overrides: Any) -> dict[str, Any]:
        """Claims shaped like a GitHub Actions token for a push to main, with `overrides`."""
        now = int(time.time())
        owner = self.repository.split("/")[0]
        base = {
            "iss": self.issuer,
            "aud": audience,
            "sub": f"repo:{self.repository}:ref:refs/heads/main",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            "repository": self.repository,
            "repository_owner": owner,
            "ref": "refs/heads/main",
            "sha": "a" * 40,
            "workflow": "evals",
            "workflow_ref": f"{self.repository}/.github/workflows/evals.yml@refs/heads/main",
            "event_name": "push",
            "runner_environment": "github-hosted",
        }
        base.update(overrides)
        return {k: v for k, v in base.items() if v is not None}

    def mint(
        self,
        *,
        audience: str = "",
        key: Any = None,
        algorithm: str = "RS256",
        headers: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> str:
        """A signed token (current key unless `key`); claims as `claims()` with `overrides`."""
        with self._lock:
            signing = key if key is not None else self.keys[self.kid]
            header = {"kid": self.kid, **(headers or {})}
        payload = self.claims(audience=audience, **overrides)
        return jwt.encode(payload, signing, algorithm=algorithm, headers=header)

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            keys = []
            for kid, key in self.keys.items():
                jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
                keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
            return {"keys": keys}

    def _handle(self, request: RecordedRequest, raw: bytes) -> Reply:
        if request.method != "GET":
            return Reply(405, {"message": "Method Not Allowed"})
        if request.path == "/.well-known/openid-configuration":
            return Reply(
                200,
                {
                    "issuer": self.issuer,
                    "jwks_uri": self.root_url + JWKS_PATH,
                    "id_token_signing_alg_values_supported": ["RS256"],
                },
            )
        if request.path == JWKS_PATH:
            return Reply(200, self.jwks())
        if request.path == "/_apis/token":
            return self._token(request)
        return Reply(404, {"message": "Not Found"})

    def _token(self, request: RecordedRequest) -> Reply:
        if request.header("authorization") != f"bearer {REQUEST_TOKEN}":
            return Reply(401, {"message": "Bad request token"})
        if request.query.get("api-version") != "2.0":
            self._violations.append(f"token request without api-version=2.0: {request.query}")
        audience = request.query.get("audience", "")
        return Reply(200, {"value": self.mint(audience=audience), "count": 1})
