"""redaction.Secrets: one list of secrets, found in every form a sink writes them in."""

from __future__ import annotations

import json

from evals_action import outcome, redaction, render

KEY = "evals_k*y_<with>_`marks`_0123456789"


def test_a_secret_is_redacted_as_is_and_in_every_escaped_form() -> None:
    secrets = redaction.Secrets([KEY])
    forms = {  # how each sink writes the key → what it must write instead
        KEY: "***",
        render.md(KEY): "***",  # the comment and summary: `\_`, `\*`, `&lt;`
        render.md("x" + KEY): "x***",
        render.code(KEY): "``***``",
        render.url("https://x.dev/?k=" + KEY): "https://x.dev/?k=***",
        json.dumps({"k": KEY}): '{"k": "***"}',  # report-json
    }
    for form, expected in forms.items():
        assert secrets.redact(f"before {form} after") == f"before {expected} after"


def test_what_a_cut_leaves_of_a_secret_is_redacted_from_eight_characters() -> None:
    secrets = redaction.Secrets([KEY])
    assert secrets.redact(f"x {KEY[:8]}...") == "x ***..."
    assert secrets.redact(f"x {KEY[:20]}") == "x ***"
    assert secrets.redact(f"x {KEY[:7]}...") == f"x {KEY[:7]}..."


def test_fit_redacts_before_the_cut_so_the_text_after_the_secret_survives() -> None:
    secrets = redaction.Secrets([KEY])
    text = "r" * 120 + " " + KEY + " tail"
    cut = outcome.status_description(text)
    assert KEY[:8] in cut  # cutting first would leave a piece of the key ...
    fitted = secrets.fit(text, cut=outcome.status_description)
    assert fitted == "r" * 120 + " *** tail"  # ... redacting first keeps the whole key out


def test_each_line_of_a_multi_line_secret_is_a_secret_too() -> None:
    secrets = redaction.Secrets(["first-line-secret\nsecond-line-secret"])
    assert secrets.redact("a first-line-secret b second-line-secret") == "a *** b ***"


def test_blank_and_repeated_values_are_ignored() -> None:
    secrets = redaction.Secrets(["", KEY, "  "])
    assert not secrets.add(KEY)
    assert not secrets.add("\n")
    assert secrets.values == (KEY,)
    assert secrets.redact("a b  c") == "a b  c"
