"""An Eval Protocol tracing proxy (gateway): what goes into its URLs, what comes out of traces.

Pure functions, no HTTP (`remote_client.RemoteRolloutClient` makes the calls):

- `model_url` encodes the five correlation ids into `model_base_url`'s path when it points at a
  tracing proxy, exactly when Eval Protocol 0.3.x does (`tracing_utils.build_init_request`), so the
  proxy tags every model call of the agent with its rollout.
- `final_messages` picks the conversation out of the proxy's `/v1/traces/pointwise` answer the way
  Eval Protocol's `FireworksTracingAdapter` does: each trace's input and output messages, the
  longest conversation winning.
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Mapping
from typing import Any

# Eval Protocol's test for "this base URL is a tracing proxy", substring for substring.
PROXY_HOST_MARKERS = ("tracing.fireworks.ai", "litellm-gateway")
PROXY_PREFIXES = ("http://localhost",)
# The path segments, in Eval Protocol's order.
ID_SEGMENTS = ("rollout_id", "invocation_id", "experiment_id", "run_id", "row_id")
TRACES_PATH = "/v1/traces/pointwise"
TRACES_PARAMS = {"limit": 100, "sleep_between_gets": 0.1, "max_retries": 5}


def is_proxy(url: str) -> bool:
    """Whether Eval Protocol would treat `url` as a tracing proxy and encode ids into it."""
    return any(m in url for m in PROXY_HOST_MARKERS) or url.startswith(PROXY_PREFIXES)


def model_url(
    *, base_url: str, metadata: Mapping[str, Any], completion_params: Mapping[str, Any]
) -> str:
    """`{base}/rollout_id/…/invocation_id/…/experiment_id/…/run_id/…/row_id/…` for a proxy.

    A `base_url` in `completion_params` (the model behind the proxy) follows as
    `/encoded_base_url/<urlsafe base64>`. Any other URL, or one already carrying the ids, is
    returned as it is. Each id is one path segment (`_segment`).
    """
    if not base_url or not is_proxy(base_url) or "/rollout_id/" in base_url:
        return base_url
    url = base_url.rstrip("/")
    for name in ID_SEGMENTS:
        url += f"/{name}/{_segment(str(metadata.get(name, '')))}"
    upstream = completion_params.get("base_url")
    if isinstance(upstream, str) and upstream:
        url += "/encoded_base_url/" + base64.urlsafe_b64encode(upstream.encode()).decode()
    return url


def _segment(value: str) -> str:
    """`value` percent-encoded as one path segment that survives a proxy's routing.

    Proxies route on the decoded path, where `%2F` is a `/` again and splits the segment (the
    default `experiment_id`, `owner/repo#12`, has one). So `/` is encoded twice (`%252F`): the
    route matches and the proxy's tag reads `owner%2Frepo#12`.
    """
    return urllib.parse.quote(value, safe="").replace("%2F", "%252F")


def traces_params(*, rollout_id: str) -> dict[str, Any]:
    """The query Eval Protocol sends to `GET {proxy}/v1/traces/pointwise` for one rollout."""
    return {"tags": f"rollout_id:{rollout_id}", **TRACES_PARAMS}


def final_messages(body: Any) -> list[dict[str, Any]]:
    """The longest conversation among the traces (input messages, then output), or `[]`."""
    traces = body.get("traces") if isinstance(body, Mapping) else None
    best: list[dict[str, Any]] = []
    for trace in traces if isinstance(traces, list) else []:
        if not isinstance(trace, Mapping):
            continue
        messages = _messages(trace.get("input")) + _messages(trace.get("output"))
        if len(messages) > len(best):
            best = messages
    return best


def _messages(data: Any) -> list[dict[str, Any]]:
    """Messages from a trace's input or output, in the shapes Eval Protocol reads."""
    if isinstance(data, list):
        return [dict(m) for m in data if isinstance(m, Mapping)]
    if isinstance(data, str):
        return [{"role": "user", "content": data}]
    if not isinstance(data, Mapping):
        return []
    if isinstance(data.get("messages"), list):
        return [dict(m) for m in data["messages"] if isinstance(m, Mapping)]
    if "role" in data:
        return [dict(data)]
    if "prompt" in data:
        return [{"role": "user", "content": str(data["prompt"])}]
    if "content" in data:
        return [{"role": "assistant", "content": str(data["content"])}]
    return [dict(data)]
