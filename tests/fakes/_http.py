"""The HTTP plumbing both fakes share.

`FakeServer` runs a stdlib `ThreadingHTTPServer` on 127.0.0.1 (port 0 by default) in a daemon
thread. Every request is recorded as a `RecordedRequest`, except the control routes under
`/_fake/`: `GET /_fake/state` answers `state()` as JSON and `POST /_fake/<op>` calls the method
`<op>` (one of `control_ops`) with the JSON body as keyword arguments, so a test in another process
can seed and inspect a fake it started with `serve_main`. A subclass implements `_handle`, which
runs under the fake's lock; `Reply.delay` and `Reply.reset` are applied outside it.

`gate(method, path_pattern)` stops the next matching request after it arrived and before the
fake applies it, until the test calls `Gate.release()` (or `release_after` seconds pass): the
knob that forces interleavings, e.g. a PATCH that started first but lands last. `Gate.arrived`
and `Gate.landed` are events a test waits on instead of sleeping; another process uses the
control ops `gate` (returns the gate's id) and `release_gate`, and reads `gates` in the state.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import re
import signal
import socket
import socketserver
import struct
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qsl, urlsplit

F = TypeVar("F", bound="FakeServer")


@dataclasses.dataclass
class RecordedRequest:
    """One request as a fake received it."""

    method: str
    path: str  # as sent (still percent-encoded), without the query string
    query: dict[str, str]  # decoded; the last value wins for a repeated name
    headers: dict[str, str]  # names in lower case
    json: Any  # the parsed JSON body, or None
    body: str  # the raw body as text
    t: float  # time.monotonic() on arrival (system-wide, so comparable across processes)
    status: int = 0  # what the fake answered; 0 when it reset the connection
    route: str = ""  # the path the fake routed on (GitHub: GHES prefix stripped, ids resolved)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclasses.dataclass
class Reply:
    """What a fake answers: a JSON body (or raw bytes), or a reset connection."""

    status: int
    body: Any = None  # JSON-serialisable; bytes are sent as they are; None sends no body
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (cut short when the fake stops)
    reset: bool = False  # close the socket with a TCP reset instead of answering
    drip: float = 0.0  # send the body one byte at a time, this many seconds apart
    drip_headers: bool = False  # with `drip`: the status line and headers too
    check: bool = True  # whether a fake that checks its answers against a schema checks this one


@dataclasses.dataclass
class Gate:
    """One request held between its arrival and its effect (see the module docstring)."""

    id: int
    method: str
    pattern: re.Pattern[str]
    release_after: float | None
    body: bytes = b""  # the held request's body, known once it arrived
    arrived: threading.Event = dataclasses.field(default_factory=threading.Event)
    landed: threading.Event = dataclasses.field(default_factory=threading.Event)
    _open: threading.Event = dataclasses.field(default_factory=threading.Event)

    def release(self) -> None:
        self._open.set()

    def wait(self, stopping: threading.Event) -> None:
        """Block the request until released, the timeout passes or the fake stops."""
        deadline = None if self.release_after is None else time.monotonic() + self.release_after
        while not self._open.is_set() and not stopping.is_set():
            left = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if left <= 0:
                return
            self._open.wait(left)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "pattern": self.pattern.pattern,
            "arrived": self.arrived.is_set(),
            "landed": self.landed.is_set(),
        }


class FakeServer:
    """A loopback HTTP server that records requests and violations; subclass it."""

    control_ops: ClassVar[frozenset[str]] = frozenset()
    server_header: ClassVar[str] = "fake"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._requests: list[RecordedRequest] = []
        self._violations: list[str] = []
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._gates: list[Gate] = []  # waiting for their request, then held until released
        self._gates_seen: list[Gate] = []
        self.state_file: str | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self: F) -> F:
        httpd = _Server(self._address, _Handler)
        httpd.fake = self
        self._httpd = httpd
        host, port = httpd.server_address[:2]
        self._address = (str(host), int(port))
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._write_state_file()

    def __enter__(self: F) -> F:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        """`http://127.0.0.1:<port>`, known once the server has started."""
        host, port = self._address
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        return self.root_url

    # --- inspection --------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, in arrival order (control routes excluded)."""
        with self._lock:
            return list(self._requests)

    @property
    def violations(self) -> list[str]:
        with self._lock:
            return list(self._violations)

    def take_violations(self) -> list[str]:
        """The violations so far, forgetting them (for tests that provoke one on purpose)."""
        with self._lock:
            taken, self._violations = self._violations, []
            return taken

    def gate(self, *, method: str, path_pattern: str, release_after: float | None = None) -> Gate:
        """Hold the next request whose method matches (`*`: any) and whose path (as sent,
        without the query) matches the regex, before it takes effect, until released."""
        with self._lock:
            gate = Gate(
                id=len(self._gates_seen) + 1,
                method=method.upper(),
                pattern=re.compile(path_pattern),
                release_after=release_after,
            )
            self._gates.append(gate)
            self._gates_seen.append(gate)
            return gate

    @property
    def gates(self) -> list[Gate]:
        """Every gate set so far, by id (1-based) order."""
        with self._lock:
            return list(self._gates_seen)

    def release_gate(self, *, gate_id: int) -> None:
        with self._lock:
            self._gates_seen[gate_id - 1].release()

    def _take_gate(self, method: str, path: str) -> Gate | None:
        with self._lock:
            for gate in self._gates:
                if gate.method in ("*", method) and gate.pattern.search(path):
                    self._gates.remove(gate)
                    return gate
        return None

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def state(self) -> dict[str, Any]:
        """Everything a test may want to read, as JSON-ready data (`GET /_fake/state`)."""
        with self._lock:
            return {
                "url": self.url,
                "requests": [dataclasses.asdict(r) for r in self._requests],
                "violations": list(self._violations),
                "gates": [g.as_json() for g in self._gates_seen],
                **self._state_extra(),
            }

    def control(self, op: str, args: dict[str, Any]) -> Any:
        """Call one of `control_ops` with keyword arguments, as `POST /_fake/<op>` does."""
        if op not in self.control_ops:
            raise ValueError(
                f"unknown control op {op!r}; known: {', '.join(sorted(self.control_ops))}"
            )
        with self._lock:
            return getattr(self, op)(**args)

    # --- for subclasses ----------------------------------------------------------------------

    def _handle(self, request: RecordedRequest, raw: bytes) -> Reply:
        raise NotImplementedError

    def _state_extra(self) -> dict[str, Any]:
        return {}

    def _violate(self, message: str) -> None:
        with self._lock:
            self._violations.append(message)

    # --- plumbing ----------------------------------------------------------------------------

    def _serve_http(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Reply:
        split = urlsplit(target)
        if split.path.startswith("/_fake/"):
            return self._serve_control(method, split.path[len("/_fake/") :], raw)
        gate = self._take_gate(method, split.path)
        if gate is not None:
            gate.body = raw
            gate.arrived.set()
            gate.wait(self._stopping)
        request = RecordedRequest(
            method=method,
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=headers,
            json=_parse_json(raw),
            body=raw.decode("utf-8", "replace"),
            t=time.monotonic(),
            route=split.path,
        )
        with self._lock:
            self._requests.append(request)
            try:
                reply = self._handle(request, raw)
            except Exception:  # noqa: BLE001  a bug in the fake must show up, not hang the client
                self._violations.append(
                    f"fake crashed on {method} {target}: {traceback.format_exc()}"
                )
                reply = Reply(500, {"message": "the fake crashed; see its violations"})
            request.status = 0 if reply.reset else reply.status
        if gate is not None:
            gate.landed.set()
        self._write_state_file()
        return reply

    def _serve_control(self, method: str, op: str, raw: bytes) -> Reply:
        if method == "GET" and op == "state":
            return Reply(200, self.state())
        if method != "POST":
            return Reply(405, {"error": "control routes: GET /_fake/state, POST /_fake/<op>"})
        try:
            args = json.loads(raw or b"{}")
            result = self.control(op, args)
        except (TypeError, ValueError, KeyError) as exc:
            return Reply(400, {"error": f"{type(exc).__name__}: {exc}"})
        self._write_state_file()
        if isinstance(result, Gate):
            result = result.id
        return Reply(200, {"result": json.loads(json.dumps(result, default=_jsonable))})

    def _write_state_file(self) -> None:
        if not self.state_file:
            return
        directory = os.path.dirname(os.path.abspath(self.state_file))
        with tempfile.NamedTemporaryFile(
            "w", dir=directory, prefix=".fake-state-", suffix=".json", delete=False
        ) as tmp:
            json.dump(self.state(), tmp, default=_jsonable)
        os.replace(tmp.name, self.state_file)


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeServer

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._resets: set[int] = set()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host up with getfqdn(); skip the DNS round trip.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def mark_reset(self, connection: socket.socket) -> None:
        self._resets.add(id(connection))

    def shutdown_request(self, request: Any) -> None:
        if id(request) in self._resets:
            self._resets.discard(id(request))
            request.close()  # no shutdown(SHUT_WR) first: with SO_LINGER 0 this sends a RST
            return
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body in two writes cost a 40 ms delayed ACK
    server: _Server

    def version_string(self) -> str:
        return self.server.fake.server_header

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (stdlib signature)
        """Quiet: the fakes record requests instead of logging them."""

    def _serve(self) -> None:
        raw = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.fake._serve_http(self.command, self.path, headers, raw)
        if reply.delay:
            self.server.fake._stopping.wait(reply.delay)
        if reply.reset:
            self._reset()
        else:
            self._send(reply)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, reply: Reply) -> None:
        if isinstance(reply.body, bytes):
            body, content_type = reply.body, "application/octet-stream"
        elif reply.body is None:
            body, content_type = b"", ""
        else:
            body = json.dumps(reply.body, default=_jsonable).encode()
            content_type = "application/json; charset=utf-8"
        self.send_response(reply.status)
        names = {k.lower() for k in reply.headers}
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if content_type and "content-type" not in names:
            self.send_header("Content-Type", content_type)
        if reply.status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        if reply.status in (204, 304):
            body = b""
        if reply.drip and reply.drip_headers:
            self._headers_buffer.append(b"\r\n")
            head, self._headers_buffer = b"".join(self._headers_buffer), []
            self._drip(head + body, every=reply.drip)
            return
        self.end_headers()
        if reply.drip:
            self._drip(body, every=reply.drip)
        elif body:
            self.wfile.write(body)

    def _drip(self, data: bytes, *, every: float) -> None:
        """Like a stalled server: one byte, a pause, the next byte (stops with the fake)."""
        try:
            for i in range(len(data)):
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
                if self.server.fake._stopping.wait(every):
                    break
        except OSError:  # the client gave up and closed the connection
            self.close_connection = True

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.server.mark_reset(self.connection)
        self.close_connection = True
        self.wfile.close()
        self.wfile = io.BytesIO()  # whatever the base class still flushes goes nowhere


def serve_main(
    argv: Sequence[str] | None,
    *,
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    build: Callable[[argparse.Namespace], FakeServer],
) -> int:
    """Run a fake until SIGTERM/SIGINT; print its URL as the first line of stdout."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--state-file", help="rewrite this JSON file with the fake's state after every request"
    )
    parser.add_argument(
        "--seed", help='JSON file: a list of {"op": ..., "args": {...}} applied before serving'
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    fake = build(args)
    fake.state_file = args.state_file
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with fake:
        if args.seed:
            with open(args.seed, encoding="utf-8") as f:
                for item in json.load(f):
                    fake.control(item["op"], item.get("args", {}))
        fake._write_state_file()
        print(fake.url, flush=True)
        while not stop.wait(0.2):
            pass
    return 0
