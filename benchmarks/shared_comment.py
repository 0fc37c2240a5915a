"""GitHub requests of the shared suite comment (issue 10's target: at most 4 comment requests per
writer when uncontended). Prints numbers; asserts nothing but that every writer's section ended
up in the one comment.

    .venv/bin/python benchmarks/shared_comment.py [--writers 1,3,10]

W writers (threads, each with its own PyGithub façade, as matrix legs have) upsert one section
each into one `comment-key` at the same moment, with the real jitter and settle delays, against
the fake GitHub: comment requests per writer (mean and max), other requests (`GET /user`, the
PR's head), comments left, wall time.
"""

from __future__ import annotations

import argparse
import pathlib
import random
import statistics
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals_action import (  # noqa: E402
    github_api,
    github_suite_comment,
    suite_comment,
    suite_sections,
    transport,
)
from tests.fakes.github import FakeGitHub  # noqa: E402
from tests.unit import suite_fixtures as fx  # noqa: E402

PR = 1
KEY = "bench"


def one_round(writers: int) -> dict[str, float]:
    with FakeGitHub() as fake:
        fake.add_pull(number=PR, head_sha=fx.SHA)
        barrier = threading.Barrier(writers)
        agents: dict[int, str] = {}

        def write(n: int) -> None:
            gh = github_api.GitHub(
                token=fake.token,
                api_url=fake.url,
                repository=fake.full_name,
                user_agent=f"{transport.USER_AGENT} writer-{n}",
            )
            prompt = fx.prompt(f"p{n}", f"Prompt {n}", [fx.completed(f"p{n}", 1, score=80)])
            shared = github_suite_comment.SharedComment(
                github=lambda: gh,
                issue_number=PR,
                comment_key=KEY,
                sleep=time.sleep,
                rand=random.uniform,
            )
            agents[n] = f"{transport.USER_AGENT} writer-{n}"
            barrier.wait()
            shared.upsert(suite_comment.sections(fx.suite(prompt, key=KEY)))

        start = time.perf_counter()
        threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - start
        comments = [
            c for c in fake.comments(PR) if suite_comment.is_ours(c["body"], comment_key=KEY)
        ]
        assert len(comments) == 1, comments
        found = {s.prompt_id for s in suite_sections.parse(comments[0]["body"])}
        assert found == {f"p{n}" for n in range(writers)}, found
        per_writer = [
            sum(
                1
                for r in fake.requests
                if r.header("user-agent") == agent and "/comments" in r.route
            )
            for agent in agents.values()
        ]
        others = sum(1 for r in fake.requests if "/comments" not in r.route)
        return {
            "mean": statistics.mean(per_writer),
            "max": max(per_writer),
            "others": others,
            "wall": wall,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writers", default="1,3,10")
    args = parser.parse_args()
    for writers in (int(w) for w in args.writers.split(",")):
        result = one_round(writers)
        print(
            f"{writers:>3} writers: comment requests per writer mean {result['mean']:.1f}, "
            f"max {result['max']:.0f}; other requests {result['others']:.0f}; "
            f"one comment with all {writers} sections; {result['wall']:.1f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
