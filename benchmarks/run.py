"""Start-up and request-count benchmarks for the action (issue 2's targets). Prints numbers.

    .venv/bin/python benchmarks/run.py [--runs N]

- `--help` wall time (median of N child processes);
- time from process start to the first evals API request (median of N);
- GitHub requests per eval: fresh PR, PR with 250 comments (first run), and the same PR with
  our comment already on it (a re-run);
- the action's install step: cold (empty cache) and warm (cached venv reused).

Targets on the reference machine (2 cores): `--help` < 0.15 s, first request < 0.6 s, at most 5
GitHub requests per eval on a fresh PR. Results go in docs/performance.md. No thresholds are
asserted anywhere: machines are shared and noisy, so compare medians from the same run.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes import env as fake_env  # noqa: E402
from tests.fakes.evals import FakeEvals  # noqa: E402
from tests.fakes.events import event_payload  # noqa: E402
from tests.fakes.github import FakeGitHub  # noqa: E402

PROMPT = "bench-prompt"
SHA = "0123456789abcdef0123456789abcdef01234567"
MARKER = f"<!-- 2027-eval-comment:{PROMPT} -->"


def median_ms(samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return f"{statistics.median(ms):.0f} ms (min {min(ms):.0f}, max {max(ms):.0f}, n={len(ms)})"


def help_time(runs: int) -> list[float]:
    cli = ROOT / ".venv" / "bin" / "evals-action"
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([str(cli), "--help"], capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return samples


def first_request_time(runs: int, *, mode: str) -> list[float]:
    """From spawning `evals-action run` to the evals API seeing the POST. `mode` is `local`
    (no GitHub at all) or `action` (a pull_request event, GitHub fake, as in a workflow)."""
    samples = []
    with FakeEvals() as evals, FakeGitHub() as github, tempfile.TemporaryDirectory() as tmp:
        github.add_pull(number=42, head_sha=SHA)
        evals.add_prompt(prompt_id=PROMPT, title="Bench", text="x")
        evals.script(PROMPT, [{"status": "completed", "report": {"outcome": "succeeded"}}])
        payload = event_payload("pull_request.opened", pr_number=42, head_sha=SHA)
        for i in range(runs):
            extra: dict[str, Any] = (
                {"GITHUB_ACTIONS": None}
                if mode == "local"
                else {"github": github, "event": payload}
            )
            env = fake_env.cli_env(
                workdir=pathlib.Path(tmp) / str(i),
                evals=evals,
                EVALS_PROMPT_ID=PROMPT,
                EVALS_URL_MAP='{"a.com": "https://b.dev"}',
                EVALS_SKIP_COMMENT="true",
                EVALS_SKIP_STATUS="true",
                **extra,
            )
            evals.clear_requests()
            args = ["run", "--local"] if mode == "local" else ["run"]
            start = time.monotonic()
            subprocess.run(
                [str(ROOT / ".venv" / "bin" / "evals-action"), *args],
                env=env,
                capture_output=True,
                check=True,
                cwd=tmp,
            )
            samples.append(evals.requests[0].t - start)
    return samples


def github_requests(*, comments: int, ours: bool) -> tuple[int, list[str]]:
    with FakeGitHub() as github, FakeEvals() as evals, tempfile.TemporaryDirectory() as tmp:
        github.add_pull(number=42, head_sha=SHA)
        for i in range(comments - (1 if ours else 0)):
            github.add_comment(issue_number=42, body=f"comment {i}", user_login="someone")
        if ours:
            github.add_comment(
                issue_number=42, body=MARKER + "\nold", user_login="github-actions[bot]"
            )
        evals.add_prompt(prompt_id=PROMPT, title="Bench", text="x")
        evals.script(
            PROMPT,
            [{"status": "running"}, {"status": "completed", "report": {"outcome": "succeeded"}}],
        )
        env = fake_env.cli_env(
            workdir=pathlib.Path(tmp),
            github=github,
            evals=evals,
            event=event_payload("pull_request.opened", pr_number=42, head_sha=SHA),
            EVALS_PROMPT_ID=PROMPT,
            EVALS_URL_MAP='{"a.com": "https://b.dev"}',
            EVALS_POLL_INTERVAL_SECONDS="0.05",
        )
        subprocess.run(
            [sys.executable, "-m", "evals_action", "run"],
            env=env,
            capture_output=True,
            check=True,
            cwd=tmp,
        )
        calls = [f"{r.method} {r.route or r.path}" for r in github.requests]
        return len(calls), calls


def install_times() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as cache:
        env = {
            **os.environ,
            "EVALS_ACTION_PATH": str(ROOT),
            "EVALS_ACTION_CACHE_DIR": cache,
            "GITHUB_OUTPUT": os.devnull,
        }
        times = []
        for _ in range(2):
            start = time.perf_counter()
            subprocess.run(
                ["bash", str(ROOT / "scripts" / "install-action.sh")],
                env=env,
                capture_output=True,
                check=True,
            )
            times.append(time.perf_counter() - start)
        return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--skip-install", action="store_true", help="skip the cold install (needs PyPI)"
    )
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"evals-action --help:                  {median_ms(help_time(args.runs))}")
    for mode in ("local", "action"):
        samples = first_request_time(args.runs, mode=mode)
        print(f"start → first evals API request ({mode}): {median_ms(samples)}")
    for label, comments, ours in (
        ("fresh PR", 0, False),
        ("PR with 250 comments, first run", 250, False),
        ("PR with 250 comments incl. ours", 250, True),
    ):
        count, calls = github_requests(comments=comments, ours=ours)
        print(f"GitHub requests per eval, {label}: {count}")
        for call in calls:
            print(f"    {call}")
    if not args.skip_install:
        cold, warm = install_times()
        print(f"action install step: cold {cold:.1f} s, warm (cached venv) {warm:.2f} s")


if __name__ == "__main__":
    main()
