"""Request bodies are capped, extreme but valid input gets 400, and the event loop never blocks.

Bodies over `[server] max_body_bytes` get 413 without the server reading them whole: a declared
`Content-Length` is refused before a byte of the body is sent, a chunked body at the first chunk
over the cap. Database calls and page rendering run on worker threads: while one is stuck (a
store whose method waits at a gate the test opens), `/healthz` still answers.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from evals_action.server import schema, store

from .conftest import WAIT, FakeRollouts, Running, running_server, settings

CAP = 1000


@pytest.fixture
def capped(tmp_path: Path, rollouts: FakeRollouts) -> Iterator[Running]:
    with running_server(
        database=tmp_path / "evals.sqlite3",
        settings_=settings(max_body_bytes=CAP),
        client_factory=rollouts.factory,
    ) as running:
        yield running


def _raw(server: Running, head: str, *chunks: bytes) -> tuple[int, dict[str, Any]]:
    """Send a request by hand (head, then body chunks) and read the answer; body left open."""
    where = urlsplit(server.url)
    with socket.create_connection((where.hostname, where.port), timeout=WAIT) as sock:
        sock.sendall(head.encode("ascii"))
        for chunk in chunks:
            sock.sendall(chunk)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        head_bytes, _, body = answer.partition(b"\r\n\r\n")
        lines = head_bytes.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
        while len(body) < int(headers["content-length"]):
            body += sock.recv(65536)
    return int(lines[0].split()[1]), {"type": headers["content-type"], **json.loads(body)}


def _post_head(server: Running, *, length: str) -> str:
    return (
        "POST /api/v1/prompts/signup/run HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {server.key}\r\nContent-Type: application/json\r\n{length}\r\n"
    )


def test_a_declared_oversized_body_gets_413_before_any_of_it_is_sent(capped: Running) -> None:
    """100 MB announced, nothing sent: the answer comes at once, the server read no body."""
    status, body = _raw(capped, _post_head(capped, length="Content-Length: 100000000\r\n"))
    assert status == 413
    assert body == {
        "type": "application/json",
        "error": f"Request body is larger than {CAP} bytes (the server's [server] "
        "max_body_bytes); send a smaller body",
    }
    assert capped.db.list_runs(prompt_id=None, report_status=None, limit=5, offset=0) == []


def test_a_chunked_body_is_cut_off_at_the_first_chunk_over_the_cap(capped: Running) -> None:
    """No length announced: the server counts what streams in and answers 413 mid-body."""
    chunk = b"[" * 600
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    head = _post_head(capped, length="Transfer-Encoding: chunked\r\n")
    status, body = _raw(capped, head, framed, framed)  # 1,200 bytes, and never the last chunk
    assert status == 413
    assert body["type"] == "application/json"
    assert body["error"].startswith(f"Request body is larger than {CAP} bytes")


def test_a_body_at_the_cap_is_accepted(capped: Running) -> None:
    payload = {"templateArgs": {"project_name": "demo"}, "pad": ""}
    payload["pad"] = "x" * (CAP - len(json.dumps(payload)))
    data = json.dumps(payload).encode()
    assert len(data) == CAP
    response = capped.session().post(
        f"{capped.url}/api/v1/prompts/signup/run", data=data, timeout=WAIT
    )
    assert response.status_code == 201, response.text


class GatedStore(store.Store):
    """A real store whose reads and `create_run` wait at a gate: a disk that hangs."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.closed_gate = False
        self.entered = threading.Event()
        self.gate = threading.Event()

    def _wait(self) -> None:
        if self.closed_gate:
            self.entered.set()
            assert self.gate.wait(WAIT), "the test never opened the gate"

    def list_runs(self, **kwargs: Any) -> list[schema.RunRow]:
        self._wait()
        return super().list_runs(**kwargs)

    def get_run(self, *, run_id: str) -> schema.RunRow | None:
        self._wait()
        return super().get_run(run_id=run_id)

    def create_run(self, *, new: schema.NewRun) -> tuple[schema.RunRow, bool, list[str]]:
        self._wait()
        return super().create_run(new=new)


