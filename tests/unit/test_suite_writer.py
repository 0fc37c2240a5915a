"""The suite's status writer: a status already on its way to GitHub is not written twice."""

from __future__ import annotations

import threading

from evals_action import sinks
from evals_action.suite import writer


def _fields(state: str) -> sinks.StatusFields:
    return sinks.StatusFields(
        state=state, context="2027/eval/a", description="3/3 passed", target_url=""
    )


def test_the_same_status_put_while_it_is_being_written_is_not_written_again() -> None:
    writing, release = threading.Event(), threading.Event()
    written: list[sinks.StatusFields] = []

    def write(fields: sinks.StatusFields) -> bool:
        written.append(fields)
        writing.set()
        release.wait()
        return True

    out = writer.StatusWriter(write=write)
    out.put(_fields("success"))
    assert writing.wait(timeout=10)
    out.put(_fields("success"))  # a prompt's final status, then the step's final pass
    release.set()
    assert out.drain()
    out.close()
    assert written == [_fields("success")]


def test_a_changed_status_put_while_the_old_one_is_being_written_is_written_after_it() -> None:
    writing, release = threading.Event(), threading.Event()
    written: list[str] = []

    def write(fields: sinks.StatusFields) -> bool:
        written.append(fields.state)
        writing.set()
        release.wait()
        return True

    out = writer.StatusWriter(write=write)
    out.put(_fields("pending"))
    assert writing.wait(timeout=10)
    out.put(_fields("success"))
    release.set()
    assert out.drain()
    out.close()
    assert written == ["pending", "success"]
