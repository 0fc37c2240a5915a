"""The server's OIDC verifier against a fake issuer on loopback (its own RSA key and JWKS)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from evals_action import transport
from evals_action.server import oidc
from tests.fakes.oidc import JWKS_PATH, FakeIssuer, new_key

AUDIENCE = "https://evals.example.com"
REPO = "octo-org/octo-repo"


class Clock:
    """A settable monotonic clock for the refresh bound."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def issuer() -> Iterator[FakeIssuer]:
    with FakeIssuer(repository=REPO) as fake:
        yield fake


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _verifier(
    issuer: FakeIssuer, clock: Clock, *rules: oidc.Rule
) -> tuple[oidc.Verifier, oidc.KeySet]:
    keys = oidc.KeySet(session=transport.new_session(), issuer=issuer.issuer, clock=clock)
    verifier = oidc.Verifier(
        keys=keys,
        issuer=issuer.issuer,
        audience=AUDIENCE,
        rules=rules or (oidc.Rule(repository=REPO),),
    )
    return verifier, keys


def _refused(verifier: oidc.Verifier, token: str) -> str:
    with pytest.raises(oidc.Rejected) as caught:
        verifier.verify(token=token)
    message = str(caught.value)
    assert token not in message
    assert "\n" not in message
    return caught.value.reason


def test_good_token_gives_the_identity(issuer: FakeIssuer, clock: Clock) -> None:
    """A token from the issuer, for our audience and an allowed repository, is accepted."""
    verifier, keys = _verifier(issuer, clock)
    identity = verifier.verify(token=issuer.mint(audience=AUDIENCE))
    assert identity == oidc.Identity(
        repository=REPO,
        ref="refs/heads/main",
        workflow=f"{REPO}/.github/workflows/evals.yml",
        event_name="push",
    )
    verifier.verify(token=issuer.mint(audience=AUDIENCE))
    assert keys.fetches == 1, "the JWKS is cached between tokens"
    assert [r.path for r in issuer.requests] == ["/.well-known/openid-configuration", JWKS_PATH]


def test_wrong_audience_is_refused_naming_aud(issuer: FakeIssuer, clock: Clock) -> None:
    """A token minted for another server cannot be replayed at this one."""
    verifier, _ = _verifier(issuer, clock)
    assert _refused(verifier, issuer.mint(audience="https://other.example.com")).startswith("aud:")


def test_expired_token_is_refused_naming_exp(issuer: FakeIssuer, clock: Clock) -> None:
    """Expiry is checked (an hour past is far beyond the leeway)."""
    verifier, _ = _verifier(issuer, clock)
    past = int(time.time()) - 3600
    token = issuer.mint(audience=AUDIENCE, iat=past - 300, nbf=past - 300, exp=past)
    assert _refused(verifier, token).startswith("exp:")


def test_not_yet_valid_token_is_refused(issuer: FakeIssuer, clock: Clock) -> None:
    """`nbf` an hour ahead is refused."""
    verifier, _ = _verifier(issuer, clock)
    future = int(time.time()) + 3600
    token = issuer.mint(audience=AUDIENCE, nbf=future, exp=future + 300)
    assert _refused(verifier, token).startswith("nbf/iat:")


def test_wrong_repository_is_refused_without_its_name(issuer: FakeIssuer, clock: Clock) -> None:
    """The allow-list decides; the reason names the claim, not the value."""
    verifier, _ = _verifier(issuer, clock)
    token = issuer.mint(audience=AUDIENCE, repository="mallory/evil-repo")
    reason = _refused(verifier, token)
    assert reason.startswith("repository:")
    assert "mallory" not in reason


def test_other_issuer_is_refused(issuer: FakeIssuer, clock: Clock) -> None:
    """`iss` must be the configured issuer even when the key verifies."""
    verifier, _ = _verifier(issuer, clock)
    token = issuer.mint(audience=AUDIENCE, iss="https://issuer.example.net")
    assert _refused(verifier, token).startswith("iss:")


def test_missing_repository_claim_is_refused(issuer: FakeIssuer, clock: Clock) -> None:
    """A token without the claims the allow-list needs is refused, naming the claim."""
    verifier, _ = _verifier(issuer, clock)
    token = issuer.mint(audience=AUDIENCE, repository=None)
    assert _refused(verifier, token).startswith("repository:")


def test_alg_none_is_refused(issuer: FakeIssuer, clock: Clock) -> None:
    """An unsigned token never reaches the key lookup."""
    verifier, keys = _verifier(issuer, clock)
    token = jwt.encode(
        issuer.claims(audience=AUDIENCE), key=None, algorithm="none", headers={"kid": issuer.kid}
    )
    assert _refused(verifier, token).startswith("alg:")
    assert keys.fetches == 0


