"""A rollout service that quotes the model key back in its error message: through
`evals-action run --local`, neither the key nor a cut piece of it is printed anywhere."""

from __future__ import annotations

import pathlib

from evals_action import render

from . import servers
from .test_remote_outcomes_cli import ROLLOUT_ID, run_cli

# `_` and `*` are escaped in the comment; the key is long enough to be cut at 140 characters.
MODEL_KEY = "sk-mo_del*KEY*_with_marks_0123456789"


def test_a_model_key_echoed_in_the_rollout_error_reaches_no_output(
    service: servers.RolloutService, prompt_file: pathlib.Path
) -> None:
    """Status (cut at 140 inside the key), comment, outputs, annotation: `***`, never the key."""
    message = "The agent crashed " + "." * 100 + f" api_key={MODEL_KEY} rejected"
    assert message.index(MODEL_KEY) < 137 < message.index(MODEL_KEY) + len(MODEL_KEY)
    service.script(ROLLOUT_ID, {"terminated": True, "status": {"code": 13, "message": message}})
    code, output = run_cli(service, prompt_file, EVALS_MODEL_API_KEY=MODEL_KEY)
    assert code == 1, output
    for form in (MODEL_KEY, render.md(MODEL_KEY)):
        assert form[:8] not in output, output
    assert "api_key=*** rejected" in output  # the comment's diff block and failure-reason
    # Redacted before the cut, so the description keeps its end instead of a piece of the key.
    shown = message.replace(MODEL_KEY, "***")
    url = f"{service.url}/status?rollout_id={ROLLOUT_ID}"
    assert f"Status: error '2027/eval/checkout-works': {shown} → {url}" in output.splitlines()
