"""inputs.TABLE says what action.yml says: same inputs, defaults, secrets, flags and variables."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re
import subprocess
import sys
from typing import Any

import pytest
import yaml

from evals_action import backends, inputs, settings

ROOT = pathlib.Path(__file__).parents[2]
# Variables of the run step that are the step's own plumbing, not inputs.
PLUMBING = {"EVALS_ACTION_PYTHON", "EVALS_ACTION_PATH"}
# Defaults that are expressions in action.yml, and how `--help` shows them.
EXPRESSIONS = {"github-token": ("${{ github.token }}", "$GITHUB_TOKEN")}


def action() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def action_inputs() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = action()["inputs"]
    return found


def run_step_env() -> dict[str, str]:
    (step,) = [s for s in action()["runs"]["steps"] if s.get("id") == "run"]
    env: dict[str, str] = step["env"]
    return env


def test_the_table_has_every_input_of_action_yml_in_its_order() -> None:
    assert [item.name for item in inputs.TABLE] == list(action_inputs())


@pytest.mark.parametrize("item", inputs.TABLE, ids=lambda item: item.name)
def test_defaults_mean_the_same_in_action_yml_and_the_code(item: inputs.Input) -> None:
    """action.yml's default, run through the converter, is what the code does when it is unset;
    `--help` shows it as it is; `required: true` is the table's `required`."""
    spec = action_inputs()[item.name]
    default = str(spec.get("default", ""))
    assert bool(spec.get("required")) is item.required
    if item.name in EXPRESSIONS:
        assert (default, item.shown) == EXPRESSIONS[item.name]
    elif default:
        assert item.shown == default
        assert item.clean(name=item.name, raw=default) == item.clean(name=item.name, raw="")
    else:  # no default in action.yml: unset stays unset (a computed default is filled later)
        assert item.clean(name=item.name, raw="") in (None, "", ())


@pytest.mark.parametrize("item", inputs.TABLE, ids=lambda item: item.name)
def test_secrets_and_flags_are_the_ones_action_yml_describes(item: inputs.Input) -> None:
    """A secret says "Masked" in action.yml and in `--help`; a flag defaults to false
    (`wait`: true)."""
    spec = action_inputs()[item.name]
    assert ("Masked" in spec["description"]) is item.secret
    assert ("Masked" in item.help) is item.secret
    assert (spec.get("default") in ("false", "true")) is item.flag


def test_every_variable_of_the_run_step_is_an_input_of_the_table() -> None:
    """`EVALS_<NAME>: ${{ inputs.<name> }}` for each input, and nothing else but the plumbing."""
    env = {k: v for k, v in run_step_env().items() if k.startswith("EVALS_")}
    expected = {item.env: f"${{{{ inputs.{item.name} }}}}" for item in inputs.TABLE}
    assert {k: v for k, v in env.items() if k not in PLUMBING} == expected
    assert set(env) - set(expected) == PLUMBING


def test_every_input_fills_one_settings_field_and_every_field_has_an_input() -> None:
    fields = [f.name for f in dataclasses.fields(settings.Settings)]
    fields += [f.name for f in dataclasses.fields(settings.RolloutSettings)]
    filled = [item.attribute for item in inputs.TABLE]
    assert sorted(filled) == sorted(set(fields) - {"rollout", "github"})


def test_secrets_come_from_the_table() -> None:
    """Settings.secrets holds the value of every secret input of the table, and only those."""
    env = {item.env: f"{item.name}-value" for item in inputs.SECRETS}
    env.update(EVALS_PROMPT_ID="p", EVALS_TEMPLATE_VARS='{"a": 1}', GITHUB_REPOSITORY="o/r")
    loaded = settings.load(env)
    assert loaded.secrets == tuple(f"{item.name}-value" for item in inputs.SECRETS)
    assert [item.name for item in inputs.SECRETS] == [
        "api-key",
        "github-token",
        "model-api-key",
        "tracing-api-key",
        "workflow-token",
    ]


def test_backends_declare_only_inputs_of_the_table() -> None:
    for kind in backends.KINDS.values():
        named = {*kind.inputs, *kind.required}
        named |= {n for rule in kind.required_when for n in (rule[0], rule[1])}
        assert named <= set(inputs.BY_NAME), kind.name
        assert set(kind.required) <= set(kind.inputs), kind.name


def test_each_input_is_read_by_backends_of_the_registry() -> None:
    for item in inputs.TABLE:
        assert set(item.backends) <= {*backends.NAMES, backends.ROLLOUT}, item.name


BACKEND_INPUTS = [
    (item, match.group(1))
    for item in inputs.TABLE
    if (
        match := re.match(
            r"(Rollout backends|[\w-]+ backend): ", action_inputs()[item.name]["description"]
        )
    )
]


@pytest.mark.parametrize(("item", "prefix"), BACKEND_INPUTS, ids=lambda x: getattr(x, "name", ""))
def test_backend_inputs_are_the_ones_action_yml_says_they_are(
    item: inputs.Input, prefix: str
) -> None:
    """ "Rollout backends: ..." is read by every rollout backend, "remote backend: ..." by
    remote alone, and so on: the table and action.yml's wording agree."""
    readers = {kind.name for kind in backends.KINDS.values() if item.name in kind.inputs}
    if prefix == "Rollout backends":
        assert readers == {kind.name for kind in backends.KINDS.values() if kind.rollout}
    else:
        assert readers == {prefix.removesuffix(" backend")}


def test_the_backend_input_names_every_backend() -> None:
    """`--help` and action.yml list the registry's backends, the default one first."""
    shown = inputs.BY_NAME["backend"].help
    assert [name for name in backends.NAMES if name in shown] == list(backends.NAMES)
    description = action_inputs()["backend"]["description"]
    assert [name for name in backends.NAMES if name in description] == list(backends.NAMES)
    assert action_inputs()["backend"]["default"] == backends.NAMES[0] == backends.DEFAULT.name


def test_the_cli_imports_no_http_or_github_library_at_start_up() -> None:
    """The table is imported with click for `--help`: it must stay standard library only."""
    code = (
        "import sys, evals_action.cli; print(__import__('json').dumps(sorted("
        "m for m in ('requests', 'github', 'jinja2', 'evals_action.settings') "
        "if m in sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(loaded) == []
