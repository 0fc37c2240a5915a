"""A tracing gateway (Eval Protocol's tracing proxy) as a rollout's status source.

- `Gateway` reads a rollout's status (`/v1/status`, else `/status`), the message of its terminal
  log entry (`/logs`, else `/v1/logs`) and its trace (the conversation to grade);
- `Redactor` holds the secrets a rollout client has seen and takes them out of error messages;
- `checked_result` checks a rollout result found in an answer, warning when it is unusable.

Used by `remote_client.RemoteRolloutClient`; no sleeping, no retries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests

from evals_action import errors, models, transport
from evals_action.eval_protocol import results, states, tracing

LOGS_PARAMS = {"limit": 100, "hours_back": 24, "program": "eval_protocol"}


class Redactor:
    """The secrets seen so far (the tracing key, each `api_key` sent), taken out of messages."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = [s for s in secrets if s]

    def add(self, secret: str) -> None:
        if secret:
            self._secrets.append(secret)

    def redact(self, text: str) -> str:
        """`text` with every secret replaced by `***` (`redaction.Secrets`: escaped forms too)."""
        from evals_action import redaction  # imports the renderer: only when there is an error

        return redaction.Secrets(self._secrets).redact(text)

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Inside the block, an error's message leaves without a secret in it."""
        try:
            yield
        except errors.EvalsActionError as exc:
            exc.message = self.redact(exc.message)
            exc.args = (exc.message,)
            raise


def checked_result(value: Any, *, where: str, warn: Callable[[str], None]) -> dict[str, Any] | None:
    """`value` as a rollout result, or None (with a warning naming `where`) when unusable."""
    if value is None:
        return None
    try:
        return results.check_result(value)
    except ValueError as exc:
        warn(f"Ignoring the rollout result in {where}: {exc}")
        return None


class Gateway:
    """One tracing gateway; remembers which of each pair of paths answered."""

    def __init__(
        self,
        *,
        session: requests.Session,
        url: str,
        api_key: str,
        timeout: tuple[float, float],
        warn: Callable[[str], None],
        redactor: Redactor,
        url_name: str = "tracing-url",
    ) -> None:
        self._session = session
        self._url_name = url_name  # what the user calls `url`, for hints
        self._url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = timeout
        self._warn = warn
        self._redactor = redactor
        self._status_path = "/v1/status"
        self._logs_path = "/logs"

    def status_link(self, *, query: str) -> str:
        return f"{self._url}{self._status_path}?{query}"

    def status(self, *, rollout_id: str) -> states.RolloutState:
        """The rollout's state from `/v1/status` (or `/status`), its message from `/logs`."""
        data = self._get(
            paths=(self._status_path, "/status"),
            remember="_status_path",
            params={"rollout_id": rollout_id},
            what="read rollout status from the tracing gateway",
        )
        code = states.status_code(data.get("status"))
        if code is None or code == states.CODE_RUNNING:
            return states.RUNNING_STATE
        message = states.status_message(data.get("status"))
        extras = models.json_object(data.get("extras"))
        raw_result = extras.get("result")
        entry = self._log_entry(rollout_id, code=code)
        if entry is not None:
            message = states.status_message(entry.get("status")) or message
            if isinstance(entry.get("message"), str) and entry["message"] and not message:
                message = entry["message"]
            entry_extras = models.json_object(entry.get("extras"))
            raw_result = entry_extras.get("result", raw_result)
        result = checked_result(raw_result, where="the gateway's extras.result", warn=self._warn)
        return states.state_from_status(code=code, message=message, result=result)

    def trace_messages(self, *, rollout_id: str) -> list[dict[str, Any]] | None:
        """The rollout's conversation from the gateway's trace.

        Eval Protocol grades what its tracing proxy recorded (`GET /v1/traces/pointwise`, tagged
        `rollout_id:<id>`), not a result the agent reports. None (with a warning) when the trace
        cannot be read.
        """
        what = "read the rollout's trace from the tracing gateway"
        params = tracing.traces_params(rollout_id=rollout_id)
        try:
            with self._redactor.guard():
                response = self._send(path=tracing.TRACES_PATH, params=params, what=what)
                body = transport.json_body(response, what=what)
        except errors.APIError as exc:
            self._warn(f"No trace to grade: {exc.message}")
            return None
        return tracing.final_messages(body) or None

    def _log_entry(self, rollout_id: str, *, code: int) -> Mapping[str, Any] | None:
        """The first log entry whose `status.code` is the terminal code, or None."""
        try:
            data = self._get(
                paths=(self._logs_path, "/v1/logs"),
                remember="_logs_path",
                params={"tags": f"rollout_id:{rollout_id}", **LOGS_PARAMS},
                what="read rollout logs from the tracing gateway",
            )
        except (errors.FatalAPIError, errors.ClientAPIError) as exc:
            self._warn(f"No rollout status message: {exc.message}")
            return None
        entries = data.get("entries")
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and states.status_code(entry.get("status")) == code:
                return entry
        return None

    def _get(
        self, *, paths: tuple[str, str], remember: str, params: Mapping[str, Any], what: str
    ) -> dict[str, Any]:
        """GET the first path; on 404 the second, remembering whichever answered."""
        last: errors.APIError | None = None
        for path in dict.fromkeys(paths):
            try:
                with self._redactor.guard():
                    response = self._send(path=path, params=params, what=what)
            except errors.APIError as exc:
                if exc.status != 404:
                    raise
                last = exc
                continue
            setattr(self, remember, path)
            data = transport.json_body(response, what=what)
            if not isinstance(data, dict):
                raise errors.ClientAPIError(f"{what}: the body is not a JSON object")
            return data
        assert last is not None
        raise errors.FatalAPIError(
            f"{what}: HTTP 404 from {self._url}{paths[0]} and {paths[1]} (check {self._url_name})",
            status=404,
        )

    def _send(self, *, path: str, params: Mapping[str, Any], what: str) -> requests.Response:
        """One authenticated GET to the gateway (`transport.send` classifies the answer)."""
        return transport.send(
            self._session,
            method="GET",
            url=f"{self._url}{path}",
            what=what,
            headers=self._headers,
            params=params,
            timeout=self._timeout,
        )
