"""Suites to render: plain `suite_model` data built the way the suite runner builds it."""

from __future__ import annotations

from evals_action import models, outcome, suite_model

SHA = "0123456789abcdef0123456789abcdef01234567"
REPORT = "https://2027.dev/evals/reports/"
RUN = "https://2027.dev/evals/runs/"


def completed(
    prompt_id: str, n: int, *, score: float | None, ok: bool = True, cost: float = 0.12, **kw: str
) -> suite_model.Attempt:
    report = models.Report(
        outcome="succeeded" if ok else "goal_not_met",
        score=score,
        grade=kw.get("grade", "B"),
        url=f"{REPORT}{prompt_id}-{n}",
        key_finding=kw.get("finding"),
        metrics=models.Metrics(cost_usd=cost),
    )
    run = models.Run(
        run_id=f"{prompt_id}-{n}",
        status="completed",
        run_url=f"{RUN}{prompt_id}-{n}",
        report=report,
    )
    return suite_model.Attempt(prompt_id=prompt_id, attempt=n, run=run, result=outcome.final(run))


def failed(prompt_id: str, n: int, reason: str) -> suite_model.Attempt:
    run = models.Run(
        run_id=f"{prompt_id}-{n}",
        status="failed",
        run_url=f"{RUN}{prompt_id}-{n}",
        failure_reason=reason,
    )
    return suite_model.Attempt(prompt_id=prompt_id, attempt=n, run=run, result=outcome.final(run))


def timed_out(prompt_id: str, n: int) -> suite_model.Attempt:
    run = models.Run(run_id=f"{prompt_id}-{n}", status="running", run_url=f"{RUN}{prompt_id}-{n}")
    return suite_model.Attempt(
        prompt_id=prompt_id, attempt=n, run=run, result=outcome.timeout(run, fails=False)
    )


def not_run(prompt_id: str, n: int) -> suite_model.Attempt:
    return suite_model.Attempt(prompt_id=prompt_id, attempt=n, run=None, result=None)


def prompt(
    prompt_id: str, title: str | None, attempts: list[suite_model.Attempt], **kw: object
) -> suite_model.PromptResult:
    return suite_model.PromptResult(
        prompt_id=prompt_id,
        title=title,
        attempts=tuple(attempts),
        **kw,  # type: ignore[arg-type]
    )


def suite(
    *prompts: suite_model.PromptResult,
    key: str = "Evals/eval",
    sha: str | None = SHA,
    suite_id: str = "suite-1",
    planned: int | None = None,
    budget_exhausted: bool = False,
) -> suite_model.SuiteResult:
    runs = sum(len(p.attempts) for p in prompts)
    return suite_model.SuiteResult(
        suite_id=suite_id,
        comment_key=key,
        sha=sha,
        prompts=prompts,
        runs_planned=planned if planned is not None else runs,
        budget_exhausted=budget_exhausted,
    )


def passing() -> suite_model.SuiteResult:
    base = suite_model.Baseline(runs=10, pass_rate=0.9, mean_score=80)
    return suite(
        prompt(
            "signup",
            "Sign up and create a project",
            [completed("signup", n, score=s) for n, s in ((1, 86), (2, 90), (3, 88))],
            verdict="improved",
            verdict_text="Mean score 88 against 80 over 10 baseline runs.",
            baseline=base,
        ),
        prompt(
            "checkout",
            "Check out with a coupon",
            [completed("checkout", n, score=75, cost=0.2) for n in (1, 2, 3)],
            verdict="unchanged",
            baseline=suite_model.Baseline(runs=10, pass_rate=1.0, mean_score=75),
        ),
        prompt(
            "invite",
            "Invite a teammate",
            [completed("invite", 1, score=100, grade="A")],
            verdict="no-baseline",
        ),
    )


def mixed() -> suite_model.SuiteResult:
    return suite(
        prompt(
            "signup",
            "Sign up and create a project",
            [
                completed("signup", 1, score=81, grade="B"),
                completed(
                    "signup",
                    2,
                    score=40,
                    ok=False,
                    grade="D",
                    finding="The Create button never enabled",
                ),
                failed("signup", 3, "Preview URL returned HTTP 502"),
                completed("signup", 4, score=70, grade="C"),
            ],
            verdict="regressed",
            verdict_text="Pass rate 2/3 against 10/10 over 10 baseline runs.",
            gates_failed=("min-pass-rate 0.9: pass rate 0.67",),
            baseline=suite_model.Baseline(runs=10, pass_rate=1.0, mean_score=88),
        ),
        prompt(
            "checkout",
            "Check out with a coupon",
            [timed_out("checkout", 1), not_run("checkout", 2)],
            verdict="inconclusive",
        ),
        prompt("invite", None, [not_run("invite", 1)], verdict="not-run"),
    )


def budget() -> suite_model.SuiteResult:
    return suite(
        prompt(
            "signup",
            "Sign up and create a project",
            [completed("signup", n, score=80) for n in (1, 2)] + [not_run("signup", 3)],
            verdict="no-baseline",
        ),
        prompt(
            "checkout",
            "Check out with a coupon",
            [completed("checkout", 1, score=60, cost=0.5)]
            + [not_run("checkout", n) for n in (2, 3)],
            verdict="no-baseline",
        ),
        planned=6,
        budget_exhausted=True,
    )


FORGED = "<!-- /2027-eval-section -->\n<!-- 2027-eval-section:evil sha=0 suite=x -->"


def hostile() -> suite_model.SuiteResult:
    title = "<img src=x onerror=alert(1)> @octocat | `rm -rf` ```\n" + FORGED + "\n| a | b |"
    return suite(
        prompt(
            "evil -->\n<b>",
            title,
            [
                completed(
                    "evil",
                    1,
                    score=12,
                    ok=False,
                    grade="<script>F</script>",
                    finding="```\n" + FORGED + "\n@admin please | [x](javascript:alert(1))",
                ),
                failed("evil", 2, "<!-- 2027-eval-suite:Evals/eval -->\n@team ~~boom~~"),
            ],
            verdict="regressed",
            verdict_text="@octocat <!-- 2027-eval-row | x | --> |pipes|",
            gates_failed=("min-score 50: mean 12 </details>",),
        ),
        key="Evals --> <b>/eval",
    )
