"""An Eval Protocol remote rollout service (`rollout-contracts.md`, `remote`), over HTTP.

`RemoteRolloutClient` speaks the wire contract: `POST /init`, then the service's `GET /status`
or a tracing gateway's (`gateway.Gateway`: `/v1/status` plus `/logs`, and the trace).
It neither sleeps nor retries: timing is `polling`'s. Secrets (`api_key` in the body, the
tracing key) never reach a message: every error text passes through `redact`. The action's
`backends/remote.py` and the server's worker both use it.
"""

from __future__ import annotations

import dataclasses
import logging
import urllib.parse
from collections.abc import Callable
from typing import Any

import requests

from evals_action import errors, models, transport
from evals_action.eval_protocol import gateway, states

log = logging.getLogger(__name__)

INIT_TIMEOUT = (10.0, 60.0)
STATUS_MODES = ("auto", "service", "gateway")
BODY_SNIPPET = 300


@dataclasses.dataclass(frozen=True)
class SettingNames:
    """What the user calls the client's settings, for the hints in errors (default: the
    action's inputs; the server passes its config's names)."""

    url: str = "rollout-url"
    tracing_url: str = "tracing-url"
    status_mode: str = "rollout-status"


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
        names: SettingNames = SettingNames(),  # noqa: B008 - frozen, so one shared default is safe
    ) -> None:
        if status_mode not in STATUS_MODES:
            raise ValueError(f"status_mode must be one of {', '.join(STATUS_MODES)}")
        self._session = session
        self._base = rollout_url.rstrip("/")
        self._mode = status_mode
        self._tracing = (tracing_url or "").rstrip("/")
        self._timeout = timeout
        self._warn: Callable[[str], None] = warn or log.warning
        self._names = names
        self._redactor = gateway.Redactor([tracing_api_key or ""])
        self._gateway = gateway.Gateway(
            session=session,
            url=self._tracing,
            api_key=tracing_api_key or "",
            timeout=timeout,
            warn=self._warn,
            redactor=self._redactor,
            url_name=names.tracing_url,
        )

    # --- links ------------------------------------------------------------------------------

    def status_link(self, *, rollout_id: str) -> str:
        """Where a human (or `curl`) can see the rollout's state."""
        query = urllib.parse.urlencode({"rollout_id": rollout_id})
        if self._mode == "gateway":
            return self._gateway.status_link(query=query)
        return f"{self._base}/status?{query}"

    # --- POST /init -------------------------------------------------------------------------

    @property
    def init_url(self) -> str:
        return f"{self._base}/init"

    def init(self, *, request: dict[str, Any]) -> None:
        """Start the rollout. 2xx accepts; 4xx → `FatalAPIError`; 5xx/network → transient."""
        api_key = request.get("api_key")
        if isinstance(api_key, str):
            self._redactor.add(api_key)
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
                f"{what}: could not reach {url} ({exc.reason}); check {self._names.url} "
                "and that the service is up"
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
            return self._gateway.status(rollout_id=rollout_id)
        return self._service_status(rollout_id)

    def _service_status(self, rollout_id: str) -> states.RolloutState:
        url = f"{self._base}/status"
        try:
            with self._redactor.guard():
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
        info = models.json_object(data.get("info"))
        result = gateway.checked_result(
            info.get("result"), where="the service's info.result", warn=self._warn
        )
        code = states.status_code(data.get("status"))
        if code is None or code == states.CODE_RUNNING:
            code = states.CODE_FINISHED  # terminated without a status: finished
        return states.state_from_status(
            code=code, message=states.status_message(data.get("status")), result=result
        )

    def _no_status_endpoint(self, rollout_id: str, exc: errors.APIError) -> states.RolloutState:
        if self._mode == "auto" and self._tracing:
            self._mode = "gateway"
            return self._gateway.status(rollout_id=rollout_id)
        names = self._names
        hint = (
            f"set {names.tracing_url} to read completion from a tracing gateway"
            if self._mode == "auto"
            else f"use {names.status_mode} auto or gateway with a {names.tracing_url}"
        )
        raise errors.FatalAPIError(
            f"the rollout service has no GET /status (HTTP 404 from {self._base}/status); {hint}",
            status=exc.status,
        )

    def trace_messages(self, *, rollout_id: str) -> list[dict[str, Any]] | None:
        """The rollout's conversation from the gateway's trace, when status came from the gateway
        (`gateway.Gateway.trace_messages`); None in `service` mode."""
        if self._mode != "gateway":
            return None
        return self._gateway.trace_messages(rollout_id=rollout_id)

    def redact(self, text: str) -> str:
        """`text` with the tracing key and every `api_key` sent replaced by `***`."""
        return self._redactor.redact(text)
