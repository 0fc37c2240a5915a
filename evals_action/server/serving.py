"""Run an ASGI app with uvicorn: in the foreground (`serve`) or on a background thread.

The background form binds the socket itself (port 0 picks a free port without a race), starts
uvicorn on a thread and returns once uvicorn reports it is serving: the demo, the tests and
the benchmarks use it to put the server, the example preview and the example agent on loopback.

In the foreground every log record goes through `Redacting` first: the configured secrets become
`***` in messages and tracebacks, and the access log shows a query string's names but not its
values (a client that puts a key in the URL does not get it logged). Headers are never logged.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn

STARTUP_TIMEOUT_SECONDS = 10.0
SHUTDOWN_GRACE_SECONDS = 5
LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
SAFE_QUERY_NAMES = frozenset(
    {"wait", "limit", "offset", "promptId", "reportStatus", "branch", "rollout_id"}
)


class Redacting(logging.Filter):
    """Rewrites each record with `redact` applied; access-log query values become `***`."""

    def __init__(self, *, redact: Callable[[str], str]) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            path = self._redact(quiet_query(path=str(args[2])))
            record.args = (args[0], args[1], path, args[3], args[4])
        else:
            record.msg, record.args = self._redact(record.getMessage()), None
            record.__dict__.pop("color_message", None)  # uvicorn's unredacted copy
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        return True


def quiet_query(*, path: str) -> str:
    """`path?key=abc&wait=5` → `path?key=***&wait=5`: only well-known names keep their value."""
    base, mark, query = path.partition("?")
    if not mark:
        return path
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    shown = [(k, v if k in SAFE_QUERY_NAMES else "***") for k, v in pairs]
    return f"{base}?{urllib.parse.urlencode(shown, safe='*')}"


def redact_logs(*, redact: Callable[[str], str]) -> None:
    """Put a `Redacting` filter on every handler the root and uvicorn loggers write through."""
    for name in LOGGERS:
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(Redacting(redact=redact))


def listen(*, host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP;
    # without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run(
    *,
    app: Any,
    host: str,
    port: int,
    log_level: str = "info",
    redact: Callable[[str], str] = lambda text: text,
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM (uvicorn handles both gracefully).

    Open long polls would hold a graceful shutdown for up to their `wait`; after
    `SHUTDOWN_GRACE_SECONDS` they are cut (the action just polls again, after the restart).
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
    redact_logs(redact=redact)  # after uvicorn.Config, which sets up uvicorn's handlers
    try:
        uvicorn.Server(config).run()
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C once it has shut down gracefully
        print("evals server: stopped", file=sys.stderr)


class Background:
    """`with Background(app=...) as served: served.url` runs `app` on a loopback thread."""

    def __init__(
        self,
        *,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        sock: socket.socket | None = None,
    ) -> None:
        self._sock = sock or listen(host=host, port=port)
        bound = self._sock.getsockname()
        self.host, self.port = host, int(bound[1])
        config = uvicorn.Config(
            app, log_level=log_level, lifespan="on", access_log=False, server_header=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            daemon=True,
            name=f"uvicorn-{self.port}",
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> Background:
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not self._server.started:  # poll until uvicorn says it is serving
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
        self._sock.close()

    def __enter__(self) -> Background:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
