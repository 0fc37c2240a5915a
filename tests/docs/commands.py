"""Shell commands users copy from our docs, extracted from the Markdown itself.

Like the workflows (``tests/e2e/docs_workflows.py``, whose Markdown reader this reuses), there are
no hand-kept copies: the tests run exactly what README.md and docs/*.md say.

- ``install_commands()``: every ``pip install ...`` in a shell code block or an inline code span.
- ``section_script(path, heading)``: the shell code blocks under one heading, as one script.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
import shlex

from tests.e2e import docs_workflows

ROOT = docs_workflows.ROOT
SHELL_LANGUAGES = ("sh", "bash", "shell", "console", "")
_INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_OPERATORS = {"&&", "||", ";", "|", "&"}


@dataclasses.dataclass(frozen=True)
class InstallCommand:
    """One ``pip install`` as the docs write it."""

    source: str  # path relative to the repository root
    line: int
    text: str  # the whole command line, as written
    args: tuple[str, ...]  # what follows ``install``

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(offset of the first line, line) with backslash continuations joined."""
    joined: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, line in enumerate(text.splitlines()):
        start, sofar = pending if pending else (number, "")
        if line.rstrip().endswith("\\"):
            pending = (start, sofar + line.rstrip()[:-1] + " ")
            continue
        pending = None
        joined.append((start, sofar + line))
    return joined


def _commands(line: str) -> list[list[str]]:
    """The simple commands of one shell line (split at `&&`, `;`, `|`...), comments dropped."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:  # not shell (program output in a bare fence); an install line must be
        if "pip" in line and "install" in line:
            raise
        return []
    commands: list[list[str]] = [[]]
    for token in tokens:
        if token in _OPERATORS:
            commands.append([])
        else:
            commands[-1].append(token)
    return [command for command in commands if command]


def pip_install_args(command: list[str]) -> tuple[str, ...] | None:
    """The arguments after ``install`` when ``command`` is a pip install, else None."""
    words = list(command)
    while words and (words[0] == "sudo" or re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0])):
        words.pop(0)
    program = pathlib.PurePosixPath(words[0]).name if words else ""
    if re.fullmatch(r"python[0-9.]*", program) and words[1:3] == ["-m", "pip"]:
        words = words[2:]
    elif not re.fullmatch(r"pip[0-9.]*", program):
        return None
    if words[1:2] != ["install"] or len(words) < 3:
        return None
    return tuple(words[2:])


def _in_text(source: str, text: str, line: int) -> list[InstallCommand]:
    found = []
    for offset, logical in _logical_lines(text):
        for command in _commands(logical):
            args = pip_install_args(command)
            if args is not None:
                found.append(
                    InstallCommand(
                        source=source, line=line + offset, text=logical.strip(), args=args
                    )
                )
    return found


def _fenced_lines(blocks: list[docs_workflows.CodeBlock]) -> set[int]:
    """The line numbers of the blocks, their fences included."""
    return {block.line + n for block in blocks for n in range(block.text.count("\n") + 2)}


def install_commands(*, root: pathlib.Path = ROOT) -> list[InstallCommand]:
    """Every ``pip install`` in README.md and docs/ (not docs/dev/), in order."""
    found: list[InstallCommand] = []
    for path in docs_workflows.markdown_files(root=root):
        blocks = docs_workflows.code_blocks(path, root=root)
        for block in blocks:
            if block.language in SHELL_LANGUAGES:
                found += _in_text(block.source, block.text, block.line + 1)
        fenced = _fenced_lines(blocks)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if number not in fenced:
                for span in _INLINE_CODE.findall(line):
                    found += _in_text(str(path.relative_to(root)), span, number)
    return found


def section_script(path: pathlib.Path, *, heading: str) -> str:
    """The shell code blocks between ``heading`` and the next heading of its level or above."""
    blocks = docs_workflows.code_blocks(path)
    fenced = _fenced_lines(blocks)
    level = len(heading) - len(heading.lstrip("#"))
    lines = path.read_text(encoding="utf-8").splitlines()
    first = lines.index(heading) + 1
    end = next(
        (
            number
            for number, line in enumerate(lines, start=1)
            if number > first and number not in fenced and re.match(rf"#{{1,{level}}} ", line)
        ),
        len(lines) + 1,
    )
    return "".join(
        block.text
        for block in blocks
        if block.language in SHELL_LANGUAGES and first < block.line < end
    )


def quote(args: tuple[str, ...]) -> str:
    """The arguments as one would type them again."""
    return " ".join(shlex.quote(arg) for arg in args)
