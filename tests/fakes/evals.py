"""FakeEvals: the evals REST API of the action contract (section 3), as the managed service runs it.

Routes: `POST /api/v1/prompts/{promptId}/run`, `GET /api/v1/runs/{runId}`,
`GET /api/v1/runs?promptId&reportStatus&limit&offset`, `GET /api/v1/prompts/{promptId}`.

Scripting: `script(prompt_id, steps)` makes every run created for that prompt answer its
successive GETs with successive steps (the last repeats). A step is a partial Run dict (runId,
statusUrl, runUrl and prompt are filled in) or a `Fault`. Without a script a run answers
`running`, then `completed` with `DEFAULT_REPORT`. `start_faults([...])` answers the next POSTs
with faults before any run is created (unless a fault says `after_create`).

Echoing credentials (a server bug the action must survive): in any string of a Run it answers
(a scripted step, a prompt's title or text), `ECHO_API_KEY` is replaced by the bearer key that
request carried, as a server that quotes the key back in an error message would.

Long polling (`long_poll=True`, or a number of seconds): run GETs carry `X-Evals-Long-Poll: <max>`
and honour `?wait=N` like a real server holding the request: steps whose status equals the one
the client saw last are passed over at once (the state did not change while held) and the first
changed step is answered; when the script has nothing new and the run is not finished, the
request is held for N seconds (cut short by `release()` or `stop()`) and then answered with the
unchanged state. `holds` records each hold.

Contract checks (appended to `violations`, the request is still answered): a missing or malformed
`Authorization` (a well-formed Bearer with the wrong key is only a 401), `Accept` without
`application/json`, a `User-Agent` not starting with `evals-action/`, a POST without
`Idempotency-Key` or not JSON, a body key other than urlMap/templateArgs/context (`templateVars`
by name), an empty `templateArgs`, `?wait` beyond what was advertised.

Suites: `run_seconds=S` keeps every run `running` for S seconds after its creation before its
script goes on (runs with durations); `runs` records each run's `createdT` and `finishedT` (when a
terminal state was first answered, `time.monotonic()`), so tests can tell whether two runs of one
prompt overlapped. `suites=True` advertises `X-Evals-Suites: 1` (runs of one step never supersede
each other, suites-contract §6) on every answer to the API, and then, like our server, answers
`GET /api/v1/runs?branch=default` with only the runs whose `context.pullRequest` is empty (a
seeded baseline run gives its `context`; a created run lists the context it was started with).

Run standalone with `python -m tests.fakes.evals --port 0 [--state-file F]`; see `main`.
"""

from __future__ import annotations

import copy
import dataclasses
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from tests.fakes._http import FakeServer, RecordedRequest, Reply, serve_main

DEFAULT_API_KEY = "evals_test_key_123"
ECHO_API_KEY = "{echo:api-key}"
DEFAULT_LONG_POLL = 30
TERMINAL = frozenset({"completed", "failed", "superseded"})
ALLOWED_BODY_KEYS = frozenset({"urlMap", "templateArgs", "context"})
DEFAULT_REPORT: dict[str, Any] = {
    "slug": "checkout-flow",
    "url": "https://2027.dev/evals/reports/checkout-flow",
    "score": 87,
    "grade": "B+",
    "outcome": "succeeded",
    "nullNotice": None,
    "keyFinding": "The agent completed checkout on the preview",
    "summary": {"whatDidnt": ""},
    "verdict": "Succeeded: the flow works end to end.",
    "metrics": {
        "time": "2m 14s",
        "timeSeconds": 134,
        "cost": "$0.12",
        "costUsd": 0.12,
        "errors": 1,
        "interruptions": 0,
    },
    "dimensions": [],
}
DEFAULT_SCRIPT: tuple[dict[str, Any], ...] = (
    {"status": "running"},
    {"status": "completed", "report": DEFAULT_REPORT},
)


