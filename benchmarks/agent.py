"""The agent's own cost per step, excluding the model, and a whole scripted demo rollout.

    .venv/bin/python benchmarks/agent.py [--runs N]

- per step, from the traces of N scripted rollouts of the demo task against the demo preview site
  (the stand-in model answers at once, so what is left is the agent): an HTTP step
  (`http_request`), a browser step (type or click, settle, accessibility snapshot, screenshot),
  the browser's start (the first `browser_navigate`), and a model step (the loop's round trip to
  the loopback stand-in: the agent's bookkeeping plus JSON both ways);
- the whole `evals-action demo` (server, preview, agent with Chromium, the action CLI), wall time.

Targets on the reference machine (2 cores): an HTTP step under 150 ms, a browser step under
500 ms. Results go in docs/agent.md. Medians of N; no thresholds are asserted anywhere.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals_action.agent import rollouts, scripted  # noqa: E402
from evals_action.demo.examples import preview_site  # noqa: E402
from evals_action.server import serving  # noqa: E402


def median_ms(samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return f"{statistics.median(ms):.0f} ms (min {min(ms):.0f}, max {max(ms):.0f}, n={len(ms)})"


def one_rollout(chromium: str) -> list[dict[str, Any]]:
    model = scripted.Model(script=scripted.demo_script)
    with (
        serving.Background(app=preview_site.create_app()) as site,
        serving.Background(app=model.app()) as stand_in,
    ):
        request = {
            "completion_params": {"model": "scripted"},
            "messages": [{"role": "user", "content": f'Test {site.url}: sign up, create "demo".'}],
            "tools": None,
            "model_base_url": f"{stand_in.url}/v1",
            "metadata": {"rollout_id": "bench", "url_map": {"app.example.com": site.url}},
            "api_key": None,
        }
        finished = rollouts.execute(request=request, settings=rollouts.Settings(chromium=chromium))
    steps: list[dict[str, Any]] = finished.result["trace"]["steps"]
    assert all(s["ok"] for s in steps), steps
    return steps


def demo_time() -> float:
    start = time.perf_counter()
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "evals-action"), "demo"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("needs Chromium on PATH (Debian: apt-get install chromium)")
    kinds: dict[str, list[float]] = {"http": [], "browser": [], "launch": [], "model": []}
    for _ in range(args.runs):
        for step in one_rollout(chromium):
            name = step["name"]
            if name == "http_request":
                kinds["http"].append(step["seconds"])
            elif name == "browser_navigate":
                kinds["launch"].append(step["seconds"])
            elif name.startswith("browser_"):
                kinds["browser"].append(step["seconds"])
            else:
                kinds["model"].append(step["seconds"])
    print(f"HTTP step (target < 150 ms):    {median_ms(kinds['http'])}")
    print(f"browser step (target < 500 ms): {median_ms(kinds['browser'])}")
    print(f"browser start + first page:     {median_ms(kinds['launch'])}")
    print(f"model step, stand-in model:     {median_ms(kinds['model'])}")
    print(f"evals-action demo, end to end:  {median_ms([demo_time() for _ in range(args.runs)])}")


if __name__ == "__main__":
    main()
