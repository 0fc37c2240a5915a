"""A `requests.Session` with an overall time limit and a size cap on every request.

`requests` only has connect and read timeouts, and a read timeout restarts with every byte: a
server that drips its answer (headers or body) one byte at a time holds a request forever. Here
each request gets a watchdog timer; when the request's time limit passes, the timer shuts the
request's socket down, the blocked read ends at once, and the request raises
`errors.TransientAPIError` (the poller then retries or, past the deadline, reports a timeout).

- The time limit of a request is connect + read timeout (the `timeout=(c, r)` it is made with;
  a long poll adds its wait to the read part), and never later than the session's `deadline`.
- At most `max_bytes` of a body are read (gzip decoded). A 2xx answer that is longer raises
  `errors.ClientAPIError`; an error answer is cut to that size (only its first words are shown).

Requests made with `stream=True` are bounded only until their headers arrive; nothing on the
action's path streams. `transport` is where these errors get the name of the call.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import requests
import requests.adapters
import urllib3
import urllib3.connection

from evals_action import errors

_current = threading.local()  # the `_Watch` of the request this thread is making, if any


class _Watch:
    """Shuts the socket of one request down once `seconds` have passed."""

    def __init__(self, *, seconds: float) -> None:
        self.fired = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True
        self._outer: _Watch | None = None

    def __enter__(self) -> _Watch:
        self._outer = getattr(_current, "watch", None)
        _current.watch = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._sock = None  # the socket may go back to the pool: never touch it later
        self._timer.cancel()
        _current.watch = self._outer

    def attach(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.fired:
                _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            _shutdown(self._sock)


def _shutdown(sock: socket.socket | None) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed: nothing left to stop
            # The plain socket's shutdown, also for TLS: it unblocks a read in another thread.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _attach_current(sock: socket.socket | None) -> None:
    watch: _Watch | None = getattr(_current, "watch", None)
    if watch is not None:
        watch.attach(sock)


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    def getresponse(self) -> Any:  # urllib3's own HTTPResponse
        _attach_current(self.sock)
        return super().getresponse()


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def getresponse(self) -> Any:
        _attach_current(self.sock)
        return super().getresponse()


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS: dict[str, Any] = {"http": _HTTPPool, "https": _HTTPSPool}


class _Adapter(requests.adapters.HTTPAdapter):
    """requests' adapter, with connections that report their socket to the current watch."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


class Session(requests.Session):
    """Every request ends within its time limit and reads at most `max_bytes` (module doc)."""

    def __init__(self, *, max_bytes: int) -> None:
        super().__init__()
        self.max_bytes = max_bytes
        self._ends_at: float | None = None  # on time.monotonic()
        for prefix in ("http://", "https://"):
            self.mount(prefix, _Adapter())

    @contextlib.contextmanager
    def deadline(self, *, seconds: float) -> Iterator[None]:
        """Inside the block, every request ends at most `seconds` (real time) from now."""
        outer, self._ends_at = self._ends_at, time.monotonic() + seconds
        try:
            yield
        finally:
            self._ends_at = outer

    def limit(self, timeout: Any) -> float:
        """Seconds a request made now with `timeout` may take in all."""
        if isinstance(timeout, (tuple, list)):
            own = float(sum(t for t in timeout if t is not None))
        else:
            own = float(timeout) if timeout else 60.0
        if self._ends_at is None:
            return own
        return min(own, self._ends_at - time.monotonic())

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        stream = bool(kwargs.pop("stream", False))
        limit = self.limit(kwargs.get("timeout"))
        where = f"{request.method} {(request.url or '').split('?', 1)[0]}"
        if limit <= 0:
            raise errors.TransientAPIError(f"timed out: the wait ended before {where}")
        with _Watch(seconds=limit) as watch:
            try:
                response = super().send(request, stream=True, **kwargs)
                if not stream:
                    _read(response, max_bytes=self.max_bytes, where=where)
            except requests.RequestException:
                if not watch.fired:
                    raise
            # Cut in the headers, http.client may take the end of the stream for their end.
            if watch.fired:
                # `from None`: the cause holds the prepared request, with its secrets.
                raise errors.TransientAPIError(
                    f"timed out: no complete answer within {round(limit, 1):g} s ({where}); "
                    "the server is slow or stalled"
                ) from None
        return response


def _read(response: requests.Response, *, max_bytes: int, where: str) -> None:
    """Read the body into `response.content`, at most `max_bytes` of it."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            response.close()
            if response.ok:
                raise errors.ClientAPIError(
                    f"the answer is larger than the {_size(max_bytes)} limit (HTTP "
                    f"{response.status_code} from {where}); check the URL points at the service",
                    status=response.status_code,
                )
            break
    response._content = b"".join(chunks)[:max_bytes]  # where requests keeps a body it has read


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):g} MiB" if count >= 1024 * 1024 else f"{count} bytes"
