"""Latency from a run finishing to the action's client seeing it, with and without long polling.

The client is the action's own `EvalsApiBackend`. "Finishing" is the moment the server's runner
first sees the rollout done; the latency ends when `fetch` returns the completed run.
Without long polling the client sleeps a fixed interval between polls (the action's default is
20 s; this uses `--interval` so it runs quickly), so the expected latency is about half the
interval. With long polling the client holds `?wait=30` and the server answers on the change.
Prints medians of several runs.

    .venv/bin/python benchmarks/server_latency.py [--repeat 7] [--interval 2]
"""

from __future__ import annotations

import argparse
import random
import threading
import time
import uuid

from server_common import median, server

from evals_action import models, transport
from evals_action.backends import evals_api


def one_run(*, url: str, key: str, rollouts, long_poll: bool, interval: float) -> float:  # type: ignore[no-untyped-def]
    backend = evals_api.EvalsApiBackend(session=transport.new_session(), base_url=url, api_key=key)
    started = backend.start(
        request=models.StartRequest(
            prompt_id="bench", url_map={}, template_args=None, idempotency_key=str(uuid.uuid4())
        )
    )
    backend.fetch(run_id=started.run_id)  # learns X-Evals-Long-Poll
    while started.run_id not in rollouts.started:
        time.sleep(0.001)
    rollout_id = rollouts.started[started.run_id]
    # Finish at a random moment relative to the client's polling rhythm.
    delay = random.uniform(0.2, 0.2 + interval)  # noqa: S311 - timing jitter, not crypto
    threading.Timer(delay, rollouts.finish, (rollout_id,)).start()
    while True:
        run = backend.fetch(run_id=started.run_id, wait_seconds=30 if long_poll else 0)
        if run.terminal:
            return time.perf_counter() - rollouts.seen_done[rollout_id]
        if not long_poll:
            time.sleep(interval)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args()
    with server(poll_interval=0.05) as (url, key, rollouts):
        for long_poll in (False, True):
            samples = [
                one_run(
                    url=url, key=key, rollouts=rollouts, long_poll=long_poll, interval=args.interval
                )
                for _ in range(args.repeat)
            ]
            label = "long polling (wait=30)" if long_poll else f"polling every {args.interval:g} s"
            print(
                f"finish → client sees it, {label}: median {median(samples) * 1000:.0f} ms "
                f"(min {min(samples) * 1000:.0f}, max {max(samples) * 1000:.0f}, "
                f"n={len(samples)})"
            )


if __name__ == "__main__":
    main()