@dataclasses.dataclass(frozen=True)
class Fault:
    """An answer other than the scripted one: an error status, a reset socket, a slow reply.

    `body` (JSON) defaults to `{"error": <reason phrase>}`; `raw_body` replaces it with bytes or
    text sent as is (say a proxy's HTML page); `delay` holds the answer to trigger read timeouts;
    `drip` sends the body a byte at a time, `drip` seconds apart (with `drip_headers`, the status
    line and headers too), like a stalled server that a read timeout never catches;
    `reset` closes the socket with a TCP reset and no answer; `after_create` (POST only) lets the
    run be created before the fault is answered, as when a response is lost on the way back.
    """

    status: int = 503
    body: Any = None
    headers: Mapping[str, str] | None = None
    reset: bool = False
    delay: float = 0.0
    raw_body: bytes | str | None = None
    after_create: bool = False
    drip: float = 0.0
    drip_headers: bool = False

    def reply(self) -> Reply:
        headers = dict(self.headers or {})
        if self.raw_body is not None:
            raw = self.raw_body.encode() if isinstance(self.raw_body, str) else self.raw_body
            headers.setdefault("Content-Type", "text/html; charset=utf-8")
            body: Any = raw
        else:
            body = self.body if self.body is not None else {"error": HTTPStatus(self.status).phrase}
        return Reply(
            self.status,
            body,
            headers,
            delay=self.delay,
            reset=self.reset,
            drip=self.drip,
            drip_headers=self.drip_headers,
        )


Step = Mapping[str, Any] | Fault


@dataclasses.dataclass
class _Run:
    run_id: str
    prompt_id: str
    steps: list[Step]
    created_t: float
    idempotency_key: str | None
    body: dict[str, Any]
    cursor: int = 0
    gets: int = 0
    last: dict[str, Any] | None = None  # the Run JSON the client saw last
    finished_t: float | None = None  # when a terminal state was first answered


