"""The self-hosted evals server: `evals-action serve` and `evals-action demo`.

Layers, top to bottom (an arrow only points down):

    cli.py (click only at import time)
      → app.py (Starlette routes, auth, long polling)  → pages.py (jinja2 pages)
      → worker.py (the worker pool)                     → grading.py (checks → report)
        → run_driver.py (one run: /init, polls, grading) → endings.py (its end, stored)
        → rollout_clients.py (the Eval Protocol clients, `eval_protocol/`)
      → store.py (SQLite: migrations, WAL)              → keys.py (bearer keys, hashed)
      → config.py (prompts from TOML)

The action's path imports only `server/cli.py` (click only) to register the commands; the
rest needs the `server` extra (Starlette and uvicorn). Importing `evals_action.server` itself
is free.
"""
