"""Helpers for agent authors: report a rollout's status the way Eval Protocol's gateway reads it.

Only the standard library and `requests`: an agent can install evals-action (from a clone:
`pip install .`) and import this module without click, PyGithub or jinja2
(`rollout-contracts.md`, For agent authors).

    import logging
    from evals_action import rollout

    log = logging.getLogger("my_agent")
    rollout.StatusLogHandler().attach(log)           # gateway from FW_TRACING_GATEWAY_BASE_URL
    log.addFilter(rollout.RolloutIdFilter(rollout_id))
    ...
    log.info("done", extra={"status": rollout.Status.rollout_finished()})
    rollout.write_result("rollout-result.json", score=87, outcome="succeeded")

`attach` makes sure a record that carries a terminal status reaches the gateway whatever the
logger's level: Eval Protocol's own handler loses its INFO-level "finished" log under Python's
default WARNING level, and the rollout then never ends.

Environment (compatible with Eval Protocol): `FW_TRACING_GATEWAY_BASE_URL`, `FIREWORKS_API_KEY`,
`EP_ROLLOUT_ID` (one rollout per process).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
import logging
import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

import requests

ENV_GATEWAY = "FW_TRACING_GATEWAY_BASE_URL"
ENV_API_KEY = "FIREWORKS_API_KEY"
ENV_ROLLOUT_ID = "EP_ROLLOUT_ID"
PROGRAM = "eval_protocol"
RESULT_SCHEMA = 1
# Record attributes that become `<name>:<value>` tags when present.
TAG_ATTRIBUTES = ("rollout_id", "invocation_id", "experiment_id", "run_id", "row_id")

__all__ = [
    "RolloutIdFilter",
    "Status",
    "StatusLogHandler",
    "current_rollout_id",
    "write_result",
]


@dataclasses.dataclass(frozen=True)
class Status:
    """Eval Protocol's `Status` (AIP-193 style): `code`, `message`, `details`."""

    code: int
    message: str = ""
    details: tuple[Any, ...] = ()

    FINISHED = 100
    RUNNING = 101
    INTERNAL = 13

    @classmethod
    def rollout_finished(cls, message: str = "Rollout finished") -> Status:
        return cls(code=cls.FINISHED, message=message)

    @classmethod
    def rollout_error(cls, message: str, *, details: list[Any] | None = None) -> Status:
        return cls(code=cls.INTERNAL, message=message, details=tuple(details or ()))

    @classmethod
    def rollout_running(cls, message: str = "Rollout running") -> Status:
        return cls(code=cls.RUNNING, message=message)

    @property
    def terminal(self) -> bool:
        return self.code != self.RUNNING

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": list(self.details)}


def current_rollout_id() -> str | None:
    """`EP_ROLLOUT_ID`, when this process runs one rollout."""
    return os.environ.get(ENV_ROLLOUT_ID) or None


class RolloutIdFilter(logging.Filter):
    """Tags every record with `rollout_id` (default: `EP_ROLLOUT_ID`). Never drops a record."""

    def __init__(self, rollout_id: str | None = None) -> None:
        super().__init__()
        self.rollout_id = rollout_id

    def filter(self, record: logging.LogRecord) -> bool:
        rollout_id = self.rollout_id or current_rollout_id()
        if rollout_id and not getattr(record, "rollout_id", None):
            record.rollout_id = rollout_id
        return True


