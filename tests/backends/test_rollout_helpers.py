"""`evals_action.rollout`: what an agent uses to report status, against the loopback gateway."""

from __future__ import annotations

import json
import logging
import pathlib
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from evals_action import models, rollout
from evals_action.eval_protocol import remote_client, states

from . import servers
from .conftest import TRACING_KEY, assert_no_secret


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    """A fresh logger at Python's default effective level (WARNING, from the root)."""
    name = f"agent.{id(object())}"
    log = logging.getLogger(name)
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
    for f in list(log.filters):
        log.removeFilter(f)
    log.__dict__.pop("isEnabledFor", None)
    logging.Logger.manager.loggerDict.pop(name, None)


def test_finish_log_reaches_the_gateway_under_the_default_warning_level(
    gateway: servers.TracingGateway, logger: logging.Logger
) -> None:
    """The reference's pitfall: an INFO 'finished' log under WARNING must still be sent."""
    assert logger.getEffectiveLevel() == logging.WARNING
    rollout.StatusLogHandler(gateway.url, TRACING_KEY).attach(logger)
    logger.addFilter(rollout.RolloutIdFilter("r-1"))
    logger.info("step 1 done")  # below WARNING, no status: dropped as before
    logger.info("all done", extra={"status": rollout.Status.rollout_finished()})
    assert [e["message"] for e in gateway.entries] == ["all done"]
    (entry,) = gateway.entries
    assert entry["status"] == {"code": 100, "message": "Rollout finished", "details": []}
    assert entry["tags"] == ["rollout_id:r-1"]
    assert entry["program"] == "eval_protocol"
    assert entry["extras"]["logger_name"] == logger.name
    assert entry["extras"]["level"] == "INFO"
    assert entry["extras"]["timestamp"].endswith("Z")
    assert logger.level == logging.NOTSET  # the logger's own level is untouched
    assert not logger.isEnabledFor(logging.DEBUG)


def test_plain_add_handler_loses_the_finish_which_is_why_attach_exists(
    gateway: servers.TracingGateway, logger: logging.Logger
) -> None:
    """Without attach, Python itself drops the INFO record before any handler sees it."""
    logger.addHandler(rollout.StatusLogHandler(gateway.url, TRACING_KEY))
    logger.info("all done", extra={"status": rollout.Status.rollout_finished(), "rollout_id": "x"})
    assert gateway.entries == []


def test_other_handlers_see_what_they_saw_before(
    gateway: servers.TracingGateway, logger: logging.Logger
) -> None:
    """attach leaves non-status INFO records out for every handler, and keeps WARNING ones."""
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logger.addHandler(Collect())
    logger.propagate = False
    rollout.StatusLogHandler(gateway.url, TRACING_KEY).attach(logger)
    logger.addFilter(rollout.RolloutIdFilter("r-2"))
    logger.info("chatter")
    logger.warning("careful")
    logger.error("boom", extra={"status": rollout.Status.rollout_error("tool crashed")})
    assert seen == ["careful", "boom"]
    assert [(e["message"], e["status"]) for e in gateway.entries] == [
        ("careful", None),
        ("boom", {"code": 13, "message": "tool crashed", "details": []}),
    ]


