"""Server-rendered pages: dashboard, run page (`runUrl`), report page (`report.url`).

Templates are package data (`server/templates/*.j2`) rendered with autoescaping and
`StrictUndefined`; every value from a run, an agent or a config reaches HTML escaped. Each page
gets a small view model built here, so the templates only lay things out. The dashboard's charts
are inline SVG computed here: no JavaScript at all.

The pages are public, so unless the config sets `[pages] show_template_values = true`, a run's
`templateArgs` values (a password, say) are shown as `{{name}}` wherever they appear: the
targets table, the prompt, the agent's answer, the checks, the failure reason and the agent's
trace (`_trace.j2`: its steps, with screenshots served from `/runs/{id}/files/`).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import jinja2

from evals_action.server import config, schema, store, traces

if TYPE_CHECKING:  # suite_pages builds on this module; only its types are needed here
    from evals_action.server import suite_pages

CHART_WIDTH = 420
CHART_HEIGHT = 130
CHART_PAD = 10
CHART_AXIS = 30  # room on the left for the 0/50/100 labels
CHART_FOOT = 18  # room below for the first and last dates
RECENT_RUNS = 15
HIDDEN = "(hidden)"  # a template var's value on a public page, unless the config shows them

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("evals_action.server", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def iso(timestamp: float) -> str:
    when = datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def human_time(timestamp: float) -> str:
    when = datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M UTC")


@dataclasses.dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    href: str


@dataclasses.dataclass(frozen=True)
class Chart:
    width: int
    height: int
    points: Sequence[Point]
    first: str = ""  # date under the left end
    last: str = ""  # date under the right end

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def left(self) -> int:
        return CHART_AXIS

    @property
    def right(self) -> int:
        return self.width - CHART_PAD

    @property
    def bottom(self) -> int:
        return self.height - CHART_FOOT

    def y_for(self, score: float) -> float:
        return CHART_PAD + (100 - score) / 100 * (self.bottom - CHART_PAD)


def chart(*, runs: Sequence[schema.RunRow]) -> Chart:
    """Score (0-100, up is better) against time, oldest on the left."""
    blank = Chart(width=CHART_WIDTH, height=CHART_HEIGHT, points=())
    if not runs:
        return blank
    first, last = runs[0].created_at, runs[-1].created_at
    span = last - first
    usable = blank.right - blank.left
    points = []
    for index, run in enumerate(runs):
        score = float(run.score or 0)
        if span > 0:
            share = (run.created_at - first) / span
        else:
            share = index / (len(runs) - 1) if len(runs) > 1 else 0.5
        points.append(
            Point(
                x=blank.left + share * usable,
                y=blank.y_for(score),
                label=f"{score:g} · {human_time(run.created_at)}",
                href=f"/runs/{run.run_id}",
            )
        )
    return dataclasses.replace(
        blank, points=tuple(points), first=_day(first), last=_day(last) if span > 0 else ""
    )


def _day(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc).strftime("%b %d")


def hider(*, run: schema.RunRow, show_values: bool) -> Callable[[Any], Any]:
    """A function that shows each template var's value in a text as `{{name}}` (or changes
    nothing when `show_values`); values are matched whole, not inside longer words."""
    args = {str(k): str(v) for k, v in (run.request.get("templateArgs") or {}).items() if v}
    if show_values or not args:
        return lambda text: text
    by_value = {v: k for k, v in sorted(args.items(), key=lambda kv: len(kv[1]), reverse=True)}
    pattern = re.compile(
        "|".join(
            rf"(?<!\w){re.escape(v)}(?!\w)" if v[0].isalnum() and v[-1].isalnum() else re.escape(v)
            for v in by_value
        )
    )

    def hide(text: Any) -> Any:
        if not isinstance(text, str):
            return text
        return pattern.sub(lambda m: "{{" + by_value[m.group(0)] + "}}", text)

    return hide


def run_view(run: schema.RunRow, *, show_values: bool) -> dict[str, Any]:
    report = run.report or {}
    hide = hider(run=run, show_values=show_values)
    args = dict(run.request.get("templateArgs") or {})
    return {
        "id": run.run_id,
        "title": run.prompt_title,
        "prompt_id": run.prompt_id,
        "status": run.status,
        "in_flight": run.in_flight,
        "created": human_time(run.created_at),
        "failure_reason": hide(run.failure_reason),
        "prompt_text": hide(run.prompt_text),
        "context": run_context(run),
        "url_map": dict(run.request.get("urlMap") or {}),
        "template_args": {k: str(v) if show_values else HIDDEN for k, v in args.items()},
        "superseded_by": run.superseded_by,
        "report_href": f"/reports/{run.report_slug}" if run.report_slug else None,
        "score": report.get("score"),
        "grade": report.get("grade"),
        "outcome": report.get("outcome"),
        "key_finding": hide(report.get("keyFinding")),
    }


def run_context(run: schema.RunRow) -> str | None:
    """Where a run comes from, for people: `o/r#5 · abcdef1`."""
    parts = []
    if run.repository:
        parts.append(run.repository + (f"#{run.pull_request}" if run.pull_request else ""))
    if run.sha:
        parts.append(run.sha[:7])
    return " · ".join(parts) or None


def _metrics(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    metrics = report.get("metrics") or {}
    rows = [
        ("Time", metrics.get("time")),
        ("Cost", metrics.get("cost")),
        ("Errors", metrics.get("errors")),
        ("Interruptions", metrics.get("interruptions")),
    ]
    return [(label, str(value)) for label, value in rows if value is not None]


def run(
    *,
    run: schema.RunRow,
    show_values: bool,
    suite: suite_pages.SuiteGroup | None = None,
    trace: Mapping[str, Any] | None = None,
) -> str:
    """The run page; `suite` is the step it belongs to if any, `trace` the agent's steps."""
    view = {**run_view(run, show_values=show_values), "trace": _trace(run, trace, show_values)}
    return _env.get_template("run.j2").render(run=view, suite=suite)


