"""The sections of the suite's shared comment: how one is written, read back and merged.

A section is one prompt's part of the comment, written by the step that evaluated the prompt:

    <!-- 2027-eval-section:<prompt id, percent-encoded> sha=<commit> suite=<suite id> -->
    <!-- 2027-eval-row | <the prompt's summary row> | -->
    <details>…the prompt's runs…</details>
    <!-- /2027-eval-section -->

`parse` reads the well-formed ones back from a body (markers count only as whole lines, and the
escaping filters keep server text from ever starting one); `merge` puts a writer's sections in
place of the same prompts' sections without replacing one written for the PR's head commit.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from collections.abc import Callable, Iterable, Sequence

SECTION_CLOSE = "<!-- /2027-eval-section -->"
_OPEN = re.compile(
    r"<!-- 2027-eval-section:(?P<id>[^\s]+) sha=(?P<sha>[0-9A-Za-z]*) suite=(?P<suite>[^\s]*)"
    r"(?: budget=(?P<started>\d+)/(?P<planned>\d+))? -->"
)
_ROW = re.compile(r"<!-- 2027-eval-row (?P<row>\|.*\|) -->")


@dataclasses.dataclass(frozen=True)
class Section:
    """One prompt's part of the comment: its summary row and its `<details>` block."""

    prompt_id: str
    sha: str  # the commit the section was written for; "" when unknown
    suite_id: str
    budget: tuple[int, int] | None  # (runs started, runs planned) when the budget stopped them
    row: str  # the summary table's row for this prompt, rendered
    details: str  # the `<details>` block, rendered

    @property
    def text(self) -> str:
        budget = f" budget={self.budget[0]}/{self.budget[1]}" if self.budget else ""
        return (
            f"<!-- 2027-eval-section:{_quote(self.prompt_id)} sha={self.sha} "
            f"suite={_quote(self.suite_id)}{budget} -->\n"
            f"<!-- 2027-eval-row {self.row} -->\n{self.details}\n{SECTION_CLOSE}"
        )


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def parse(body: str) -> list[Section]:
    """The well-formed sections of a comment body, in order (anything else is ignored)."""
    found: list[Section] = []
    lines = body.split("\n")
    i = 0
    while i < len(lines):
        opened = _OPEN.fullmatch(lines[i])
        row = _ROW.fullmatch(lines[i + 1]) if opened and i + 1 < len(lines) else None
        if opened is None or row is None:
            i += 1
            continue
        end = next(
            (
                j
                for j in range(i + 2, len(lines))
                if lines[j] == SECTION_CLOSE or _OPEN.fullmatch(lines[j])
            ),
            None,
        )
        if end is None or lines[end] != SECTION_CLOSE:
            i += 1
            continue
        found.append(_section(opened, row.group("row"), "\n".join(lines[i + 2 : end])))
        i = end + 1
    return found


def _section(opened: re.Match[str], row: str, details: str) -> Section:
    started, planned = opened.group("started"), opened.group("planned")
    return Section(
        prompt_id=urllib.parse.unquote(opened.group("id")),
        sha=opened.group("sha"),
        suite_id=urllib.parse.unquote(opened.group("suite")),
        budget=(int(started), int(planned)) if started and planned else None,
        row=row,
        details=details,
    )


def union(*groups: Iterable[Section]) -> list[Section]:
    """Sections from several comments: the first one seen for a prompt wins (the oldest)."""
    seen: dict[str, Section] = {}
    for group in groups:
        for section in group:
            seen.setdefault(section.prompt_id, section)
    return list(seen.values())


def merge(
    existing: Sequence[Section], ours: Sequence[Section], *, head_sha: Callable[[], str | None]
) -> list[Section]:
    """`existing` with `ours` in place of the same prompts' sections (new ones appended), except
    that a section written for the PR's head commit is never replaced by one for another commit.
    `head_sha` is asked only when that question arises (it costs a request)."""
    mine = {s.prompt_id: s for s in ours}
    merged: list[Section] = []
    for old in union(existing):
        new = mine.pop(old.prompt_id, None)
        if new is None or (old.sha not in ("", new.sha) and old.sha == head_sha()):
            merged.append(old)
        else:
            merged.append(new)
    return merged + list(mine.values())
