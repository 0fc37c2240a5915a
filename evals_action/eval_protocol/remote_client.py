"""An Eval Protocol remote rollout service (`rollout-contracts.md`, `remote`), over HTTP.

`RemoteRolloutClient` speaks the wire contract: `POST /init`, then the service's `GET /status`
or a tracing gateway's `/v1/status` plus `/logs`, and the gateway's trace (the conversation).
It neither sleeps nor retries: timing is `polling`'s. Secrets (`api_key` in the body, the
tracing key) never reach a message: every error text passes through `redact`. The action's
`backends/remote.py` and the server's worker both use it.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests

from evals_action import errors, transport
from evals_action.eval_protocol import results, states, tracing

log = logging.getLogger(__name__)

INIT_TIMEOUT = (10.0, 60.0)
STATUS_MODES = ("auto", "service", "gateway")
LOGS_PARAMS = {"limit": 100, "hours_back": 24, "program": "eval_protocol"}
BODY_SNIPPET = 300


class RemoteRolloutClient:
    """One rollout service (and optionally its tracing gateway)."""

    def __init__(
        self,
        *,
        session: requests.Session,
        rollout_url: str,
        status_mode: str = "auto",
        tracing_url: str | None = None,
        tracing_api_key: str | None = None,
        timeout: tuple[float, float] = transport.DEFAULT_TIMEOUT,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        if status_mode not in STATUS_MODES:
            raise ValueError(f"status_mode must be one of {', '.join(STATUS_MODES)}")
        self._session = session
        self._base = rollout_url.rstrip("/")
        self._mode = status_mode
        self._tracing = (tracing_url or "").rstrip("/")
        self._tracing_key = tracing_api_key or ""
        self._timeout = timeout
        self._warn: Callable[[str], None] = warn or log.warning
        self._secrets: list[str] = [self._tracing_key] if self._tracing_key else []
        self._status_path = "/v1/status"
        self._logs_path = "/logs"

    # --- links ------------------------------------------------------------------------------

    def status_link(self, *, rollout_id: str) -> str:
        """Where a human (or `curl`) can see the rollout's state."""
        query = urllib.parse.urlencode({"rollout_id": rollout_id})
        if self._mode == "gateway":
            return f"{self._tracing}{self._status_path}?{query}"
        return f"{self._base}/status?{query}"

    # --- POST /init -------------------------------------------------------------------------

    @property
    def init_url(self) -> str:
        return f"{self._base}/init"

    def init(self, *, request: dict[str, Any]) -> None:
        """Start the rollout. 2xx accepts; 4xx → `FatalAPIError`; 5xx/network → transient."""
        api_key = request.get("api_key")
        if isinstance(api_key, str) and api_key:
            self._secrets.append(api_key)
        url = self.init_url
        what = "start rollout (POST /init)"
        try:
            response = transport.request(
                self._session,
                method="POST",
                url=url,
                json=request,
                timeout=INIT_TIMEOUT,
                allow_redirects=False,
            )
        except transport.Unanswered as exc:  # raised `from None`: no api_key in a traceback
            if exc.timed_out:
                raise errors.TransientAPIError(
                    f"{what}: no answer from {url} within {INIT_TIMEOUT[1]:.0f} s"
                ) from None
            raise errors.TransientAPIError(
                f"{what}: could not reach {url} ({exc.reason}); check rollout-url and that "
                "the service is up"
            ) from None
        code = response.status_code
        if 200 <= code < 300:
            return
        body = self.redact(response.text or "")[:BODY_SNIPPET]
        body = " ".join(body.split())
        message = f"{what}: HTTP {code} from {url}" + (f": {body}" if body else "")
        if code == 429 or code >= 500:
            raise errors.TransientAPIError(
                message,
                status=code,
                retry_after=transport.parse_retry_after(response.headers.get("Retry-After")),
            )
        raise errors.FatalAPIError(
            message + " (the rollout service rejected the request; check its logs)",
            status=code,
        )

    # --- completion -------------------------------------------------------------------------

    def status(self, *, rollout_id: str) -> states.RolloutState:
        """The rollout's state from the service or the gateway (`rollout-status`)."""
        if self._mode == "gateway":
            return self._gateway_status(rollout_id)
        return self._service_status(rollout_id)

    def _service_status(self, rollout_id: str) -> states.RolloutState:
        url = f"{self._base}/status"
        try:
            with self._redacting():
                response = transport.send(
                    self._session,
                    method="GET",
                    url=url,
                    what="read rollout status (GET /status)",
                    params={"rollout_id": rollout_id},
                    timeout=self._timeout,
                )
        except errors.APIError as exc:
            if exc.status != 404:
                raise
            return self._no_status_endpoint(rollout_id, exc)
        data = transport.json_body(response, what="read rollout status")
        if not isinstance(data, dict):
            raise errors.ClientAPIError("read rollout status: the body is not a JSON object")
        if data.get("terminated") is not True:
            return states.RUNNING_STATE
        info = _object(data.get("info"))
        result = self._result(info.get("result"), where="the service's info.result")
        code = states.status_code(data.get("status"))
        if code is None or code == states.CODE_RUNNING:
            code = states.CODE_FINISHED  # terminated without a status: finished
        return states.state_from_status(
            code=code, message=states.status_message(data.get("status")), result=result
        )

    def _no_status_endpoint(self, rollout_id: str, exc: errors.APIError) -> states.RolloutState:
        if self._mode == "auto" and self._tracing:
            self._mode = "gateway"
            return self._gateway_status(rollout_id)
        hint = (
            "set tracing-url to read completion from a tracing gateway"
            if self._mode == "auto"
            else "use rollout-status: auto or gateway with a tracing-url"
        )
        raise errors.FatalAPIError(
            f"the rollout service has no GET /status (HTTP 404 from {self._base}/status); {hint}",
            status=exc.status,
        )

    def _gateway_status(self, rollout_id: str) -> states.RolloutState:
        data = self._gateway_get(
            paths=(self._status_path, "/status"),
            remember="_status_path",
            params={"rollout_id": rollout_id},
            what="read rollout status from the tracing gateway",
        )
        code = states.status_code(data.get("status"))
        if code is None or code == states.CODE_RUNNING:
            return states.RUNNING_STATE
        message = states.status_message(data.get("status"))
        extras = _object(data.get("extras"))
        raw_result = extras.get("result")
        entry = self._log_entry(rollout_id, code=code)
        if entry is not None:
            message = states.status_message(entry.get("status")) or message
            if isinstance(entry.get("message"), str) and entry["message"] and not message:
                message = entry["message"]
            entry_extras = _object(entry.get("extras"))
            raw_result = entry_extras.get("result", raw_result)
        result = self._result(raw_result, where="the gateway's extras.result")
        return states.state_from_status(code=code, message=message, result=result)

    def trace_messages(self, *, rollout_id: str) -> list[dict[str, Any]] | None:
        """The rollout's conversation from the gateway's trace, when status came from the gateway.

        Eval Protocol grades what its tracing proxy recorded (`GET /v1/traces/pointwise`, tagged
        `rollout_id:<id>`), not a result the agent reports. None in `service` mode, and (with a
        warning) when the trace cannot be read.
        """
        if self._mode != "gateway":
            return None
        what = "read the rollout's trace from the tracing gateway"
        headers = {"Authorization": f"Bearer {self._tracing_key}"} if self._tracing_key else {}
        try:
            with self._redacting():
                response = transport.send(
                    self._session,
                    method="GET",
                    url=f"{self._tracing}{tracing.TRACES_PATH}",
                    what=what,
                    headers=headers,
                    params=tracing.traces_params(rollout_id=rollout_id),
                    timeout=self._timeout,
                )
                body = transport.json_body(response, what=what)
        except errors.APIError as exc:
            self._warn(f"No trace to grade: {exc.message}")
            return None
        return tracing.final_messages(body) or None

    def _log_entry(self, rollout_id: str, *, code: int) -> Mapping[str, Any] | None:
        """The first log entry whose `status.code` is the terminal code, or None."""
        try:
            data = self._gateway_get(
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

    def _gateway_get(
        self, *, paths: tuple[str, str], remember: str, params: Mapping[str, Any], what: str
    ) -> dict[str, Any]:
        """GET the first path; on 404 the second, remembering whichever answered."""
        headers = {"Authorization": f"Bearer {self._tracing_key}"} if self._tracing_key else {}
        last: errors.APIError | None = None
        for path in dict.fromkeys(paths):
            try:
                with self._redacting():
                    response = transport.send(
                        self._session,
                        method="GET",
                        url=f"{self._tracing}{path}",
                        what=what,
                        headers=headers,
                        params=params,
                        timeout=self._timeout,
                    )
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
            f"{what}: HTTP 404 from {self._tracing}{paths[0]} and {paths[1]} (check tracing-url)",
            status=404,
        )

    def _result(self, value: Any, *, where: str) -> dict[str, Any] | None:
        if value is None:
            return None
        try:
            return results.check_result(value)
        except ValueError as exc:
            self._warn(f"Ignoring the rollout result in {where}: {exc}")
            return None

    # --- secrets ----------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """`text` with the tracing key and every `api_key` sent replaced by `***`."""
        from evals_action import redaction  # imports the renderer: only when there is an error

        return redaction.Secrets(self._secrets).redact(text)

    @contextmanager
    def _redacting(self) -> Iterator[None]:
        try:
            yield
        except errors.EvalsActionError as exc:
            exc.message = self.redact(exc.message)
            exc.args = (exc.message,)
            raise


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
