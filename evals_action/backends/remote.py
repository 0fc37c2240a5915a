"""The `remote` backend: an Eval Protocol rollout service (`rollout-contracts.md`, `remote`).

`RemoteRolloutClient` speaks the wire contract (`POST /init`, then the service's `GET /status`
or a tracing gateway's `/v1/status` plus `/logs`); the self-hosted server reuses it.
`RemoteBackend` wraps it as a `base.Backend`. Neither sleeps nor retries: timing is `polling`'s.
Secrets (`api_key` in the body, the tracing key) never reach a message: every error text passes
through `rollout_common.redact`.
"""

from __future__ import annotations

import dataclasses
import logging
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests

from evals_action import errors, github_api, http, models, polling, settings
from evals_action.backends import base, rollout_common, tracing
from evals_action.backends.rollout_common import RolloutState

__all__ = ["RemoteBackend", "RemoteRolloutClient", "RolloutState", "create"]

log = logging.getLogger(__name__)

INIT_TIMEOUT = (10.0, 60.0)
STATUS_MODES = ("auto", "service", "gateway")
LOGS_PARAMS = {"limit": 100, "hours_back": 24, "program": "eval_protocol"}
BODY_SNIPPET = 300


@dataclasses.dataclass(frozen=True)
class SettingNames:
    """What the user calls the client's settings, for the hints in errors (the action's inputs)."""

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
        timeout: tuple[float, float] = http.DEFAULT_TIMEOUT,
        warn: Callable[[str], None] | None = None,
        names: SettingNames = SettingNames(),  # noqa: B008 - frozen, so one shared default is safe
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
        self._names = names

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
            response = self._session.post(
                url, json=request, timeout=INIT_TIMEOUT, allow_redirects=False
            )
        except requests.Timeout:
            raise errors.TransientAPIError(
                f"{what}: no answer from {url} within {INIT_TIMEOUT[1]:.0f} s"
            ) from None  # the cause holds the prepared request, api_key included
        except requests.RequestException as exc:
            raise errors.TransientAPIError(
                f"{what}: could not reach {url} ({http.reason(exc)}); check {self._names.url} "
                "and that the service is up"
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return
        body = self.redact(response.text or "")[:BODY_SNIPPET]
        body = " ".join(body.split())
        message = f"{what}: HTTP {status} from {url}" + (f": {body}" if body else "")
        if status == 429 or status >= 500:
            raise errors.TransientAPIError(
                message,
                status=status,
                retry_after=http.parse_retry_after(response.headers.get("Retry-After")),
            )
        raise errors.FatalAPIError(
            message + " (the rollout service rejected the request; check its logs)",
            status=status,
        )

    # --- completion -------------------------------------------------------------------------

    def status(self, *, rollout_id: str) -> RolloutState:
        """The rollout's state from the service or the gateway (`rollout-status`)."""
        if self._mode == "gateway":
            return self._gateway_status(rollout_id)
        return self._service_status(rollout_id)

    def _service_status(self, rollout_id: str) -> RolloutState:
        url = f"{self._base}/status"
        try:
            with self._redacting():
                response = http.send(
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
        data = http.json_body(response, what="read rollout status")
        if not isinstance(data, dict):
            raise errors.ClientAPIError("read rollout status: the body is not a JSON object")
        if data.get("terminated") is not True:
            return rollout_common.RUNNING_STATE
        info = _object(data.get("info"))
        result = self._result(info.get("result"), where="the service's info.result")
        code = rollout_common.status_code(data.get("status"))
        if code is None or code == rollout_common.CODE_RUNNING:
            code = rollout_common.CODE_FINISHED  # terminated without a status: finished
        return rollout_common.state_from_status(
            code=code, message=rollout_common.status_message(data.get("status")), result=result
        )

    def _no_status_endpoint(self, rollout_id: str, exc: errors.APIError) -> RolloutState:
        if self._mode == "auto" and self._tracing:
            self._mode = "gateway"
            return self._gateway_status(rollout_id)
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

    def _gateway_status(self, rollout_id: str) -> RolloutState:
        data = self._gateway_get(
            paths=(self._status_path, "/status"),
            remember="_status_path",
            params={"rollout_id": rollout_id},
            what="read rollout status from the tracing gateway",
        )
        code = rollout_common.status_code(data.get("status"))
        if code is None or code == rollout_common.CODE_RUNNING:
            return rollout_common.RUNNING_STATE
        message = rollout_common.status_message(data.get("status"))
        extras = _object(data.get("extras"))
        raw_result = extras.get("result")
        entry = self._log_entry(rollout_id, code=code)
        if entry is not None:
            message = rollout_common.status_message(entry.get("status")) or message
            if isinstance(entry.get("message"), str) and entry["message"] and not message:
                message = entry["message"]
            entry_extras = _object(entry.get("extras"))
            raw_result = entry_extras.get("result", raw_result)
        result = self._result(raw_result, where="the gateway's extras.result")
        return rollout_common.state_from_status(code=code, message=message, result=result)

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
                response = http.send(
                    self._session,
                    method="GET",
                    url=f"{self._tracing}{tracing.TRACES_PATH}",
                    what=what,
                    headers=headers,
                    params=tracing.traces_params(rollout_id=rollout_id),
                    timeout=self._timeout,
                )
                body = http.json_body(response, what=what)
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
            if isinstance(entry, dict) and rollout_common.status_code(entry.get("status")) == code:
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
                    response = http.send(
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
            data = http.json_body(response, what=what)
            if not isinstance(data, dict):
                raise errors.ClientAPIError(f"{what}: the body is not a JSON object")
            return data
        assert last is not None
        raise errors.FatalAPIError(
            f"{what}: HTTP 404 from {self._tracing}{paths[0]} and {paths[1]} "
            f"(check {self._names.tracing_url})",
            status=404,
        )

    def _result(self, value: Any, *, where: str) -> dict[str, Any] | None:
        if value is None:
            return None
        try:
            return rollout_common.check_result(value)
        except ValueError as exc:
            self._warn(f"Ignoring the rollout result in {where}: {exc}")
            return None

    # --- secrets ----------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        return rollout_common.redact(text, self._secrets)

    @contextmanager
    def _redacting(self) -> Iterator[None]:
        try:
            yield
        except errors.EvalsActionError as exc:
            exc.message = self.redact(exc.message)
            exc.args = (exc.message,)
            raise


# Eval Protocol's client tries `/init` three times (5xx, resets, timeouts; 429 too, honouring
# Retry-After, where the reference gives up: a 429 says "later", not "never").


class RemoteBackend:
    """`base.Backend` over a `RemoteRolloutClient`: one rollout per action run."""

    def __init__(
        self,
        *,
        client: RemoteRolloutClient,
        prompt: rollout_common.Prompt,
        ids: rollout_common.Correlation,
        model_base_url: str = "",
        api_key: str = "",
    ) -> None:
        self._client = client
        self._prompt = prompt
        self._ids = ids
        self._model_base_url = model_base_url
        self._api_key = api_key
        self._text: str | None = rollout_common.prompt_text(prompt.messages)

    @property
    def start_policy(self) -> polling.RetryPolicy:
        return polling.INIT

    @property
    def supports_long_poll(self) -> bool:
        return False

    def describe(self, *, request: models.StartRequest) -> models.RequestPreview:
        return models.RequestPreview(
            method="POST",
            url=self._client.init_url,
            headers={"Content-Type": "application/json"},
            body=self._init_body(request, api_key="***" if self._api_key else ""),
        )

    def _init_body(self, request: models.StartRequest, *, api_key: str) -> dict[str, Any]:
        messages = rollout_common.target_messages(
            messages=self._prompt.messages,
            template_args=request.template_args,
            url_map=request.url_map,
        )
        self._text = rollout_common.prompt_text(messages)
        meta = rollout_common.metadata(
            ids=self._ids, url_map=request.url_map, template_args=request.template_args
        )
        return rollout_common.init_request(
            prompt=self._prompt,
            messages=messages,
            meta=meta,
            model_base_url=self._model_base_url,
            api_key=api_key,
        )

    def start(self, *, request: models.StartRequest) -> models.StartedRun:
        self._client.init(request=self._init_body(request, api_key=self._api_key))
        link = self._client.status_link(rollout_id=self._ids.rollout_id)
        return models.StartedRun(
            run_id=self._ids.rollout_id,
            run_url=link,
            status_url=link,
            extra_outputs=self._ids.outputs(),
        )

    def fetch(self, *, run_id: str, wait_seconds: float = 0) -> models.Run:
        state = self._client.status(rollout_id=run_id)
        # Read after `status`: once `auto` met a 404 on /status, the link is the gateway's.
        link = self._client.status_link(rollout_id=run_id)
        return rollout_common.run_from_state(
            state=state,
            run_id=run_id,
            run_url=link,
            status_url=link,
            prompt=self._prompt,
            text=self._text,
        )

    def cancel(self, *, run_id: str) -> None:
        """The contract has no cancel call: the service times the rollout out itself."""

    def baseline(self, *, prompt_id: str, current_run_id: str) -> models.Report | None:
        return None


def create(
    *,
    settings: settings.Settings,
    target: models.Target,
    session: requests.Session,
    github: Callable[..., github_api.GitHub],
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> base.Backend:
    """The remote backend for these settings; reads the prompt file (`ConfigError` if bad)."""
    rollout = settings.rollout
    prompt = rollout_common.load_prompt(rollout=rollout)
    client = RemoteRolloutClient(
        session=session,
        rollout_url=rollout.rollout_url,
        status_mode=rollout.status_mode,
        tracing_url=rollout.tracing_url or None,
        tracing_api_key=rollout.tracing_api_key or None,
    )
    return RemoteBackend(
        client=client,
        prompt=prompt,
        ids=rollout_common.correlation(settings_=settings, target=target),
        model_base_url=rollout.model_base_url,
        api_key=rollout.model_api_key,
    )


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
