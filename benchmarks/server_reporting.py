"""Server-side reporting benchmarks (issue 12's targets). Prints numbers, asserts nothing.

    .venv/bin/python benchmarks/server_reporting.py [--runs N] [--eval-seconds S]

- runner time per eval, `wait: false` against `wait: true`: the real `evals-action run` (a child
  process, as in a workflow step) against `evals-action serve` on loopback, GitHub a fake. The
  eval is simulated: its rollout finishes `--eval-seconds` (default 3) after the run starts, and
  a 60 s eval is estimated as the measured time minus S plus 60 (the wait only grows with the
  eval; `wait: false` does not wait for it at all);
- webhook delivery → run started: a signed `deployment_status` delivery POSTed to
  `/api/v1/github/webhooks` until the rollout's `/init` (median of N);
- GitHub requests per eval: made by the action alone (`wait: true`), and by the action plus the
  server (`wait: false`).

Targets: the `wait: false` step ends in under 5 s; delivery → run started under 200 ms; no more
GitHub requests with the server reporting than the action makes alone. Numbers go in
docs/performance.md.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import pathlib
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from benchmarks import server_common  # noqa: E402
from evals_action.server import app, config, keys, serving, store  # noqa: E402
from tests.fakes import env as fake_env  # noqa: E402
from tests.fakes.events import event_payload  # noqa: E402
from tests.fakes.github import FakeGitHub  # noqa: E402

SHA = "0123456789abcdef0123456789abcdef01234567"
PR = 42
VERBOSE = "--verbose" in sys.argv
SECRET = "whsec-bench-0123456789"  # noqa: S105  (a benchmark's webhook secret)


def _settings(github: FakeGitHub) -> config.ServerConfig:
    raw: dict[str, Any] = {
        "server": {"poll_interval_seconds": 0.2, "long_poll_max_seconds": 30},
        "prompts": [
            {
                "id": "bench",
                "text": "Open http://app.example.com.",
                "rollout": {"target": "remote", "url": "http://127.0.0.1:9"},
            }
        ],
        "github": {"api_url": github.url, "token_env": "T", "webhook_secret_env": "S"},
        "webhooks": {
            "repositories": [
                {"repository": github.full_name, "prompts": ["bench"], "deployment_status": True}
            ]
        },
    }
    return config.parse(raw=raw, environ={"T": github.token, "S": SECRET})


class _Served:
    def __init__(self, github: FakeGitHub, tmp: pathlib.Path) -> None:
        self.rollouts = server_common.Rollouts()
        database = tmp / "bench.sqlite3"
        db = store.Store(path=database)
        _, self.key = keys.create(store=db, name="bench")
        db.close()
        sock = serving.listen(host="127.0.0.1", port=0)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.app = app.create_app(
            database=database,
            settings=_settings(github),
            public_url=self.url,
            client_factory=self.rollouts.factory,
        )
        self.background = serving.Background(app=self.app, sock=sock)


def _finish_later(served: _Served, *, after: float, known: int) -> threading.Thread:
    """Finish the next run's rollout `after` seconds after it starts."""

    def work() -> None:
        while len(served.rollouts.started) <= known:
            time.sleep(0.005)
        time.sleep(after)
        run_id = list(served.rollouts.started)[known]
        served.rollouts.finish(served.rollouts.started[run_id])

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def runner_time(
    served: _Served, github: FakeGitHub, tmp: pathlib.Path, *, wait: bool, after: float, n: int
) -> tuple[float, int, int]:
    """(seconds the step ran, GitHub requests by the step, by the step and the server), on a
    fresh pull request each time (its own number and head commit)."""
    sha = f"{n:040x}"
    github.add_pull(number=PR + n, head_sha=sha)
    env = fake_env.cli_env(
        workdir=tmp / str(n),
        github=github,
        event=event_payload("pull_request.opened", pr_number=PR + n, head_sha=sha),
        EVALS_API_BASE_URL=served.url,
        EVALS_API_KEY=served.key,
        EVALS_PROMPT_ID="bench",
        EVALS_URL_MAP='{"app.example.com": "https://pr-42.preview.example.dev"}',
        EVALS_POLL_INTERVAL_SECONDS="0.2",
        EVALS_WAIT="true" if wait else "false",
    )
    github.clear_requests()
    before = _finals(github, sha)
    finisher = _finish_later(served, after=after, known=len(served.rollouts.started))
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "evals_action", "run"], env=env, capture_output=True, check=True
    )
    took = time.perf_counter() - start
    by_step = len(github.requests)
    finisher.join()
    deadline = time.monotonic() + 30
    while _finals(github, sha) <= before:  # with wait: false the server's report lands later
        if time.monotonic() > deadline:
            raise SystemExit("the final status was never written")
        time.sleep(0.01)
    while "Running" in github.comments(PR + n)[0]["body"]:  # the server's comment update
        if time.monotonic() > deadline:
            raise SystemExit("the final comment was never written")
        time.sleep(0.01)
    time.sleep(0.2)  # nothing more is sent; a margin before counting
    if VERBOSE:
        print(wait, [f"{r.method} {r.route or r.path}" for r in github.requests])
    return took, by_step, len(github.requests)


