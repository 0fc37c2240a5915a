"""Wiring for `evals-action agent`: options → `rollouts.Settings`, then serve or run once.

The only place real collaborators are built (the clock, `time.sleep`, the Chromium found on
`PATH`, the gateway handler from Eval Protocol's environment variables).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from evals_action import errors, rollout
from evals_action.agent import limits, once, rollouts
from evals_action.agent.tools import browser


def settings(*, options: Mapping[str, Any]) -> rollouts.Settings:
    """The agent's settings; `ConfigError` (exit 2) naming each bad option."""
    groups = tuple(g.strip() for g in str(options["groups"]).split(",") if g.strip())
    unknown = [g for g in groups if g not in rollouts.GROUPS]
    if unknown or not groups:
        raise errors.ConfigError(
            [
                f"--tools: unknown tool group {', '.join(unknown) or '(none)'}; "
                f"use a comma list of {', '.join(rollouts.GROUPS)}"
            ]
        )
    prices = limits.load_prices(path=options["prices"]) if options["prices"] else {}
    chromium = browser.find_executable(options["chromium"] or None) if "browser" in groups else None
    return rollouts.Settings(
        chromium=chromium,
        limits=limits.Limits(
            max_steps=options["max_steps"],
            max_seconds=options["max_seconds"],
            max_tokens=options["max_tokens"],
            max_cost_usd=options["max_cost_usd"],
        ),
        prices=prices,
        groups=groups,
        shell_timeout=options["shell_timeout"],
    )


def run(*, options: Mapping[str, Any], echo: Callable[[str], None]) -> int:
    agent_settings = settings(options=options)
    if options["once"]:
        finished = once.run(
            inputs=once.Inputs(
                completion_params=options["completion_params"],
                metadata=options["metadata"],
                model_base_url=options["model_base_url"],
                api_key=options["api_key"],
                prompt_file=options["prompt_file"],
                result_file=Path(options["result_file"]),
            ),
            settings=agent_settings,
        )
        echo(
            f"rollout {finished.result.get('rollout_id')}: {finished.status.message}; "
            f"{finished.result.get('summary')} → {options['result_file']}"
        )
        return 0 if finished.status.code == rollout.Status.FINISHED else 1
    serve(
        settings=agent_settings,
        host=options["host"],
        port=options["port"],
        max_rollouts=options["max_rollouts"],
        echo=echo,
    )
    return 0


def serve(
    *,
    settings: rollouts.Settings,
    host: str,
    port: int,
    max_rollouts: int,
    echo: Callable[[str], None],
) -> None:
    from evals_action.agent import service
    from evals_action.server import serving

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = service.create_app(
        execute=lambda request: rollouts.execute(request=request, settings=settings),
        max_rollouts=max_rollouts,
        gateway=rollout.StatusLogHandler(),
    )
    echo(
        f"agent: http://{host}:{port} (tools {', '.join(settings.groups)}; "
        f"browser {settings.chromium or 'off'})"
    )
    serving.run(app=app, host=host, port=port)