def _call(server: Running, path: str) -> requests.Response:
    method, _, path = path.rpartition(" ")
    body = {"templateArgs": {"project_name": "x"}} if method == "POST" else None
    return server.session().request(method or "GET", server.url + path, json=body, timeout=WAIT)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api/v1/runs",
        "/runs/some-run",
        "/api/v1/runs/some-run?wait=5",
        "POST /api/v1/prompts/signup/run",
    ],
)
def test_healthz_answers_while_a_database_call_is_stuck(
    tmp_path: Path, rollouts: FakeRollouts, path: str
) -> None:
    """The page or API call waits on the store; /healthz answers before it is let go."""
    opened: list[GatedStore] = []

    def open_store(**kwargs: Any) -> GatedStore:
        opened.append(GatedStore(**kwargs))
        return opened[0]

    with running_server(
        database=tmp_path / "evals.sqlite3",
        settings_=settings(),
        client_factory=rollouts.factory,
        open_store=open_store,
    ) as server:
        gated = opened[0]
        gated.closed_gate = True
        slow: list[requests.Response] = []
        caller = threading.Thread(target=lambda: slow.append(_call(server, path)))
        caller.start()
        assert gated.entered.wait(WAIT)
        health = requests.get(f"{server.url}/healthz", timeout=WAIT)
        still_waiting = caller.is_alive()
        gated.gate.set()
        caller.join(WAIT)
    assert health.json() == {"ok": True}
    assert still_waiting, "healthz only answered after the stuck call was let go"
    assert slow[0].status_code in (200, 201, 404)


# --- valid but extreme input ------------------------------------------------------------------


def _start(server: Running, data: bytes | str) -> requests.Response:
    return server.session().post(
        f"{server.url}/api/v1/prompts/signup/run",
        data=data,
        headers={"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())},
        timeout=WAIT,
    )


def _bad(response: requests.Response) -> str:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    error: str = response.json()["error"]
    return error


def test_an_offset_beyond_sqlite_integers_is_400(shared_server: Running) -> None:
    url = f"{shared_server.url}/api/v1/runs"
    session = shared_server.session()
    assert session.get(url, params={"offset": 2**63 - 1}, timeout=WAIT).json() == []
    error = _bad(session.get(url, params={"offset": 2**63}, timeout=WAIT))
    assert error == "limit must be 1-100 and offset 0-9223372036854775807"


@pytest.mark.parametrize("number", [2**63, 10**30, 0, -1])
def test_a_pull_request_number_out_of_range_is_400(shared_server: Running, number: int) -> None:
    body = {"templateArgs": {"project_name": "x"}, "context": {"repository": "o/r"}}
    body["context"]["pullRequest"] = number  # type: ignore[index]
    error = _bad(_start(shared_server, json.dumps(body)))
    assert error == "context.pullRequest must be a pull request number, 1-9223372036854775807"


def test_the_largest_pull_request_number_is_stored(shared_server: Running) -> None:
    context = {"repository": "o/r", "pullRequest": 2**63 - 1}
    response = _start(
        shared_server, json.dumps({"templateArgs": {"project_name": "x"}, "context": context})
    )
    assert response.status_code == 201
    assert shared_server.run(response.json()["runId"])["context"]["pullRequest"] == 2**63 - 1


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_deeply_nested_json_is_400(shared_server: Running, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    data = '{"templateArgs": {"project_name": "x"}, "extra": ' + nested + "}"
    assert _bad(_start(shared_server, data)) == (
        "Request body is nested more than 32 levels deep; send a flatter object"
    )


@pytest.mark.parametrize(
    "data",
    [
        '{"templateArgs": {"project_name": "\\ud800"}}',
        '{"templateArgs": {"project_name": "x", "\\udfff": "y"}}',
        '{"templateArgs": {"project_name": "x"}, "extra": ["\\ud83d"]}',
    ],
)
def test_a_lone_surrogate_is_400(shared_server: Running, data: str) -> None:
    assert _bad(_start(shared_server, data)) == (
        "Request body has a lone surrogate (an unpaired \\ud800-\\udfff escape); "
        "send valid Unicode text"
    )


def test_nan_is_400(shared_server: Running) -> None:
    data = '{"templateArgs": {"project_name": "x"}, "extra": NaN}'
    assert _bad(_start(shared_server, data)) == (
        "Request body has NaN, which is not a JSON number; send a finite number"
    )


def test_a_lone_surrogate_stored_earlier_does_not_break_the_run(shared_server: Running) -> None:
    """A row an older server stored keeps working: the API and the run page answer 200."""
    run_id = f"old-{uuid.uuid4()}"
    shared_server.db.create_run(
        new=schema.NewRun(
            run_id=run_id,
            prompt_id="signup",
            request={"urlMap": {}, "templateArgs": {"project_name": "x", "\ud800": "y"}},
            idempotency_key=None,
            repository=None,
            pull_request=None,
            sha=None,
            prompt_title="Sign up",
            prompt_text="text",
        )
    )
    api = shared_server.session().get(f"{shared_server.url}/api/v1/runs/{run_id}", timeout=WAIT)
    assert api.status_code == 200
    assert api.json()["runId"] == run_id
    page = requests.get(f"{shared_server.url}/runs/{run_id}", timeout=WAIT)
    assert page.status_code == 200
