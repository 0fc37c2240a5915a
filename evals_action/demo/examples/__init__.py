"""Bundled examples for `evals-action demo`: a preview site, an agent and a `prompts.toml`.

They are small on purpose and double as templates: copy `prompts.toml` to start a server config,
read `agent.py` to see the remote rollout contract from the agent's side.
"""
