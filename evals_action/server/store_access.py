"""The store's part for who may call: API keys (stored hashed, see `keys`) and the webhook
delivery ids seen (replays are ignored, see `webhook_routes`)."""

from __future__ import annotations

from evals_action.server import schema
from evals_action.server.store_base import Tables, storage_errors


class AccessTables(Tables):
    # --- webhook deliveries -------------------------------------------------------------------

    def record_delivery(self, *, delivery_id: str, keep_seconds: float) -> bool:
        """Remember a webhook delivery id; False when it was seen in the last `keep_seconds`
        (a replay). Older ids are forgotten here, so the table stays bounded."""
        now = self._clock()
        with self._transaction() as conn:
            conn.execute(
                "DELETE FROM webhook_deliveries WHERE received_at < ?", (now - keep_seconds,)
            )
            cursor = conn.execute(
                "INSERT OR IGNORE INTO webhook_deliveries (delivery_id, received_at) VALUES (?, ?)",
                (delivery_id, now),
            )
        return cursor.rowcount == 1

    def forget_delivery(self, *, delivery_id: str) -> None:
        """Drop a delivery id that could not be handled, so GitHub's redelivery is accepted."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM webhook_deliveries WHERE delivery_id = ?", (delivery_id,))

    # --- keys ---------------------------------------------------------------------------------

    def add_key(self, *, key_id: str, name: str, key_hash: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO api_keys (key_id, name, key_hash, created_at) VALUES (?, ?, ?, ?)",
                (key_id, name, key_hash, self._clock()),
            )

    def list_keys(self) -> list[schema.KeyRow]:
        with self._lock, storage_errors():
            rows = self._conn.execute(
                "SELECT key_id, name, created_at, revoked_at FROM api_keys ORDER BY created_at"
            ).fetchall()
        return [schema.KeyRow(**dict(r)) for r in rows]

    def revoke_key(self, *, key_id: str) -> bool:
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (self._clock(), key_id),
            )
        return cursor.rowcount == 1

    def key_is_active(self, *, key_hash: str) -> bool:
        with self._lock, storage_errors():
            row = self._conn.execute(
                "SELECT 1 FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (key_hash,)
            ).fetchone()
        return row is not None
