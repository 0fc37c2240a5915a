"""The GitHub Actions step's I/O (`StepIO`): step outputs, the job summary and workflow commands.

In Actions, outputs go to `GITHUB_OUTPUT` in the `name<<DELIM` form with a random delimiter, the
summary is appended to `GITHUB_STEP_SUMMARY`, and annotations are `::error::`-style lines on
stdout. Outside Actions (`--local`, `--dry-run`) the same calls print readable text instead.
Everything written passes through the step's `redaction.Secrets`, so a secret never leaves the
process, and every log line is defused, so text from a server cannot forge a workflow command.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import TextIO

from evals_action import redaction

# The runner reads a step's output with .NET's `StreamReader.ReadLine`, which ends a line at
# `\n`, `\r` or `\r\n`. The other separators Python knows are split too, to be safe.
_LINE_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_ZWSP = "\u200b"


class StepIO:
    """Writes outputs, summary and annotations, redacting every known secret."""

    def __init__(
        self,
        *,
        output_path: str = "",
        summary_path: str = "",
        actions: bool = False,
        stdout: TextIO | None = None,
        secret_values: Iterable[str] = (),
    ) -> None:
        self._output_path = output_path
        self._summary_path = summary_path
        self.actions = actions
        self._out = stdout or sys.stdout
        self.secrets = redaction.Secrets(secret_values)
        self._masked: set[str] = set()
        self.outputs: dict[str, str] = {}

    # --- secrets ----------------------------------------------------------------------------

    def add_secret(self, value: str) -> None:
        """Redact `value` from everything written, and (in Actions) ask the runner to mask it."""
        if not value:
            return
        self.secrets.add(value)
        if self.actions and value not in self._masked:
            self._masked.add(value)
            self.mask(value)

    def mask(self, value: str) -> None:
        """Ask the runner to hide `value` (each line separately, as the runner masks per line)."""
        for line in value.splitlines():
            if line.strip():
                self._out.write(f"::add-mask::{escape_data(line)}\n")
        self._out.flush()

    def redact(self, text: str) -> str:
        return self.secrets.redact(text)

    # --- log and annotations ----------------------------------------------------------------

    def info(self, message: str) -> None:
        """Log lines. Every line is defused (`defuse_lines`), in every mode: `--local` and
        `--dry-run` may run inside a workflow step too."""
        self._out.write(defuse_lines(self.redact(message)) + "\n")
        self._out.flush()

    def annotate(self, level: str, message: str, *, title: str = "evals-action") -> None:
        """`level` is error, warning or notice."""
        text = self.redact(message)
        if self.actions:
            self._out.write(f"::{level} title={escape_property(title)}::{escape_data(text)}\n")
        else:
            self._out.write(defuse_lines(f"{level}: {text}") + "\n")
        self._out.flush()

    def group(self, title: str) -> None:
        if self.actions:
            self._out.write(f"::group::{escape_data(self.redact(title))}\n")
        else:
            self._out.write(defuse_lines(f"--- {self.redact(title)}") + "\n")

    def endgroup(self) -> None:
        if self.actions:
            self._out.write("::endgroup::\n")
        self._out.flush()

    # --- outputs and summary ----------------------------------------------------------------

    def set_outputs(self, values: Mapping[str, str | None]) -> None:
        clean = {name: self.redact(value or "") for name, value in values.items()}
        self.outputs.update(clean)
        if self._output_path:
            with open(self._output_path, "a", encoding="utf-8") as handle:
                for name, value in clean.items():
                    handle.write(format_output(name, value))

    def write_summary(self, markdown: str) -> None:
        if self._summary_path:
            with open(self._summary_path, "a", encoding="utf-8") as handle:
                handle.write(self.redact(markdown))
                if not markdown.endswith("\n"):
                    handle.write("\n")


@contextlib.contextmanager
def warnings_to(step: StepIO) -> Iterator[None]:
    """Backends log their warnings (no baseline, bad artifact, ...); show them as annotations."""
    logger = logging.getLogger("evals_action")
    handler = WarningHandler(step)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


class WarningHandler(logging.Handler):
    """Routes the package's `logging` warnings (backends log there) to `::warning::` lines."""

    def __init__(self, step: StepIO) -> None:
        super().__init__(level=logging.WARNING)
        self._step = step

    def emit(self, record: logging.LogRecord) -> None:
        level = "error" if record.levelno >= logging.ERROR else "warning"
        self._step.annotate(level, record.getMessage())


def defuse_lines(text: str) -> str:
    """`text` as lines the runner reads as plain text: every line break it honours becomes
    `\\n`, and no line can be a workflow command (`defuse`)."""
    return "\n".join(defuse(line) for line in _LINE_BREAK.split(text))


def defuse(line: str) -> str:
    """The runner treats a line starting with `::` (after whitespace) as a command, and a
    legacy `##[command]` anywhere in a line; break both with a zero-width space."""
    line = line.replace("##[", f"#{_ZWSP}#[")
    stripped = line.lstrip()
    if stripped.startswith("::"):
        return line[: len(line) - len(stripped)] + f":{_ZWSP}:" + stripped[2:]
    return line


def format_output(name: str, value: str) -> str:
    """`name<<DELIM`, the value, `DELIM`: safe for any value, including multi-line ones."""
    delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    while delimiter in value:
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
