from __future__ import annotations

from evals_action.cli import main

main()