def test_ep_rollout_id_tags_records_for_one_rollout_per_process(
    gateway: servers.TracingGateway, logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EP_ROLLOUT_ID stands in for the filter; records without any id are not sent."""
    handler = rollout.StatusLogHandler(gateway.url, TRACING_KEY).attach(logger)
    logger.warning("no id yet")
    monkeypatch.setenv("EP_ROLLOUT_ID", "env-rollout")
    logger.warning("with id", extra={"status": rollout.Status.rollout_running()})
    assert [(e["message"], e["tags"]) for e in gateway.entries] == [
        ("with id", ["rollout_id:env-rollout"])
    ]
    assert handler.gateway_url == gateway.url


def test_environment_configures_the_handler_and_v1_fallback(
    logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FW_TRACING_GATEWAY_BASE_URL and FIREWORKS_API_KEY; a 404 on /logs retries /v1/logs."""
    with servers.TracingGateway(api_key=TRACING_KEY, logs_path="/v1/logs") as gw:
        monkeypatch.setenv("FW_TRACING_GATEWAY_BASE_URL", gw.url + "/")
        monkeypatch.setenv("FIREWORKS_API_KEY", TRACING_KEY)
        rollout.StatusLogHandler().attach(logger)
        logger.addFilter(rollout.RolloutIdFilter("r-3"))
        logger.warning("one")
        logger.warning("two")
        paths = [(r.method, r.path, r.status) for r in gw.requests]
        assert gw.violations == []
    assert paths == [("POST", "/logs", 404), ("POST", "/v1/logs", 200), ("POST", "/v1/logs", 200)]


def test_post_failures_never_raise_or_print_the_key(
    logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    """A gateway that refuses the key: one line on stderr, no exception, no key."""
    with servers.TracingGateway(api_key="other-key") as gw:
        rollout.StatusLogHandler(gw.url, TRACING_KEY).attach(logger)
        logger.addFilter(rollout.RolloutIdFilter("r-4"))
        logger.error("x", extra={"status": rollout.Status.rollout_finished()})
    err = capsys.readouterr().err
    assert "could not post a status log" in err
    assert_no_secret(err)


def test_handler_and_client_agree_end_to_end(
    gateway: servers.TracingGateway, logger: logging.Logger, session: requests.Session
) -> None:
    """What the handler posts is what the remote client reads back: status, message, result."""
    rollout.StatusLogHandler(gateway.url, TRACING_KEY).attach(logger)
    logger.addFilter(rollout.RolloutIdFilter("r-5"))
    client = remote_client.RemoteRolloutClient(
        session=session,
        rollout_url="http://127.0.0.1:9",
        status_mode="gateway",
        tracing_url=gateway.url,
        tracing_api_key=TRACING_KEY,
    )
    logger.warning("started", extra={"status": rollout.Status.rollout_running()})
    assert client.status(rollout_id="r-5").terminal is False
    result = {"schema": 1, "rollout_id": "r-5", "outcome": "succeeded", "score": 77}
    logger.info(
        "finished", extra={"status": rollout.Status.rollout_finished("all good"), "result": result}
    )
    assert client.status(rollout_id="r-5") == states.RolloutState(
        terminal=True, status=models.COMPLETED, message="all good", result=result
    )


def test_write_result(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """write_result writes schema 1 with the rollout id (from EP_ROLLOUT_ID by default)."""
    monkeypatch.setenv("EP_ROLLOUT_ID", "r-6")
    path = rollout.write_result(
        tmp_path / "out" / "rollout-result.json",
        outcome="goal_not_met",
        score=55.5,
        summary="no checkout button",
        metrics={"timeSeconds": 12},
    )
    assert json.loads(pathlib.Path(path).read_text()) == {
        "schema": 1,
        "rollout_id": "r-6",
        "outcome": "goal_not_met",
        "score": 55.5,
        "summary": "no checkout button",
        "metrics": {"timeSeconds": 12},
    }
    with pytest.raises(ValueError, match="0 to 100"):
        rollout.write_result(tmp_path / "bad.json", score=101)


def test_status_helpers_match_eval_protocol() -> None:
    """Codes: finished 100, error 13 with the message, running 101 (not terminal)."""
    assert rollout.Status.rollout_finished().to_dict()["code"] == 100
    assert rollout.Status.rollout_error("x").to_dict() == {
        "code": 13,
        "message": "x",
        "details": [],
    }
    assert rollout.Status.rollout_running().terminal is False


def test_importable_without_click_pygithub_or_jinja2() -> None:
    """Agents install only requests: importing the module must not need the action's deps."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('click', 'github', 'jinja2', 'backoff'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import evals_action.rollout\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr
