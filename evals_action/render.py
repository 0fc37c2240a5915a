"""Markdown for the sticky comment and the job summary, from jinja2 templates (package data).

The templates get a typed `View`; every string that comes from the server or from inputs passes
through the one escaping filter `md` (or `code`/`url`, which build code spans and link targets
that cannot break out). The rendered comment always starts with its marker.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from evals_action import models, outcome, text

BODY_LIMIT = 65_536
VALUE_LIMIT = 80
REASON_LIMIT = 1_000
MARKER_PREFIX = "<!-- 2027-eval-comment:"
CUT_NOTE = "\n\n_This comment was cut to fit GitHub's size limit: see the full report{link}._\n"


def is_ours(body: str, *, prompt_id: str) -> bool:
    """The marker must be the comment's first line; a marker quoted later does not count."""
    return body.split("\n", 1)[0].strip() == marker(prompt_id)


def marker(prompt_id: str) -> str:
    return f"{MARKER_PREFIX}{comment_safe(prompt_id)} -->"


def comment_safe(value: str) -> str:
    """`value` inside an HTML comment: escaped so that it cannot close the comment early."""
    return value.replace("--", "-\u200b-").replace(">", "&gt;")


@dataclasses.dataclass(frozen=True)
class MetricCell:
    header: str
    value: str
    delta: str | None


@dataclasses.dataclass(frozen=True)
class View:
    """Everything the comment template shows."""

    marker: str
    title: str
    heading: str
    reason: str | None
    completed: bool
    metrics: Sequence[MetricCell]
    score: str | None
    grade: str | None
    prompt_text: str | None
    template_vars: Sequence[tuple[str, str]]
    url_map: Sequence[tuple[str, str]]
    sha7: str | None
    report_url: str | None
    dashboard_url: str | None
    status_url: str | None
    extras: Sequence[tuple[str, str]] = ()


def build_view(
    *,
    prompt_id: str,
    run: models.Run,
    result: outcome.Outcome,
    baseline: models.Report | None,
    template_vars: Mapping[str, Any] | None,
    url_map: Mapping[str, str],
    sha: str | None,
    dashboard_url: str | None,
    extras: Mapping[str, str] | None = None,
) -> View:
    report = run.report
    completed = result.completed
    return View(
        marker=marker(prompt_id),
        title=run.prompt_title or prompt_id,
        heading=result.heading,
        reason=literal(text.one_line(result.reason, limit=REASON_LIMIT)) if result.reason else None,
        completed=completed,
        metrics=metric_cells(
            report.metrics if report else None, baseline.metrics if baseline else None
        )
        if completed
        else (),
        score=score_text(report.score)
        if completed and report and report.score is not None
        else None,
        grade=report.grade if completed and report and report.grade else None,
        prompt_text=run.prompt_text if completed and run.prompt_text else None,
        template_vars=[
            (k, text.one_line(_as_text(v), limit=VALUE_LIMIT))
            for k, v in (template_vars or {}).items()
        ],
        url_map=[(host, _host(url)) for host, url in url_map.items()],
        sha7=sha[:7] if sha else None,
        report_url=report.url if report and report.url else None,
        dashboard_url=dashboard_url,
        status_url=run.run_url or None,
        extras=sorted((extras or {}).items()),
    )


def metric_cells(
    metrics: models.Metrics | None, baseline: models.Metrics | None
) -> list[MetricCell]:
    if metrics is None:
        return []
    base = baseline or models.Metrics()
    cells: list[MetricCell] = []
    if metrics.time or metrics.time_seconds is not None:
        shown = metrics.time or text.duration(metrics.time_seconds or 0)
        cells.append(
            MetricCell(
                "Time", shown, _delta(metrics.time_seconds, base.time_seconds, _signed_duration)
            )
        )
    if metrics.cost or metrics.cost_usd is not None:
        shown = metrics.cost or f"${metrics.cost_usd:.2f}"
        cells.append(
            MetricCell("Cost", shown, _delta(metrics.cost_usd, base.cost_usd, _signed_money))
        )
    if metrics.errors is not None:
        cells.append(
            MetricCell(
                "Errors", str(metrics.errors), _delta(metrics.errors, base.errors, _signed_int)
            )
        )
    if metrics.interruptions is not None:
        cells.append(
            MetricCell(
                "Interruptions",
                str(metrics.interruptions),
                _delta(metrics.interruptions, base.interruptions, _signed_int),
            )
        )
    return cells


