"""docs/reference.md's input and output tables say exactly what action.yml declares."""

from __future__ import annotations

import importlib.util
import pathlib
import re
import subprocess
import sys
from types import ModuleType

import yaml

ROOT = pathlib.Path(__file__).parents[2]


def table(section: str) -> list[list[str]]:
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in body.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def action() -> dict[str, dict[str, dict[str, object]]]:
    data = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_inputs_table_matches_action_yml() -> None:
    inputs = action()["inputs"]
    rows = table("Inputs")
    assert [r[0].strip("`") for r in rows] == list(inputs)
    for name, env, default, description in rows:
        spec = inputs[name.strip("`")]
        assert env == "`EVALS_" + name.strip("`").upper().replace("-", "_") + "`"
        if spec.get("required"):
            assert default == "required"
        elif spec.get("default") in (None, ""):
            assert default == "—"
        else:
            assert default == f"`{spec['default']}`"
        assert description == spec["description"]


def test_outputs_table_matches_action_yml() -> None:
    outputs = action()["outputs"]
    rows = table("Outputs")
    assert [r[0].strip("`") for r in rows] == list(outputs)
    for name, description in rows:
        assert description == outputs[name.strip("`")]["description"]


def test_cli_options_cover_every_input() -> None:
    """Each input is also an option of `evals-action run` (with the same env var)."""
    from evals_action import cli

    params = [p for p in cli.run_command.params if p.name not in ("dry_run", "local")]
    assert [p.opts[0] for p in params] == [f"--{name}" for name in action()["inputs"]]
    for param in params:
        name = param.opts[0].removeprefix("--")
        flag = action()["inputs"][name].get("default") in ("false", "true")
        assert param.secondary_opts == ([f"--no-{name}"] if flag else [])
        assert param.envvar == (None if flag else "EVALS_" + name.upper().replace("-", "_"))


def test_the_secrets_and_flags_named_above_the_table_are_the_tables() -> None:
    """The paragraph before the inputs table lists the secrets and the on/off inputs."""
    from evals_action import inputs

    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    secrets = re.search(r"Secrets \(([^)]*)\) must be", text)
    assert secrets is not None
    assert re.findall(r"`([a-z-]+)`", secrets.group(1)) == [i.name for i in inputs.SECRETS]
    flags = re.findall(r"`--([a-z-]+)`/`--no-\1`", text)
    assert flags == [i.name for i in inputs.TABLE if i.flag]


def docs_tables() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "docs_tables", ROOT / "scripts" / "docs-tables.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_tables_are_what_the_script_writes() -> None:
    """After changing an input or an output: `.venv/bin/python scripts/docs-tables.py`."""
    command = [sys.executable, str(ROOT / "scripts" / "docs-tables.py"), "--check"]
    assert subprocess.run(command, check=False).returncode == 0, "run scripts/docs-tables.py"


def test_the_script_writes_a_changed_input_into_its_row() -> None:
    data = action()
    data["inputs"]["sha"] = {"description": "A new description.", "default": "abc"}
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    written = docs_tables().render(text, action=data)
    assert "| `sha` | `EVALS_SHA` | `abc` | A new description. |" in written.splitlines()
    assert written.count("\n| `") == text.count("\n| `")


def test_readme_lists_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"^make demo$", readme, re.M)
    assert re.search(r"^make test$", readme, re.M)