def _trace(
    run: schema.RunRow, trace: Mapping[str, Any] | None, show_values: bool
) -> list[dict[str, Any]]:
    """The agent's steps for `_trace.j2`, template values hidden like everywhere else."""
    trace = trace or {}
    hide = hider(run=run, show_values=show_values)
    failed = (
        traces.failing_step(trace) if (run.report or {}).get("outcome") != "succeeded" else None
    )
    return [
        {
            **step,
            "args": {k: hide(v) for k, v in step["args"].items()},
            "summary": hide(step["summary"]),
            "error": hide(step["error"]),
            "shot": f"/runs/{run.run_id}/files/{step['screenshot']}"
            if step["screenshot"]
            else None,
            "failed": step["index"] == failed,
        }
        for step in trace.get("steps") or []
    ]


def report(*, run: schema.RunRow, show_values: bool, trace: Mapping[str, Any] | None = None) -> str:
    data = run.report or {}
    hide = hider(run=run, show_values=show_values)
    checks = [c for c in data.get("dimensions") or [] if isinstance(c, Mapping)]
    view = {
        **run_view(run, show_values=show_values),
        "verdict": data.get("verdict"),
        "metrics": _metrics(data),
        "checks": [
            {**c, "name": hide(c.get("name")), "detail": hide(c.get("detail"))} for c in checks
        ],
        "answer": hide(data.get("answer")),
        "trace": _trace(run, trace, show_values),
    }
    return _env.get_template("report.j2").render(run=view)


def dashboard(
    *,
    db: store.Store,
    settings: config.ServerConfig,
    suites: Sequence[suite_pages.SuiteGroup] = (),
) -> str:
    """The dashboard; `suites` are the recent steps, newest first."""
    prompts = []
    for prompt in settings.prompts.values():
        history = db.score_history(prompt_id=prompt.id)
        prompts.append(
            {
                "id": prompt.id,
                "title": prompt.title,
                "chart": chart(runs=history),
                "latest": history[-1].score if history else None,
                "count": len(history),
            }
        )
    recent = [
        run_view(r, show_values=settings.show_template_values)
        for r in db.list_runs(prompt_id=None, report_status=None, limit=RECENT_RUNS, offset=0)
    ]
    return _env.get_template("dashboard.j2").render(prompts=prompts, recent=recent, suites=suites)


def not_found(*, what: str) -> str:
    return _env.get_template("not_found.j2").render(what=what)
