"""Backends start a run and report its state. `base.Backend` is the one interface.

- `evals_api`: the evals REST API (managed 2027 service or `evals-action serve`).
- `remote`: an Eval Protocol remote rollout service (`POST /init`).
- `github_workflow`: an Eval Protocol rollout workflow dispatched on GitHub Actions.
"""
