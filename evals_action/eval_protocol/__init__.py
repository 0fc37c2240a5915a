"""Eval Protocol, spoken once for the action's rollout backends and the self-hosted server.

- `states`: `Status` codes → `RolloutState` (running, completed, failed, timed out);
- `prompts`: the prompt file, preview targeting (`{{name}}` vars, url-map hosts), message text;
- `init`: the five correlation ids, their metadata, the `InitRequest`, `shell_safe_json`;
- `tracing`: a tracing proxy's `model_base_url` encoding and its traces;
- `results`: the rollout result's schema, both ways (result ↔ `models.Report`, state →
  `models.Run`);
- `remote_client`: `RemoteRolloutClient` (`POST /init`, `GET /status`, or the gateway's);
- `gateway`: a tracing gateway's status, log message and trace, and the clients' `Redactor`;
- `workflow_client`: `WorkflowRolloutClient` (dispatch, find `rollout:<id>`, read the artifact).

Nothing here imports `settings`: inputs arrive as plain values, so the action's backends
(`backends/remote.py`, `backends/github_workflow.py`) and the server's worker pass their own.
"""
