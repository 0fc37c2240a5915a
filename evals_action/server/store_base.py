"""What the store's parts share: the one connection, its lock, the clock, the transaction
helper and the one error (`StorageError`). `store.Store` opens the connection; its tables live
in `store` (runs), `store_reports` (the server's GitHub reports) and `store_access` (API keys,
webhook deliveries)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from evals_action import errors


class StorageError(errors.EvalsActionError):
    """The database refused a statement: disk full, read-only file, I/O error, locked."""


class Tables:
    """The state every part of the store reads and writes through (set by `store.Store`)."""

    _conn: sqlite3.Connection
    _lock: threading.Lock
    _clock: Callable[[], float]

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, storage_errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:  # a failed COMMIT (disk full) leaves it open
                    with suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                raise


@contextmanager
def storage_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise StorageError(f"database error: {exc}") from exc