class FakeEvals(FakeServer):
    """The evals API with scripted runs, faults, idempotency and contract checks."""

    control_ops = frozenset(
        {
            "add_prompt",
            "script",
            "start_faults",
            "listing_faults",
            "add_baseline_runs",
            "clear_requests",
            "take_violations",
            "gate",
            "release_gate",
        }
    )
    server_header = "evals-fake"

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        long_poll: bool | int = False,
        run_seconds: float = 0.0,
        suites: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key
        self.long_poll_max = (
            0 if long_poll is False else DEFAULT_LONG_POLL if long_poll is True else int(long_poll)
        )
        self.run_seconds = run_seconds
        self.suites = suites
        self._prompts: dict[str, dict[str, Any]] = {}
        self._scripts: dict[str, list[Step]] = {}
        self._runs: dict[str, _Run] = {}
        self._by_key: dict[str, str] = {}
        self._keys_seen: list[str | None] = []
        self._start_faults: deque[Fault] = deque()
        self._listing_faults: deque[Fault] = deque()
        self._baselines: list[dict[str, Any]] = []
        self._holds: list[dict[str, Any]] = []

    # --- seeding -------------------------------------------------------------------------------

    def add_prompt(
        self, *, prompt_id: str, title: str, text: str, required_vars: Sequence[str] = ()
    ) -> None:
        """A prompt runs can be started for; `required_vars` must come in `templateArgs`."""
        with self._lock:
            self._prompts[prompt_id] = {
                "id": prompt_id,
                "title": title,
                "text": text,
                "templateVars": list(required_vars),
            }

    def script(self, prompt_id: str, steps: Iterable[Step | Mapping[str, Any]]) -> None:
        """What runs of this prompt answer to successive GETs (the last step repeats). Over the
        control route a fault is written `{"fault": {...Fault fields...}}`."""
        converted = [_step(s) for s in steps]
        if not converted:
            raise ValueError("a script needs at least one step")
        with self._lock:
            self._scripts[prompt_id] = converted

    def start_faults(self, faults: Iterable[Fault | Mapping[str, Any]]) -> None:
        """Answer the next POSTs to `/run` with these faults, one each, in order."""
        with self._lock:
            self._start_faults.extend(
                f if isinstance(f, Fault) else _fault(f.get("fault", f)) for f in faults
            )

    def listing_faults(self, faults: Iterable[Fault | Mapping[str, Any]]) -> None:
        """Answer the next `GET /api/v1/runs` listings with these faults, one each, in order."""
        with self._lock:
            self._listing_faults.extend(
                f if isinstance(f, Fault) else _fault(f.get("fault", f)) for f in faults
            )

    def add_baseline_runs(self, runs: Iterable[Mapping[str, Any]]) -> None:
        """Earlier runs for `GET /api/v1/runs`, newest first; missing Run fields are filled in
        (`reportStatus` defaults to `published`, `status` to `completed`)."""
        with self._lock:
            for run in runs:
                run_id = str(run.get("runId") or uuid.uuid4())
                prompt_id = str(run.get("promptId", ""))
                filled = {
                    **self._run_base(run_id, prompt_id),
                    "status": "completed",
                    "reportStatus": "published",
                    **copy.deepcopy(dict(run)),
                }
                filled["runId"] = run_id
                self._baselines.append(filled)

    # --- inspection ----------------------------------------------------------------------------

    @property
    def idempotency_keys(self) -> list[str | None]:
        """The `Idempotency-Key` of every POST to `/run`, in order (None when missing)."""
        with self._lock:
            return list(self._keys_seen)

    @property
    def runs(self) -> list[dict[str, Any]]:
        """Each run created: runId, promptId, the POST body, its key, GETs answered, last state."""
        with self._lock:
            return [
                {
                    "runId": r.run_id,
                    "promptId": r.prompt_id,
                    "body": copy.deepcopy(r.body),
                    "idempotencyKey": r.idempotency_key,
                    "gets": r.gets,
                    "last": copy.deepcopy(r.last),
                    "createdT": r.created_t,
                    "finishedT": r.finished_t,
                }
                for r in self._runs.values()
            ]

    @property
    def holds(self) -> list[dict[str, Any]]:
        """Each long-poll GET that was held: runId, wait asked, seconds held."""
        with self._lock:
            return [dict(h) for h in self._holds]

    def release(self) -> None:
        """End every held long poll now."""
        with self._changed:
            self._changed.notify_all()

    def _state_extra(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "idempotency_keys": self.idempotency_keys,
            "holds": self.holds,
            "prompts": list(self._prompts.values()),
        }

    # --- request handling ----------------------------------------------------------------------

    def _handle(self, request: RecordedRequest, raw: bytes) -> Reply:
        reply = self._route(request)
        if self.suites:
            reply.headers = {**(reply.headers or {}), "X-Evals-Suites": "1"}
        return reply

    def _route(self, request: RecordedRequest) -> Reply:
        parts = [unquote(p) for p in request.path.split("/")]
        authorized = self._check_headers(request)
        if not authorized:
            return Reply(401, {"error": "unauthorized"})
        method = request.method
        if method == "POST" and len(parts) == 6 and parts[1:4] == ["api", "v1", "prompts"]:
            return self._start(request, parts[4]) if parts[5] == "run" else _not_found()
        if method == "GET" and parts[1:4] == ["api", "v1", "runs"]:
            if len(parts) == 5:
                return self._get_run(request, parts[4])
            if len(parts) == 4:
                return self._list_runs(request)
        if method == "GET" and len(parts) == 5 and parts[1:4] == ["api", "v1", "prompts"]:
            prompt = self._prompts.get(parts[4])
            return Reply(200, prompt) if prompt else Reply(404, {"error": "Prompt not found"})
        return _not_found()

    def _check_headers(self, request: RecordedRequest) -> bool:
        where = f"{request.method} {request.path}"
        auth = request.header("authorization")
        scheme, _, key = (auth or "").partition(" ")
        if scheme != "Bearer" or not key.strip():
            self._violations.append(
                f"{where}: Authorization must be 'Bearer <api-key>', got {_shown(auth)}"
            )
        accept = request.header("accept") or ""
        if "application/json" not in accept:
            self._violations.append(f"{where}: Accept must be application/json, got {accept!r}")
        agent = request.header("user-agent") or ""
        if not agent.startswith("evals-action/"):
            self._violations.append(
                f"{where}: User-Agent must start with 'evals-action/', got {agent!r}"
            )
        return scheme == "Bearer" and key.strip() == self.api_key

    def _start(self, request: RecordedRequest, prompt_id: str) -> Reply:
        key = request.header("idempotency-key")
        self._keys_seen.append(key)
        body = self._check_start_body(request, key)
        fault = self._start_faults.popleft() if self._start_faults else None
        if fault is not None and not fault.after_create:
            return fault.reply()
        if body is None:
            return Reply(400, {"error": "Request body must be a JSON object with urlMap"})
        prompt = self._prompts.get(prompt_id)
        if prompt is None:
            return Reply(404, {"error": "Prompt not found"})
        given = body.get("templateArgs")
        args: dict[str, Any] = given if isinstance(given, dict) else {}
        missing = [v for v in prompt["templateVars"] if args.get(v) in (None, "")]
        if missing:
            return Reply(400, {"error": f"Missing template vars: {', '.join(missing)}"})
        run_id = self._by_key.get(key) if key else None
        if run_id is None:
            run_id = self._create(prompt_id, key, body)
        answer = {
            key_: self._run_base(run_id, prompt_id)[key_]
            for key_ in ("runId", "statusUrl", "runUrl")
        }
        return fault.reply() if fault is not None else Reply(200, answer)

    def _check_start_body(self, request: RecordedRequest, key: str | None) -> dict[str, Any] | None:
        where = f"POST {request.path}"
        if not key:
            self._violations.append(f"{where}: no Idempotency-Key header")
        if "application/json" not in (request.header("content-type") or ""):
            self._violations.append(f"{where}: Content-Type must be application/json")
        body = request.json
        if not isinstance(body, dict):
            self._violations.append(f"{where}: body is not a JSON object: {request.body[:200]!r}")
            return None
        for extra in sorted(set(body) - ALLOWED_BODY_KEYS):
            hint = (
                " (the API takes templateArgs; never send templateVars)"
                if extra == "templateVars"
                else ""
            )
            self._violations.append(f"{where}: unexpected body key {extra!r}{hint}")
        if not isinstance(body.get("urlMap"), dict):
            self._violations.append(
                f"{where}: urlMap must be a JSON object, got {body.get('urlMap')!r}"
            )
            return None
        if "templateArgs" in body and (
            not isinstance(body["templateArgs"], dict) or not body["templateArgs"]
        ):
            self._violations.append(
                f"{where}: templateArgs must be left out unless it is a non-empty object"
            )
        if "context" in body and not isinstance(body["context"], dict):
            self._violations.append(f"{where}: context must be a JSON object")
        return body

    def _create(self, prompt_id: str, key: str | None, body: dict[str, Any]) -> str:
        run_id = str(uuid.uuid4())
        steps = self._scripts.get(prompt_id, list(DEFAULT_SCRIPT))
        self._runs[run_id] = _Run(
            run_id=run_id,
            prompt_id=prompt_id,
            steps=list(steps),
            created_t=time.monotonic(),
            idempotency_key=key,
            body=copy.deepcopy(body),
        )
        if key:
            self._by_key[key] = run_id
        return run_id

    def _run_base(self, run_id: str, prompt_id: str) -> dict[str, Any]:
        prompt = self._prompts.get(prompt_id, {"title": "", "text": ""})
        return {
            "runId": run_id,
            "status": "pending",
            "statusUrl": f"{self.url}/api/v1/runs/{run_id}",
            "runUrl": f"{self.url}/runs/{run_id}",
            "failureReason": None,
            "prompt": {"title": prompt["title"], "text": prompt["text"]},
            "report": None,
        }

    def _get_run(self, request: RecordedRequest, run_id: str) -> Reply:
        run = self._runs.get(run_id)
        if run is None:
            return Reply(404, {"error": "Run not found"})
        run.gets += 1
        if time.monotonic() - run.created_t < self.run_seconds:
            run.last = {**self._run_base(run.run_id, run.prompt_id), "status": "running"}
            return Reply(200, run.last)
        wait = self._wait_seconds(request)
        step = self._next_step(run, skip_unchanged=wait is not None)
        if step is None and wait is not None and not _terminal(run.last):
            step = self._hold(run, wait)
        if step is None:
            step = run.steps[min(run.cursor, len(run.steps)) - 1]
        headers = {"X-Evals-Long-Poll": str(self.long_poll_max)} if self.long_poll_max else {}
        if isinstance(step, Fault):
            reply = step.reply()
            reply.headers = {**headers, **reply.headers}
            return reply
        run.last = {**self._run_base(run.run_id, run.prompt_id), **copy.deepcopy(dict(step))}
        if _terminal(run.last) and run.finished_t is None:
            run.finished_t = time.monotonic()
        key = (request.header("authorization") or "").partition(" ")[2]
        return Reply(200, _echo(run.last, key), headers)

    def _next_step(self, run: _Run, *, skip_unchanged: bool) -> Step | None:
        """Consume the next step; with `skip_unchanged`, pass over steps whose status the client
        already saw and answer None when the script offers nothing new."""
        while True:
            if run.cursor >= len(run.steps):
                if skip_unchanged:
                    return None
                return run.steps[-1]
            step = run.steps[run.cursor]
            run.cursor += 1
            unchanged = (
                not isinstance(step, Fault)
                and run.last is not None
                and step.get("status", "pending") == run.last.get("status")
            )
            if not (skip_unchanged and unchanged):
                return step
            if run.cursor >= len(run.steps):
                return None

    def _hold(self, run: _Run, wait: float) -> Step | None:
        started = time.monotonic()
        self._changed.wait(timeout=wait)
        held = time.monotonic() - started
        self._holds.append({"runId": run.run_id, "wait": wait, "held": round(held, 3)})
        return self._next_step(run, skip_unchanged=False) if run.cursor < len(run.steps) else None

    def _wait_seconds(self, request: RecordedRequest) -> float | None:
        raw = request.query.get("wait")
        if raw is None:
            return None
        where = f"GET {request.path}?wait={raw}"
        try:
            wait = float(raw)
        except ValueError:
            self._violations.append(f"{where}: wait must be a number of seconds")
            return None
        if not self.long_poll_max:
            self._violations.append(f"{where}: the server did not advertise X-Evals-Long-Poll")
            return None
        if not 0 < wait <= self.long_poll_max:
            self._violations.append(f"{where}: wait must be in (0, {self.long_poll_max}]")
            wait = min(max(wait, 0.0), float(self.long_poll_max))
        return wait

    def _list_runs(self, request: RecordedRequest) -> Reply:
        if self._listing_faults:
            return self._listing_faults.popleft().reply()
        query = request.query
        prompt_id = query.get("promptId")
        if not prompt_id:
            return Reply(400, {"error": "promptId is required"})
        try:
            limit = int(query.get("limit", "20"))
            offset = int(query.get("offset", "0"))
        except ValueError:
            return Reply(400, {"error": "limit and offset must be integers"})
        if not 0 < limit <= 100 or offset < 0:
            return Reply(400, {"error": "limit must be 1-100 and offset >= 0"})
        created = [self._listed(r) for r in reversed(self._runs.values()) if r.last is not None]
        every = [r for r in created + self._baselines if r.get("promptId", prompt_id) == prompt_id]
        if "reportStatus" in query:
            every = [r for r in every if r.get("reportStatus") == query["reportStatus"]]
        branch = query.get("branch")
        if self.suites and branch:  # as our server (suites-contract §6): runs without a PR
            if branch != "default":
                return Reply(400, {"error": "branch must be 'default' or left out"})
            every = [r for r in every if (r.get("context") or {}).get("pullRequest") is None]
        return Reply(200, copy.deepcopy(every[offset : offset + limit]))

    def _listed(self, run: _Run) -> dict[str, Any]:
        last = run.last or {}
        published = last.get("status") == "completed" and last.get("report") is not None
        context = run.body.get("context") or {}
        return {
            **last,
            "context": {k: context.get(k) for k in ("repository", "pullRequest", "sha")},
            "promptId": run.prompt_id,
            "reportStatus": "published" if published else "pending",
        }