def _finals(github: FakeGitHub, sha: str) -> int:
    return len([s for s in github.statuses(sha) if s["state"] != "pending"])


def delivery_to_start(served: _Served, github: FakeGitHub, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        payload = event_payload("deployment_status.created", head_sha=SHA)
        payload["deployment_status"]["target_url"] = "https://pr-42.preview.example.dev"
        raw = json.dumps(payload).encode()
        headers = {
            "X-Hub-Signature-256": "sha256="
            + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest(),
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-GitHub-Event": "deployment_status",
            "Content-Type": "application/json",
        }
        known = len(served.rollouts.started)
        start = time.perf_counter()
        requests.post(f"{served.url}/api/v1/github/webhooks", data=raw, headers=headers, timeout=10)
        while len(served.rollouts.started) <= known:
            time.sleep(0.0005)
        samples.append(time.perf_counter() - start)
        run_id = list(served.rollouts.started)[known]
        served.rollouts.finish(served.rollouts.started[run_id])
        time.sleep(0.5)  # its report, before the next delivery
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--eval-seconds", type=float, default=3.0)
    parser.add_argument("--verbose", action="store_true", help="list each run's GitHub calls")
    args = parser.parse_args()
    with FakeGitHub() as github, tempfile.TemporaryDirectory() as tmp_name:
        github.add_pull(number=PR, head_sha=SHA)
        tmp = pathlib.Path(tmp_name)
        served = _Served(github, tmp)
        with served.background:
            for wait in (True, False):
                rows = [
                    runner_time(
                        served, github, tmp, wait=wait, after=args.eval_seconds, n=n + 10 * wait
                    )
                    for n in range(1, args.runs + 1)
                ]
                took = server_common.median([r[0] for r in rows])
                scaled = took - args.eval_seconds + 60 if wait else took
                print(
                    f"wait: {str(wait).lower():5}  step {took:.2f} s for a {args.eval_seconds:g} s "
                    f"eval → {scaled:.1f} s for a 60 s eval; GitHub requests: step "
                    f"{server_common.median([float(r[1]) for r in rows]):.0f}, step + server "
                    f"{server_common.median([float(r[2]) for r in rows]):.0f}"
                )
            starts = delivery_to_start(served, github, max(5, args.runs * 3))
            ms = sorted(s * 1000 for s in starts)
            print(
                f"webhook delivery → run started: median {server_common.median(ms):.0f} ms "
                f"(min {ms[0]:.0f}, max {ms[-1]:.0f}, n={len(ms)})"
            )


if __name__ == "__main__":
    main()
