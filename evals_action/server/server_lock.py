"""The lock file one server holds on its database for its whole life (`<database>.lock`), so a
second server on the same file refuses to start instead of taking its runs over.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from evals_action.server import store


class ServerLock:
    """An exclusive `flock` on `<database>.lock`, held from `acquire` until `release`."""

    def __init__(self, *, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> ServerLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise store.DatabaseUnavailable(
                f"cannot create the lock file {self.path} ({exc.strerror}): give the server's "
                "user write access to the database's folder"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise store.DatabaseUnavailable(
                f"another evals server is already using the database {self.path.with_suffix('')}"
                f" (it holds {self.path}): stop it first, or give this one its own --database"
            ) from None
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None
