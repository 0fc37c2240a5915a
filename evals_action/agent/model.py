"""The model: any OpenAI-compatible `POST {base}/chat/completions` with tool calling.

Retries: 429, 5xx, connection errors and timeouts are retried up to `attempts` times; the wait
is `retry_delay` (1, 2, 4 … s, capped), replaced by the server's `Retry-After` (still capped).
Any other answer, or a body that is not a chat completion, raises `ModelError` naming the status
and the endpoint, never the key. `sleep` is injected, so tests assert the waits without waiting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests

from evals_action import errors, transport

ATTEMPTS = 5
MAX_DELAY = 30.0
TIMEOUT = (10.0, 120.0)


class ModelError(errors.EvalsActionError):
    """The model endpoint failed or answered something that is not a chat completion."""


@dataclasses.dataclass(frozen=True)
class Reply:
    message: Mapping[str, Any]  # the assistant message, as the API sent it
    usage: Mapping[str, Any]
    retries: int  # how many failed attempts came before this reply


def retry_delay(*, attempt: int, retry_after: float | None, cap: float = MAX_DELAY) -> float:
    """Seconds to wait after failed attempt `attempt` (1, 2, …)."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), cap)
    return min(2.0 ** (attempt - 1), cap)


@dataclasses.dataclass
class Client:
    session: requests.Session
    base_url: str
    api_key: str = dataclasses.field(default="", repr=False)
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    sleep: Callable[[float], None] = lambda seconds: None
    attempts: int = ATTEMPTS

    @property
    def endpoint(self) -> str:
        return f"{self.base_url.rstrip('/')}/chat/completions"

    def complete(
        self, *, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]]
    ) -> Reply:
        body = {**self.params, "messages": list(messages)}
        if tools:
            body["tools"] = list(tools)
        for attempt in range(1, self.attempts + 1):
            try:
                return self._once(body=body, retries=attempt - 1)
            except errors.TransientAPIError as exc:
                if attempt == self.attempts:
                    raise ModelError(f"{exc} (gave up after {attempt} attempts)") from None
                self.sleep(retry_delay(attempt=attempt, retry_after=exc.retry_after))
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, *, body: Mapping[str, Any], retries: int) -> Reply:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            response = self.session.post(self.endpoint, json=body, headers=headers, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise errors.TransientAPIError(
                f"the model at {self.endpoint} could not be reached ({type(exc).__name__})"
            ) from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise errors.TransientAPIError(
                f"the model at {self.endpoint} answered HTTP {status}",
                status=status,
                retry_after=transport.parse_retry_after(response.headers.get("Retry-After")),
            )
        if status >= 400:
            raise ModelError(
                f"the model at {self.endpoint} answered HTTP {status}: "
                f"{self._hide(transport.error_detail(response, limit=200))} "
                "(check the model name and key)"
            )
        return _reply(response=response, endpoint=self.endpoint, retries=retries)

    def _hide(self, text: str) -> str:
        return text.replace(self.api_key, "***") if self.api_key else text


def _reply(*, response: requests.Response, endpoint: str, retries: int) -> Reply:
    try:
        data = response.json()
        message = data["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ModelError(f"the model at {endpoint} did not answer a chat completion") from None
    if not isinstance(message, Mapping):
        raise ModelError(f"the model at {endpoint} answered a choice without a message")
    usage = data.get("usage") if isinstance(data.get("usage"), Mapping) else {}
    return Reply(message=message, usage=usage, retries=retries)
