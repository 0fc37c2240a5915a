"""The loopback fakes (tests/fakes) as separate processes, driven over their control routes.

act runs the action in a child process tree, so the fakes cannot live in the test's own process
state: each is started with ``python -m tests.fakes.<name>``, prints its URL on the first line, and
is seeded and inspected with ``POST /_fake/<op>`` and ``GET /_fake/state``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import urllib.request
from types import TracebackType
from typing import Any
from urllib.parse import unquote

ROOT = pathlib.Path(__file__).resolve().parents[2]


@dataclasses.dataclass
class FakeProcess:
    """One fake server process."""

    process: subprocess.Popen[str]
    url: str
    log: pathlib.Path

    @classmethod
    def start(cls, *, module: str, log: pathlib.Path, args: tuple[str, ...] = ()) -> FakeProcess:
        stderr = log.open("w", encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        stderr.close()
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            process.kill()
            process.wait()
            raise AssertionError(f"{module} did not print its URL: {url!r}\n{log.read_text()}")
        return cls(process=process, url=url, log=log)

    @property
    def root(self) -> str:
        """scheme://host:port, without any path prefix the fake's URL carries."""
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"

    def op(self, name: str, **kwargs: Any) -> Any:
        """Call a control operation (seed a PR, queue a run state, ...)."""
        request = urllib.request.Request(
            f"{self.root}/_fake/{name}",
            data=json.dumps(kwargs).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def state(self) -> dict[str, Any]:
        """Everything the fake recorded (``GET /_fake/state``)."""
        with urllib.request.urlopen(f"{self.root}/_fake/state", timeout=10) as response:
            state = json.loads(response.read())
        assert isinstance(state, dict)
        return state

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> FakeProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# --- what the tests read and seed ----------------------------------------------------------------

GITHUB_TOKEN = "ghs_e2eToken5c1f0d7a"  # noqa: S105 (fake) — the fake GitHub accepts only this one
_START = re.compile(r"/api/v1/prompts/(?P<prompt>[^/]+)/run$")
_RUN = re.compile(r"/api/v1/runs/(?P<run>[^/?]+)$")


def started_runs(evals: FakeProcess) -> list[dict[str, Any]]:
    """Every accepted ``POST .../prompts/{id}/run``: its prompt id and JSON body, in order."""
    started = []
    for request in evals.state()["requests"]:
        match = _START.search(request["path"])
        if request["method"] == "POST" and match and 200 <= request["status"] < 300:
            started.append({"promptId": unquote(match["prompt"]), **(request["json"] or {})})
    return started


def polled_runs(evals: FakeProcess) -> list[str]:
    """The run id of every ``GET .../runs/{id}``, in order."""
    return [
        unquote(match["run"])
        for request in evals.state()["requests"]
        if request["method"] == "GET" and (match := _RUN.search(request["path"]))
    ]


EVALS_API_KEY = "evk_e2eKey9b3e2c41"
REPORT = {
    "slug": "sign-up-pr-12",
    "url": "https://2027.dev/evals/reports/sign-up-pr-12",
    "score": 87,
    "grade": "B+",
    "outcome": "succeeded",
    "keyFinding": "The agent signed up and created a project on the preview",
    "metrics": {"time": "2m 14s", "timeSeconds": 134, "cost": "$0.12", "costUsd": 0.12},
}
BASELINE_REPORT = {**REPORT, "slug": "sign-up-main", "score": 80, "grade": "B"}


def seed_prompt(
    evals: FakeProcess,
    *,
    prompt_id: str,
    title: str,
    fail: str | None = None,
    never_finish: bool = False,
) -> None:
    """A prompt whose runs complete at once with REPORT (or fail, or never finish).

    The recipes keep the default 20 s poll interval, so a run that needed a second poll would cost
    every test 20 s; the GET right after the POST answers the final state instead.
    """
    evals.op("add_prompt", prompt_id=prompt_id, title=title, text=f"On the docs site: {title}.")
    if fail is not None:
        steps: list[dict[str, Any]] = [{"status": "failed", "failureReason": fail}]
    elif never_finish:
        steps = [{"status": "running"}]
    else:
        steps = [{"status": "completed", "report": REPORT}]
    evals.op("script", prompt_id=prompt_id, steps=steps)
    evals.op("add_baseline_runs", runs=[{"promptId": prompt_id, "report": BASELINE_REPORT}])
