"""Grading checks, one small class per `type`, registered by that name (`base.TYPES`).

- `contains` / `regex`: on the agent's final answer;
- `json_equals`: a dotted path into the rollout result equals a value;
- `http`: a request against the preview answers as expected (`http_request`);
- `llm_judge`: an OpenAI-compatible chat endpoint decides;
- `trace`: a fact of the agent's trace (its last page, last shell exit code, counts).

`base` holds what they share and reads a check from the config; importing this package
registers every type, in the order the config's error message lists them.
"""

from __future__ import annotations

# Each import registers a type; this order is the one config errors list them in.
# isort: off
from evals_action.server.checks import base  # noqa: F401
from evals_action.server.checks import contains  # noqa: F401
from evals_action.server.checks import regex  # noqa: F401
from evals_action.server.checks import json_equals  # noqa: F401
from evals_action.server.checks import http_request  # noqa: F401
from evals_action.server.checks import llm_judge  # noqa: F401
from evals_action.server.checks import trace  # noqa: F401
# isort: on
