"""The workflows users copy from our docs, extracted from the Markdown itself.

Every fenced ```yaml block in ``README.md`` and ``docs/**/*.md`` that parses to a mapping with both
``on:`` and ``jobs:`` is a workflow. There are no hand-kept copies: the e2e tests run exactly these
texts through act, and ``scripts/test.sh`` writes them to a directory for actionlint, zizmor and
check-jsonschema (``python -m tests.e2e.docs_workflows OUTDIR``).

A workflow is known by its ``name:``; names must be unique across the docs, because the e2e tests
are keyed by them (a documented workflow without a test case fails
``test_every_doc_workflow_has_a_case``).
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<language>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.M | re.S,
)


@dataclasses.dataclass(frozen=True)
class CodeBlock:
    """One fenced code block of a Markdown file, dedented."""

    source: str  # path relative to the repository root
    line: int  # line of the opening fence
    language: str  # the fence's info string up to the first space ("" for none)
    text: str


@dataclasses.dataclass(frozen=True)
class DocWorkflow:
    """One workflow as it appears in a Markdown file."""

    source: str  # path relative to the repository root
    line: int  # line of the opening fence
    text: str
    data: dict[object, object]

    @property
    def name(self) -> str:
        """The workflow's ``name:``, or ``<file>:<line>`` when it has none."""
        name = self.data.get("name")
        return name if isinstance(name, str) and name else f"{self.source}:{self.line}"

    @property
    def triggers(self) -> list[str]:
        """Event names of the ``on:`` key (YAML 1.1 reads a bare ``on`` as ``True``)."""
        on = self.data.get("on", self.data.get(True))
        if isinstance(on, str):
            return [on]
        if isinstance(on, list):
            return [str(event) for event in on]
        if isinstance(on, dict):
            return [str(event) for event in on]
        return []

    @property
    def file_name(self) -> str:
        """A file name for this workflow, derived from its name."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")
        return f"{slug or 'workflow'}.yml"


def markdown_files(*, root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    """README.md plus every Markdown file under docs/ except the developer notes in docs/dev/."""
    files = [root / "README.md"] if (root / "README.md").exists() else []
    docs = root / "docs"
    files += sorted(path for path in docs.rglob("*.md") if path.relative_to(docs).parts[0] != "dev")
    return files


def _dedent(body: str, indent: str) -> str:
    lines = body.splitlines(keepends=True)
    return "".join(line[len(indent) :] if line.startswith(indent) else line for line in lines)


def code_blocks(path: pathlib.Path, *, root: pathlib.Path = ROOT) -> list[CodeBlock]:
    """The fenced code blocks of one Markdown file, in order."""
    text = path.read_text(encoding="utf-8")
    return [
        CodeBlock(
            source=str(path.relative_to(root)),
            line=text.count("\n", 0, match.start()) + 1,
            language=match.group("language"),
            text=_dedent(match.group("body"), match.group("indent")),
        )
        for match in _FENCE.finditer(text)
    ]


def extract(path: pathlib.Path, *, root: pathlib.Path = ROOT) -> list[DocWorkflow]:
    """The workflows in one Markdown file, in order."""
    found = []
    for block in code_blocks(path, root=root):
        if block.language not in ("yaml", "yml"):
            continue
        try:
            data = yaml.safe_load(block.text)
        except yaml.YAMLError:
            continue  # not YAML at all; the YAML-lint of docs is not this module's job
        if isinstance(data, dict) and "jobs" in data and ("on" in data or True in data):
            found.append(
                DocWorkflow(source=block.source, line=block.line, text=block.text, data=data)
            )
    return found


def all_workflows(*, root: pathlib.Path = ROOT) -> list[DocWorkflow]:
    """Every documented workflow, README first."""
    return [workflow for path in markdown_files(root=root) for workflow in extract(path, root=root)]


def write_all(out_dir: pathlib.Path, *, root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    """Write every documented workflow to ``out_dir``; fail on duplicate names."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, DocWorkflow] = {}
    for workflow in all_workflows(root=root):
        if workflow.file_name in written:
            first = written[workflow.file_name]
            raise SystemExit(
                f"duplicate workflow name {workflow.name!r}: {first.source}:{first.line} "
                f"and {workflow.source}:{workflow.line}; give each documented workflow its own "
                "name:"
            )
        written[workflow.file_name] = workflow
        (out_dir / workflow.file_name).write_text(workflow.text, encoding="utf-8")
    return [out_dir / name for name in written]


def main(argv: list[str]) -> int:
    """``python -m tests.e2e.docs_workflows OUTDIR``: write the documented workflows there."""
    if len(argv) != 1:
        print("usage: python -m tests.e2e.docs_workflows OUTDIR", file=sys.stderr)
        return 2
    paths = write_all(pathlib.Path(argv[0]))
    for path in paths:
        print(path)
    if not paths:
        print("no workflows found in README.md or docs/", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
