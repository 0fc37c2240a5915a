"""`evals-action agent`: an agent for agent-experience evals (docs/agent.md).

It speaks Eval Protocol's remote rollout contract unchanged (`service`: `POST /init`,
`GET /status`) or runs one rollout of a dispatched workflow (`once`), drives any
OpenAI-compatible chat-completions model (`model`) through a tool loop (`loop`) with a browser,
HTTP requests and a shell (`tools/`), under a step, time and cost budget (`limits`), and records
every step (`trace`) into the rollout result the evals server grades and shows.

Layers, top to bottom: `cli` → `service` / `once` → `loop` → `model`, `tools`, `trace`,
`limits`. Only `tools/browser.py` imports Playwright, only `service.py` Starlette.
"""
