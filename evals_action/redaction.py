"""The secrets a step knows, and the one function that takes them out of outgoing text.

`Secrets` holds one list (api key, GitHub token, model key, tracing key, workflow token, and
any later one such as an OIDC token). Every sink calls `redact` on exactly what it writes, after
escaping and cutting: the comment and status (`reporting.Reporter`), the log, annotations,
outputs and summary (`actions_runtime.StepIO`). So that escaping cannot hide a secret from it,
each secret is also looked for in the forms the sinks write it in (Markdown- and HTML-escaped,
inside code spans, percent-encoded in a link, JSON-escaped in `report-json`). So that cutting
cannot leave part of one behind, a long enough prefix of a secret is redacted wherever it
appears; where a sink cuts text itself (the 140-character status description), `fit` redacts
before the cut as well.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from evals_action import render

MASK = "***"
# A secret's first characters, this many or more, are redacted wherever they appear: what a cut
# (ours or a server's) leaves of a secret. Shorter secrets are refused as inputs.
PREFIX_MIN = 8


class Secrets:
    """One list of secret values, redacted from every string that leaves the process."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: list[str] = []
        self._forms: list[str] = []
        for value in values:
            self.add(value)

    def add(self, value: str) -> bool:
        """Remember `value`; False when it was blank or already known."""
        if not value.strip() or value in self._values:
            return False
        self._values.append(value)
        forms = {*self._forms, *_forms(value)}
        self._forms = sorted((f for f in forms if f.strip()), key=len, reverse=True)
        return True

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(self._values)

    def redact(self, text: str) -> str:
        """`text` with every secret (in any written form) and every partial one replaced."""
        for form in self._forms:  # longest first, so a form inside another cannot split it
            text = text.replace(form, MASK)
        spans = sorted(span for form in self._forms for span in _prefix_spans(text, form))
        parts: list[str] = []
        done = 0
        for start, end in spans:
            if end <= done:
                continue
            if start >= done:
                parts += [text[done:start], MASK]
            done = end
        return "".join([*parts, text[done:]])

    def fit(self, text: str, *, cut: Callable[[str], str]) -> str:
        """`cut(text)` redacted before the cut (so a cut cannot split a secret) and after."""
        return self.redact(cut(self.redact(text)))


def _forms(secret: str) -> set[str]:
    """The ways a sink may write `secret`: as is, escaped for Markdown, in a code span or a
    link, JSON-escaped. A form that spans lines is looked for line by line as well."""
    forms = {secret, *render.escaped_forms(secret)}
    forms.add(json.dumps(secret)[1:-1])
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    lines = [line for line in secret.splitlines() if line.strip()]
    if len(lines) > 1:
        for line in lines:
            forms |= _forms(line)
    return forms


def _prefix_spans(text: str, form: str) -> list[tuple[int, int]]:
    """Where `text` starts like `form` for at least `PREFIX_MIN` characters, as far as it
    keeps matching: what a cut may leave of a secret."""
    if len(form) <= PREFIX_MIN:
        return []  # found whole by the replacement above, or not at all
    head = form[:PREFIX_MIN]
    spans = []
    found = text.find(head)
    while found != -1:
        end = found + PREFIX_MIN
        while end < len(text) and end - found < len(form) and text[end] == form[end - found]:
            end += 1
        spans.append((found, end))
        found = text.find(head, found + 1)
    return spans