def _delta(value: float | None, base: float | None, fmt: Any) -> str | None:
    if value is None or base is None:
        return None
    diff = value - base
    if abs(diff) < 0.005:
        return None
    arrow = "▲" if diff > 0 else "▼"
    return f"{arrow} {fmt(diff)}"


def _signed_duration(diff: float) -> str:
    sign = "+" if diff > 0 else "-"
    return f"{sign}{text.duration(abs(diff))}"


def _signed_money(diff: float) -> str:
    sign = "+" if diff > 0 else "-"
    return f"{sign}${abs(diff):.2f}"


def _signed_int(diff: float) -> str:
    return f"{int(diff):+d}"


def score_text(score: float) -> str:
    return str(int(score)) if float(score).is_integer() else f"{score:.1f}"


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, separators=(",", ":"))


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


# --- escaping: the one filter and two structural helpers -----------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]#|~])")
_LINE_START = re.compile(r"^(\s*)([-+=]|\d+)([.)]?)")


def md(value: Any, multiline: bool = False) -> str:
    """Text shown as-is: no HTML, no mentions, no links, lists, tables or fences it could start."""
    text = "" if value is None else str(value)
    lines = text.splitlines() if multiline else [" ".join(text.split())]
    return "\n".join(_md_line(line) for line in lines)


def _md_line(line: str) -> str:
    line = _MD_SPECIAL.sub(r"\\\1", line)
    line = _LINE_START.sub(_escape_line_start, line)
    line = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"@(?=\w)", "@\u200b", line)


def _escape_line_start(m: re.Match[str]) -> str:
    lead, mark, dot = m.groups()
    if mark.isdigit():  # "1." or "1)" starts an ordered list: escape the punctuation
        return lead + mark + ("\\" + dot if dot else "")
    return lead + "\\" + mark + dot


def literal(text: str) -> str:
    """Text for code spans and blocks. GitHub parses neither HTML nor mentions there, but a
    marker could still be matched by a search and text is copied elsewhere, so HTML comment
    delimiters and `@` are broken up with a zero-width space."""
    text = text.replace("<!--", "<!-\u200b-").replace("-->", "-\u200b->")
    return re.sub(r"@(?=\w)", "@\u200b", text)


def code(value: Any) -> str:
    """An inline code span that holds any text: fence longer than any backtick run inside."""
    text = literal(" ".join(str(value).split()))
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def fence(value: Any) -> str:
    """A code-fence delimiter longer than any backtick run in `value`."""
    longest = max((len(m) for m in re.findall(r"`{3,}", str(value))), default=2)
    return "`" * max(3, longest + 1)


_URL_SAFE = ":/?#[]@!$&'*+,;=%~-._"


def url(value: Any) -> str:
    """A link target: only http(s) URLs, with characters that end a Markdown link escaped."""
    text = str(value or "").strip()
    if urllib.parse.urlsplit(text).scheme not in ("http", "https"):
        return ""
    return urllib.parse.quote(text, safe=_URL_SAFE)


def escaped_forms(text: str) -> set[str]:
    """Every way the filters above may write `text` (for redaction after rendering): escaped
    at the start of a line and in the middle of one, in a code span, in a link target."""
    return {
        md(text),
        md("x" + text)[1:],
        literal(text),
        literal(" ".join(text.split())),
        urllib.parse.quote(text, safe=_URL_SAFE),
    }


@functools.lru_cache(maxsize=1)
def _env() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("evals_action", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - Markdown, not HTML: the `md` filter escapes
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(md=md, code=code, fence=fence, url=url)
    return env


def comment(view: View) -> str:
    """The sticky comment's body, cut to GitHub's limit with a note when needed."""
    body = template("comment.md.j2", view=view)
    if len(body) > BODY_LIMIT and view.prompt_text:
        body = template("comment.md.j2", view=dataclasses.replace(view, prompt_text=None))
    if len(body) > BODY_LIMIT:
        link = f" at {url(view.report_url)}" if view.report_url and url(view.report_url) else ""
        note = CUT_NOTE.format(link=link)
        body = body[: BODY_LIMIT - len(note)].rsplit("\n", 1)[0] + note
    if not body.startswith(view.marker):
        raise AssertionError("rendered comment lost its marker")
    return body


def summary(view: View) -> str:
    """The job summary: the comment's content without the marker, plus correlation ids."""
    return template("summary.md.j2", view=view)


def template(name: str, **context: Any) -> str:
    return str(_env().get_template(name).render(**context))
