"""Bearer API keys: made here, shown once, stored only as a SHA-256 hash.

A key is `eak_<key id>_<secret>`: 32 random bytes of secret, so a fast hash is enough (nothing to
brute-force), and the key id lets `keys list` and `keys revoke` name a key without revealing it.
Keys never reach a log: the server logs no headers, and errors name only the key id.
"""

from __future__ import annotations

import hashlib
import secrets

from evals_action.server import store as store_

PREFIX = "eak_"


def create(*, store: store_.Store, name: str) -> tuple[str, str]:
    """Make and store a key; return `(key_id, key)`. The key is not kept anywhere."""
    key_id = secrets.token_hex(4)
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    store.add_key(key_id=key_id, name=name, key_hash=digest(key=key))
    return key_id, key


def digest(*, key: str) -> str:
    """What the database keeps for a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def check(*, store: store_.Store, authorization: str | None) -> bool:
    """True when `Authorization: Bearer <key>` names an active key."""
    if not authorization:
        return False
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return False
    return store.key_is_active(key_hash=digest(key=key.strip()))
