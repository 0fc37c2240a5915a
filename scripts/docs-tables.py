"""Write docs/reference.md's inputs and outputs tables from action.yml and `inputs.TABLE`.

Run `python scripts/docs-tables.py` after changing an input or an output of action.yml;
`--check` exits 1 (and changes nothing) when the tables are out of date, which is what
`tests/unit/test_docs_tables.py` asks.
"""

from __future__ import annotations

import pathlib
import sys
from typing import Any

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals_action import inputs  # noqa: E402  (needs the path above)

REFERENCE = ROOT / "docs" / "reference.md"


def _default(spec: dict[str, Any]) -> str:
    if spec.get("required"):
        return "required"
    default = spec.get("default")
    return "—" if default in (None, "") else f"`{default}`"


def input_rows(action: dict[str, Any]) -> list[str]:
    specs = action["inputs"]
    return [
        f"| `{item.name}` | `{item.env}` | {_default(specs[item.name])} | "
        f"{specs[item.name]['description']} |"
        for item in inputs.TABLE
    ]


def output_rows(action: dict[str, Any]) -> list[str]:
    return [f"| `{name}` | {spec['description']} |" for name, spec in action["outputs"].items()]


def _replace(text: str, *, header: str, rows: list[str]) -> str:
    """The rows under the table whose header line is `header`, replaced."""
    head, rest = text.split(header + "\n", 1)
    separator, rest = rest.split("\n", 1)
    lines = rest.split("\n")
    kept = lines[next(i for i, line in enumerate(lines) if not line.startswith("|")) :]
    return "\n".join([head + header, separator, *rows, *kept])


def render(text: str, *, action: dict[str, Any]) -> str:
    text = _replace(text, header="| input | env | default | description |", rows=input_rows(action))
    return _replace(text, header="| output | description |", rows=output_rows(action))


def main(argv: list[str]) -> int:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    text = REFERENCE.read_text(encoding="utf-8")
    wanted = render(text, action=action)
    if "--check" in argv:
        return 0 if wanted == text else 1
    REFERENCE.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