def test_hs256_signed_with_the_public_key_is_refused(issuer: FakeIssuer, clock: Clock) -> None:
    """The classic algorithm confusion: HMAC keyed with the public PEM."""
    verifier, _ = _verifier(issuer, clock)
    public_pem = (
        issuer.keys[issuer.kid]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    token = _hs256(issuer.claims(audience=AUDIENCE), secret=public_pem, kid=issuer.kid)
    assert _refused(verifier, token).startswith("alg:")


def test_token_signed_by_another_key_with_a_known_kid_is_refused(
    issuer: FakeIssuer, clock: Clock
) -> None:
    """The signature is verified with the issuer's key, whatever the header says."""
    verifier, _ = _verifier(issuer, clock)
    token = issuer.mint(audience=AUDIENCE, key=new_key())
    assert _refused(verifier, token).startswith("signature:")


def test_unknown_kid_is_refused_after_one_refresh(issuer: FakeIssuer, clock: Clock) -> None:
    """An unknown kid refreshes the JWKS once; within the refresh bound it does not again."""
    verifier, keys = _verifier(issuer, clock)
    verifier.verify(token=issuer.mint(audience=AUDIENCE))
    forged = issuer.mint(audience=AUDIENCE, key=new_key(), headers={"kid": "made-up"})
    assert _refused(verifier, forged).startswith("kid:")
    assert keys.fetches == 1, "the first fetch was less than min_refresh_seconds ago"
    clock.now += 61
    assert _refused(verifier, forged).startswith("kid:")
    assert _refused(verifier, forged).startswith("kid:")
    assert keys.fetches == 2, "one refresh per bound, however many forged tokens arrive"


def test_rotated_key_is_picked_up_by_a_refresh(issuer: FakeIssuer, clock: Clock) -> None:
    """After the issuer rotates its key, the first token with the new kid refreshes the cache."""
    verifier, keys = _verifier(issuer, clock)
    verifier.verify(token=issuer.mint(audience=AUDIENCE))
    issuer.rotate()
    clock.now += 61
    assert verifier.verify(token=issuer.mint(audience=AUDIENCE)).repository == REPO
    assert keys.fetches == 2


@pytest.mark.parametrize(
    ("rule", "claim"),
    [
        (oidc.Rule(repository=REPO, refs=("refs/heads/release",)), "ref"),
        (oidc.Rule(repository=REPO, workflows=(".github/workflows/other.yml",)), "workflow_ref"),
        (oidc.Rule(repository=REPO, event_names=("pull_request",)), "event_name"),
    ],
)
def test_optional_allow_list_claims_are_checked(
    issuer: FakeIssuer, clock: Clock, rule: oidc.Rule, claim: str
) -> None:
    """ref, workflow and event name restrict a repository's tokens when configured."""
    verifier, _ = _verifier(issuer, clock, rule)
    assert _refused(verifier, issuer.mint(audience=AUDIENCE)).startswith(f"{claim}:")


def test_any_matching_rule_allows(issuer: FakeIssuer, clock: Clock) -> None:
    """Two rules for one repository: the token passes when either matches."""
    verifier, _ = _verifier(
        issuer,
        clock,
        oidc.Rule(repository=REPO, event_names=("pull_request",)),
        oidc.Rule(repository=REPO, workflows=(".github/workflows/evals.yml",), refs=()),
    )
    assert verifier.verify(token=issuer.mint(audience=AUDIENCE)).event_name == "push"


def test_garbage_is_refused_as_not_a_jwt(issuer: FakeIssuer, clock: Clock) -> None:
    """An API key or random text sent as the bearer is not a JWT."""
    verifier, _ = _verifier(issuer, clock)
    assert _refused(verifier, "evk_not-a-jwt").startswith("token:")


def test_unreachable_issuer_is_a_kid_refusal(clock: Clock) -> None:
    """When the JWKS cannot be read, the token is refused (never accepted) with a reason."""
    with FakeIssuer(repository=REPO) as gone:
        token, url = gone.mint(audience=AUDIENCE), gone.issuer
    keys = oidc.KeySet(session=transport.new_session(), issuer=url, clock=clock)
    verifier = oidc.Verifier(
        keys=keys, issuer=url, audience=AUDIENCE, rules=(oidc.Rule(repository=REPO),)
    )
    assert "could not be read" in _refused(verifier, token)


def _hs256(claims: dict[str, object], *, secret: bytes, kid: str) -> str:
    """An HS256 token keyed with `secret`, built by hand (PyJWT refuses PEM keys for HMAC)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"
