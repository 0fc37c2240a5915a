"""The self-hosted evals server: `evals-action serve` (and what `evals-action demo` starts).

Layers, top to bottom (an arrow only points down):

    cli.py (click only at import time)
      → app.py (assembly: lock, store, worker, routes, middleware)
          → api.py, page_routes.py (handlers) → routing.py (shared state, key check)
          → wakeups.py (long polls)            → pages.py (jinja2 pages)
      → worker.py (the worker pool) → run_driver.py (one run: /init, polls, grading)
          → endings.py (its end, stored) → rollout_clients.py (the `eval_protocol/` clients)
          → grading.py (score, report) → checks/ (one class per check type)
      → store.py (SQLite, WAL) → schema.py (tables, migrations, rows); server_lock.py; keys.py
      → config.py ([server], [fetch], [pages], [judge]) → prompts.py ([[prompts]])

The action's path imports only `server/cli.py` (click only) to register the commands; the
rest needs the `server` extra (Starlette and uvicorn). Importing `evals_action.server` itself
is free.
"""

# How to get the `server` extra, for the messages that need it: the package is not on PyPI.
INSTALL_EXTRA = "from a clone of evals-action, run: pip install '.[server]'"
