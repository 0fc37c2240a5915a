"""Runs per second `evals-action serve` accepts (`POST /api/v1/prompts/{id}/run` → 201).

Each accepted run is stored (SQLite, WAL, synchronous=FULL) and handed to the runner, whose
rollouts here cost nothing and stay running, so the number is the API's own cost. Prints the
median of several rounds, for one client and for several concurrent clients.

    .venv/bin/python benchmarks/server_throughput.py [--runs 300] [--rounds 5] [--clients 8]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import time
import uuid

import requests
from server_common import median, server


def post_runs(*, url: str, key: str, count: int) -> None:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {key}"
        for _ in range(count):
            response = session.post(
                f"{url}/api/v1/prompts/bench/run",
                json={"urlMap": {"app.example.com": "https://p.dev"}},
                headers={"Idempotency-Key": str(uuid.uuid4())},
                timeout=30,
            )
            response.raise_for_status()


def one_round(*, runs: int, clients: int) -> float:
    with server(poll_interval=60) as (url, key, _):
        post_runs(url=url, key=key, count=10)  # warm up connections and caches
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
            for future in [
                pool.submit(post_runs, url=url, key=key, count=runs // clients)
                for _ in range(clients)
            ]:
                future.result()
        return (runs // clients * clients) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    for clients in (1, args.clients):
        rates = [one_round(runs=args.runs, clients=clients) for _ in range(args.rounds)]
        print(
            f"accepted runs/s, {clients} client(s), {args.runs} runs x {args.rounds} rounds: "
            f"median {median(rates):.0f} (min {min(rates):.0f}, max {max(rates):.0f})"
        )


if __name__ == "__main__":
    main()
