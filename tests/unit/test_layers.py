"""The layers the import contracts (`lint-imports`, [tool.importlinter] in pyproject.toml) and
this file keep: the action's path is complete in the contract, and only `transport` turns
`requests` exceptions into ours."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "evals_action"
# Beside the action's path, on purpose: the server, the demo and the agent (extras, never
# imported by the action), the helpers for agent authors, the server's GitHub App client, and
# the `python -m evals_action` shim.
APART = {"server", "demo", "agent", "rollout", "github_app", "__init__", "__main__"}
# Where `requests` exceptions may be caught: the transport layer, and the helpers for agent
# authors, which stand apart and import nothing of ours.
CATCHERS = {"transport", "transport_limits", "rollout"}


def _contract(name: str) -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["name"] == name)


def _top_level_modules() -> set[str]:
    names = {p.stem for p in PACKAGE.glob("*.py")}
    names |= {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    return names


def test_every_module_of_the_action_is_in_the_no_server_contract() -> None:
    """A new module is either on the action's path (and so may not import the server) or
    listed above as standing apart: it cannot slip past the contract unseen."""
    contract = _contract("The action's path never imports the server, the demo or the agent")
    listed = {str(m).removeprefix("evals_action.") for m in contract["source_modules"]}  # type: ignore[attr-defined]
    assert listed == _top_level_modules() - APART


def _catches_requests(tree: ast.AST) -> list[int]:
    """Lines of `except` clauses that name a `requests` exception."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.ExceptHandler)
        and node.type is not None
        and "requests." in ast.unparse(node.type)
    ]


def test_only_transport_catches_requests_exceptions_on_the_actions_path() -> None:
    """Every `requests` failure becomes one of ours in one place (`transport`), so messages,
    retries and redaction cannot drift between callers."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        top = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if top in APART or top in CATCHERS:
            continue
        lines = _catches_requests(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            found[str(path.relative_to(ROOT))] = lines
    assert found == {}


def test_the_catch_finder_sees_a_requests_handler() -> None:
    """The scan above is not vacuous: it finds the handlers `transport` has."""
    tree = ast.parse((PACKAGE / "transport.py").read_text(encoding="utf-8"))
    assert _catches_requests(tree)
