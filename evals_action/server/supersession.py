"""Which in-flight runs a new run supersedes (suites-contract §6), inside the caller's
transaction (`store.Store.create_run`).

A new run supersedes the `pending` and `running` runs of its prompt, repository and pull
request that belong to other steps started no later than its own. A step is one invocation of
the action: its runs share `context.suite`, and it starts with its first run; a run without a
suite is a step of its own, started when it was created. So runs of one step never supersede
each other, an older step's late run (a retry, an extra attempt) never supersedes a newer
step's runs, and a run without a suite supersedes every older in-flight run, as the action
contract has it.

Runs without a pull request whose report the server writes (a deployment or status webhook for a
commit no open PR has, say) supersede by commit instead: the in-flight server-reported runs of
their prompt, repository and commit, which would write the same status on the same commit.
Runs the action reports itself are never superseded that way (its step would write "superseded"
on that very commit).
"""

from __future__ import annotations

import sqlite3

from evals_action.server import schema

SUPERSEDED = (
    "SELECT o.run_id FROM runs AS o WHERE o.prompt_id = :prompt AND o.repository = :repo "
    "AND (o.pull_request = :pr OR (:pr IS NULL AND o.pull_request IS NULL AND o.sha = :sha "
    "AND o.run_id IN (SELECT run_id FROM server_reports))) "
    "AND o.status IN ('pending', 'running') "
    "AND (o.suite IS NULL OR :suite IS NULL OR o.suite <> :suite) "
    "AND COALESCE((SELECT MIN(x.created_at) FROM runs AS x WHERE x.suite = o.suite), "
    "o.created_at) <= :step_start"
)


def by_commit(new: schema.NewRun) -> bool:
    """Whether `new`, without a pull request, supersedes by commit (the module doc)."""
    return new.pull_request is None and bool(new.sha) and bool(new.request.get("report"))


def supersede(*, conn: sqlite3.Connection, new: schema.NewRun, now: float) -> list[str]:
    """Mark the runs `new` supersedes (`SUPERSEDED`) and return their ids."""
    step_start = now
    if new.suite is not None:
        first = conn.execute("SELECT MIN(created_at) FROM runs WHERE suite = ?", (new.suite,))
        step_start = first.fetchone()[0] or now
    superseded = [
        r["run_id"]
        for r in conn.execute(
            SUPERSEDED,
            {
                "prompt": new.prompt_id,
                "repo": new.repository,
                "pr": new.pull_request,
                "sha": new.sha,
                "suite": new.suite,
                "step_start": step_start,
            },
        )
    ]
    conn.executemany(
        "UPDATE runs SET status = 'superseded', superseded_by = ?, updated_at = ?, "
        "finished_at = ? WHERE run_id = ?",
        [(new.run_id, now, now, run_id) for run_id in superseded],
    )
    return superseded