def _terminal(run: Mapping[str, Any] | None) -> bool:
    return run is not None and run.get("status") in TERMINAL


def _not_found() -> Reply:
    return Reply(404, {"error": "Not found"})


def _step(step: Step | Mapping[str, Any]) -> Step:
    if isinstance(step, Fault):
        return step
    if "fault" in step:
        return _fault(step["fault"])
    return dict(step)


def _echo(value: Any, key: str) -> Any:
    """`value` with `ECHO_API_KEY` replaced by `key` in every string."""
    if isinstance(value, str):
        return value.replace(ECHO_API_KEY, key)
    if isinstance(value, dict):
        return {k: _echo(v, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_echo(v, key) for v in value]
    return value


def _fault(fields: Mapping[str, Any]) -> Fault:
    return Fault(**dict(fields))


def _shown(value: str | None) -> str:
    if value is None:
        return "nothing"
    scheme = value.partition(" ")[0]
    return f"{scheme!r} + {len(value) - len(scheme)} more characters"


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m tests.fakes.evals --port 0 --state-file state.json`: serve until killed."""

    def add_arguments(parser: Any) -> None:
        parser.add_argument("--api-key", default=DEFAULT_API_KEY)
        parser.add_argument(
            "--long-poll", type=int, default=0, help="advertise long polling up to N seconds"
        )

    def build(args: Any) -> FakeServer:
        return FakeEvals(
            api_key=args.api_key, long_poll=args.long_poll or False, host=args.host, port=args.port
        )

    return serve_main(argv, description=__doc__ or "", add_arguments=add_arguments, build=build)


if __name__ == "__main__":
    raise SystemExit(main())
