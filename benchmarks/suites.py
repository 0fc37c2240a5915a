"""Suite benchmarks (issue 10's targets). Prints numbers; asserts nothing.

    .venv/bin/python benchmarks/suites.py [--runs N] [--concurrency C]

- wall time of a 10-prompt × 3-repeat suite against the fake evals API with 1 s runs, against
  the ideal `ceil(30 / concurrency) × 1 s` (target: under 1.3×), median of N child processes.
  Against the fake (which does not advertise `X-Evals-Suites`) runs of one prompt never overlap;
  with 10 prompts and concurrency ≤ 10 that does not lengthen the ideal;
- the runs phase alone (first run created → last run finished, at the fake), against the same
  ideal: the runner's own overhead, without start-up and the GitHub writes after the runs;
- GitHub requests per suite on a fresh PR (target: O(prompts) statuses + at most 4 comment
  requests when uncontended).
"""

from __future__ import annotations

import argparse
import math
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes import env as fake_env  # noqa: E402
from tests.fakes.evals import FakeEvals  # noqa: E402
from tests.fakes.events import event_payload  # noqa: E402
from tests.fakes.github import FakeGitHub  # noqa: E402

SHA = "0123456789abcdef0123456789abcdef01234567"
PROMPTS = [f"bench-{i:02d}" for i in range(10)]
REPEATS = 3
RUN_SECONDS = 1.0


def one_suite(*, concurrency: int) -> tuple[float, float, Counter[str]]:
    with FakeGitHub() as github, FakeEvals(run_seconds=RUN_SECONDS) as evals:
        github.add_pull(number=7, head_sha=SHA)
        for p in PROMPTS:
            evals.add_prompt(prompt_id=p, title=f"Prompt {p}", text="Open {{url}}.")
        with tempfile.TemporaryDirectory() as tmp:
            env = fake_env.cli_env(
                workdir=pathlib.Path(tmp),
                github=github,
                evals=evals,
                event=event_payload("pull_request.opened", pr_number=7, head_sha=SHA),
                EVALS_PROMPT_ID=",".join(PROMPTS),
                EVALS_REPEATS=str(REPEATS),
                EVALS_CONCURRENCY=str(concurrency),
                EVALS_URL_MAP='{"a.example.com": "https://pr-7.example.dev"}',
                EVALS_POLL_INTERVAL_SECONDS="0.05",
            )
            began = time.monotonic()
            subprocess.run(
                [sys.executable, "-m", "evals_action", "run"],
                env=env,
                check=True,
                capture_output=True,
                cwd=tmp,
            )
            wall = time.monotonic() - began
        runs = evals.runs
        phase = max(r["finishedT"] for r in runs) - min(r["createdT"] for r in runs)
        kinds = Counter(_kind(r.method, r.route or r.path) for r in github.requests)
    return wall, phase, kinds


def _kind(method: str, route: str) -> str:
    if "/statuses/" in route:
        return "statuses"
    if "comments" in route or route == "/user":
        return "comment"
    return f"other {method} {route}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    walls, phases, kinds = [], [], Counter[str]()
    for _ in range(args.runs):
        wall, phase, kinds = one_suite(concurrency=args.concurrency)
        walls.append(wall)
        phases.append(phase)
    ideal = math.ceil(len(PROMPTS) * REPEATS / args.concurrency) * RUN_SECONDS
    median = statistics.median(walls)
    print(f"suite 10 prompts × {REPEATS} repeats, {RUN_SECONDS:g} s runs, c={args.concurrency}")
    print(f"  wall (median of {args.runs}): {median:.2f} s; ideal {ideal:.2f} s")
    print(f"  ratio {median / ideal:.2f} (target < 1.3)")
    runs = statistics.median(phases)
    print(f"  runs phase (median): {runs:.2f} s; ratio {runs / ideal:.2f}")
    print(f"  GitHub requests per suite: {dict(sorted(kinds.items()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