class _KeepTerminal(logging.Filter):
    """Logger filter installed by `attach`: the logger's own level, except for terminal statuses."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__()
        self.logger = logger

    def filter(self, record: logging.LogRecord) -> bool:
        if _is_terminal(getattr(record, "status", None)):
            return True
        return logging.Logger.isEnabledFor(self.logger, record.levelno)


def _enabled_for_status(logger: logging.Logger, level: int) -> bool:
    """`isEnabledFor` of an attached logger: INFO and above always make a record (filtered next)."""
    if level >= logging.INFO and not logger.disabled and logging.root.manager.disable < level:
        return True
    return logging.Logger.isEnabledFor(logger, level)


class StatusLogHandler(logging.Handler):
    """Posts each record as a structured status log to `{gateway}/logs` (404 → `/v1/logs`).

    Records without a rollout id (from `RolloutIdFilter` or `EP_ROLLOUT_ID`) are skipped. A record
    with `extra={"status": Status...}` carries that status; `extra={"result": {...}}` travels as
    `extras.result`. Posting never raises: a failure is one line on stderr, without the key.
    """

    def __init__(
        self,
        gateway_url: str | None = None,
        api_key: str | None = None,
        *,
        session: requests.Session | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(level=logging.NOTSET)
        self.gateway_url = (gateway_url or os.environ.get(ENV_GATEWAY) or "").rstrip("/")
        self._api_key = api_key if api_key is not None else os.environ.get(ENV_API_KEY, "")
        self._session = session or requests.Session()
        self._timeout = timeout
        self._path = "/logs"
        self._busy = threading.local()

    def attach(self, logger: logging.Logger | str | None = None) -> StatusLogHandler:
        """Add this handler to `logger` so terminal statuses pass whatever the logger's level.

        The logger then makes a record for every INFO-or-above call, and a filter keeps only those
        its level allows or that carry a terminal status: other handlers see what they saw before
        (plus the finish), and the logger's level, and so its children's, is left alone.
        """
        target = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger)
        if not any(isinstance(f, _KeepTerminal) for f in target.filters):
            target.addFilter(_KeepTerminal(target))
            setattr(target, "isEnabledFor", functools.partial(_enabled_for_status, target))  # noqa: B010
        target.addHandler(self)
        return self

    def payload(self, record: logging.LogRecord) -> dict[str, Any] | None:
        """The JSON body for `record`, or None when it has no rollout id."""
        rollout_id = getattr(record, "rollout_id", None) or current_rollout_id()
        if not rollout_id:
            return None
        tags = [f"rollout_id:{rollout_id}"]
        for name in TAG_ATTRIBUTES[1:]:
            value = getattr(record, name, None)
            if value:
                tags.append(f"{name}:{value}")
        extras: dict[str, Any] = {}
        own = getattr(record, "extras", None)
        if isinstance(own, Mapping):
            extras.update(own)
        result = getattr(record, "result", None)
        if result is not None:
            extras["result"] = result
        extras.update(
            logger_name=record.name,
            level=record.levelname,
            timestamp=datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
            .isoformat()
            .replace("+00:00", "Z"),
        )
        return {
            "program": PROGRAM,
            "status": _status_dict(getattr(record, "status", None)),
            "message": record.getMessage(),
            "tags": tags,
            "extras": extras,
        }

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._busy, "on", False) or not self.gateway_url:
            return  # our own HTTP client's logs, or nowhere to send
        self._busy.on = True
        try:
            body = self.payload(record)
            if body is not None:
                self._post(body)
        except Exception as exc:  # noqa: BLE001 - a log handler must never raise into the agent
            sys.stderr.write(
                f"StatusLogHandler: could not post a status log to {self.gateway_url} "
                f"({type(exc).__name__})\n"
            )
        finally:
            self._busy.on = False

    def _post(self, body: Mapping[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        for path in dict.fromkeys((self._path, "/v1/logs")):
            response = self._session.post(
                f"{self.gateway_url}{path}", json=body, headers=headers, timeout=self._timeout
            )
            if response.status_code == 404:
                continue
            response.raise_for_status()
            self._path = path
            return
        raise requests.HTTPError("HTTP 404 from /logs and /v1/logs")


def write_result(path: str | os.PathLike[str], **fields: Any) -> str:
    """Write the rollout result file (`rollout-result.json` in the `rollout-result` artifact).

    Fields: `rollout_id` (default `EP_ROLLOUT_ID`), `outcome`, `score` (0-100 or None), `grade`,
    `summary`, `report_url`, `metrics` (`timeSeconds`, `costUsd`, `errors`, `interruptions`),
    `messages`. Returns the path written.
    """
    score = fields.get("score")
    if score is not None and (
        isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 100
    ):
        raise ValueError(f"score must be a number from 0 to 100 or None (got {score!r})")
    body: dict[str, Any] = {"schema": RESULT_SCHEMA}
    rollout_id = fields.pop("rollout_id", None) or current_rollout_id()
    if rollout_id:
        body["rollout_id"] = rollout_id
    body.update(fields)
    target = os.fspath(path)
    directory = os.path.dirname(target)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(body, handle, indent=2)
        handle.write("\n")
    return target


def _status_dict(value: Any) -> dict[str, Any] | None:
    if isinstance(value, Status):
        return value.to_dict()
    if isinstance(value, Mapping) and isinstance(value.get("code"), int):
        return {
            "code": value["code"],
            "message": str(value.get("message") or ""),
            "details": list(value.get("details") or []),
        }
    to_dict = getattr(value, "model_dump", None)  # Eval Protocol's own pydantic Status
    if callable(to_dict):
        return _status_dict(to_dict())
    return None


def _is_terminal(value: Any) -> bool:
    status = _status_dict(value)
    return status is not None and status["code"] != Status.RUNNING
