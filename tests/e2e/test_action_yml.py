"""action.yml's wiring, checked statically and fast (no act): the mistakes composite actions ship.

Each input must reach the CLI as its EVALS_* variable, no input may be spliced into a script, and
each output must be re-exported from the run step under the same name (the managed action's
outputs had no ``value:`` at all). The act-driven tests prove the same end to end; these say
exactly which line is wrong.
"""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

ACTION = pathlib.Path(__file__).resolve().parents[2] / "action.yml"


def _load() -> dict[str, object]:
    data = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _steps() -> list[dict[str, object]]:
    runs = _load()["runs"]
    assert isinstance(runs, dict)
    assert runs["using"] == "composite"
    steps = runs["steps"]
    assert isinstance(steps, list)
    return steps


def _run_step() -> dict[str, object]:
    matching = [step for step in _steps() if step.get("id") == "run"]
    assert len(matching) == 1, "action.yml needs exactly one step with id: run"
    return matching[0]


def _inputs() -> dict[str, object]:
    inputs = _load()["inputs"]
    assert isinstance(inputs, dict)
    return inputs


def _outputs() -> dict[str, dict[str, object]]:
    outputs = _load()["outputs"]
    assert isinstance(outputs, dict)
    return outputs


def _env_name(input_name: str) -> str:
    return "EVALS_" + input_name.upper().replace("-", "_")


@pytest.mark.parametrize("name", sorted(_inputs()))
def test_every_input_reaches_the_cli_as_its_evals_variable(name: str) -> None:
    """Input `x-y` is passed to the run step as `EVALS_X_Y: ${{ inputs.x-y }}`, nothing else."""
    env = _run_step().get("env")
    assert isinstance(env, dict)
    assert env.get(_env_name(name)) == f"${{{{ inputs.{name} }}}}"


def test_the_run_step_passes_no_evals_variable_without_an_input() -> None:
    """Every EVALS_<INPUT> in the run step's env names a real input (no typo'd leftovers)."""
    env = _run_step().get("env")
    assert isinstance(env, dict)
    expected = {_env_name(name) for name in _inputs()}
    plumbing = {"EVALS_ACTION_PYTHON", "EVALS_ACTION_PATH"}
    assert set(env) - plumbing == expected


def test_no_input_is_interpolated_inside_a_run_script() -> None:
    """`${{ inputs.* }}` (or any expression) inside `run:` would be script injection."""
    for step in _steps():
        script = step.get("run")
        if script is not None:
            assert "${{" not in str(script), f"expression inside run: of step {step.get('name')}"


@pytest.mark.parametrize("name", sorted(_outputs()))
def test_every_output_is_reexported_from_the_run_step(name: str) -> None:
    """Output `x` has `value: ${{ steps.run.outputs.x }}` (without it, callers read empty)."""
    value = _outputs()[name].get("value")
    assert value is not None, f"output {name} has no value:"
    assert re.fullmatch(rf"\$\{{\{{ steps\.run\.outputs\.{re.escape(name)} \}}\}}", str(value))


def test_the_run_step_execs_the_cli() -> None:
    """`exec` so the CLI itself receives the runner's cancellation signals, not a bash parent."""
    script = str(_run_step()["run"]).strip()
    assert script.startswith("exec "), script
    assert script.endswith('-I "$EVALS_ACTION_PATH/scripts/run-action.py"'), script
