"""`evals-action demo`: the whole loop on one machine, in seconds, with no account.

On loopback, on free ports: the evals server (temporary SQLite file, the example
`prompts.toml`, a fresh API key), the example preview site, and the agent (`evals-action agent`)
driving it in real headless Chromium. Then the real action CLI runs as a child process,
`python -m evals_action run --local`, configured only through its `EVALS_*` environment like a
workflow step, and prints its comment, status and outputs. Without `--model-base-url` the
agent's model is a scripted stand-in (`agent/scripted.py`: a loopback OpenAI-compatible server
replaying a fixed tool-call script), so no model account is needed. Needs the `server` extra;
the browser also needs the `agent` extra (Playwright) and Chromium (`make demo` installs both
extras).

Without Chromium (none on PATH and no `--chromium`) or without Playwright, the demo says so in
one line and the agent gets its HTTP tool only: the stand-in then signs up and creates the
project through the preview site's API, so the whole loop still runs on a machine with only
Python. A `--chromium` that is not an executable stays an error (exit 2): the user asked for
that browser.

The demo owns its examples: `examples/` holds the preview site, the example agent and the
`prompts.toml` it serves; this module starts them and runs the action against them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.resources
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from evals_action import errors
from evals_action import server as server_package

if TYPE_CHECKING:
    from evals_action.server import config as server_config

PROMPT_ID = "create-project"
PRODUCTION_HOST = "app.example.com"
PROJECT_NAME = "demo"
DEMO_SHA = "d" * 40
NO_CHROMIUM = (
    "Chromium not found (install it to watch the agent drive a browser, or pass --chromium "
    "PATH): the agent uses its HTTP tool only"
)
NO_PLAYWRIGHT = (
    "Playwright not installed (from a clone: pip install '.[agent]' to watch the agent drive a "
    "browser): the agent uses its HTTP tool only"
)
KEEP_RUNNING_HINT = (
    "the servers stop now; to browse the dashboard afterwards: evals-action demo --keep-running"
)


@dataclasses.dataclass(frozen=True)
class Options:
    model_base_url: str = ""
    model: str = "gpt-4o-mini"
    model_api_key: str = dataclasses.field(default="", repr=False)
    keep_running: bool = False
    timeout: float = 60.0
    chromium: str = ""


def run(*, options: Options, echo: Callable[[str], None]) -> int:
    """Run the demo; return the action's exit code."""
    if importlib.util.find_spec("evals_action.__main__") is None:
        raise errors.EvalsActionError(
            "the demo runs the action as `python -m evals_action run --local`, and this build "
            "has no evals_action/__main__.py yet; update the checkout and retry"
        )
    try:
        from evals_action.agent import rollouts, scripted, service
        from evals_action.agent.tools import browser
        from evals_action.demo.examples import preview_site
        from evals_action.server import app, keys, serving, store
    except ImportError as exc:
        raise errors.ConfigError(
            [
                f"the demo needs the server extra ({exc.name} is missing): "
                + server_package.INSTALL_EXTRA
            ]
        ) from exc
    chromium = _chromium(configured=options.chromium, find=browser.find_executable, echo=echo)
    stand_in = scripted.Model(
        script=scripted.demo_script if chromium else scripted.demo_http_script
    )
    agent_settings = rollouts.Settings(
        chromium=chromium, groups=("browser", "http") if chromium else ("http",)
    )
    agent_app = service.create_app(
        execute=lambda request: rollouts.execute(request=request, settings=agent_settings)
    )
    with tempfile.TemporaryDirectory(prefix="evals-demo-") as tmp:
        database = Path(tmp) / "evals.sqlite3"
        db = store.Store(path=database)
        _, api_key = keys.create(store=db, name="demo")
        db.close()
        with (
            serving.Background(app=preview_site.create_app()) as preview,
            serving.Background(app=agent_app) as agent_server,
            serving.Background(app=stand_in.app()) as model,
        ):
            settings = demo_settings(
                agent_url=agent_server.url,
                options=options,
                model_url=f"{model.url}/v1",
                browser=chromium is not None,
            )
            sock = serving.listen(host="127.0.0.1", port=0)
            public_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            server_app = app.create_app(database=database, settings=settings, public_url=public_url)
            with serving.Background(app=server_app, sock=sock) as server:
                mode = (
                    f"model {options.model} at {options.model_base_url}"
                    if options.model_base_url
                    else f"scripted stand-in model at {model.url}"
                )
                echo(f"evals server   {server.url}  (dashboard {server.url}/)")
                echo(f"preview site   {preview.url}  (stands in for {PRODUCTION_HOST})")
                tools = f"Chromium {chromium}" if chromium else "HTTP tool only"
                echo(f"agent          {agent_server.url}  ({mode}; {tools})")
                echo(f"running: {sys.executable} -m evals_action run --local\n")
                code = run_action(
                    env=action_env(
                        base_url=server.url,
                        api_key=api_key,
                        preview_url=preview.url,
                        timeout=options.timeout,
                    ),
                    timeout=options.timeout,
                )
                if options.keep_running:
                    echo(f"\nexit code {code} · dashboard {server.url}/ · press Ctrl-C to stop")
                    _wait_for_interrupt()
                else:  # the dashboard stops with the demo: say how to keep it
                    echo(f"\nexit code {code} · {KEEP_RUNNING_HINT}")
    return code


def _chromium(
    *, configured: str, find: Callable[[str | None], str], echo: Callable[[str], None]
) -> str | None:
    """The Chromium the agent drives; None (said in one line) when there is none on PATH or
    Playwright (the `agent` extra) is not installed. A `--chromium` that is not an executable
    raises `browser.NoBrowser` (exit 2)."""
    if importlib.util.find_spec("playwright") is None:
        echo(NO_PLAYWRIGHT)
        return None
    if configured:
        return find(configured)
    try:
        return find(None)
    except errors.EvalsActionError:
        echo(NO_CHROMIUM)
        return None


def demo_settings(
    *, agent_url: str, options: Options, model_url: str = "", browser: bool = True
) -> server_config.ServerConfig:
    """The example `prompts.toml`, pointed at this agent and at a model: the user's
    (`options.model_base_url`), else `model_url` (the scripted stand-in), else none (the
    example agent's fixed plan). With `model_url` (`evals-action agent` runs the rollouts) and
    its `browser` tools, a trace check reads the agent's last page."""
    from evals_action.server import config
    from evals_action.server.checks import trace

    source = importlib.resources.files("evals_action.demo.examples").joinpath("prompts.toml")
    with importlib.resources.as_file(source) as path:
        settings = config.load(path=path, environ={})
    prompt = settings.prompts[PROMPT_ID]
    rollout = dataclasses.replace(
        prompt.rollout,
        url=agent_url,
        model_base_url=options.model_base_url or model_url,
        model_api_key=options.model_api_key or None,
        completion_params={**prompt.rollout.completion_params, "model": options.model}
        if options.model_base_url
        else {**prompt.rollout.completion_params, "model": "scripted"}
        if model_url
        else prompt.rollout.completion_params,
    )
    checks = prompt.checks
    if model_url and browser:
        checks += (
            trace.Trace(
                name="the agent's last page shows the project",
                path="last_page",
                value="{{project_name}}",
            ),
        )
    prompt = dataclasses.replace(prompt, rollout=rollout, checks=checks)
    prompts = {**settings.prompts, PROMPT_ID: prompt}
    return dataclasses.replace(settings, prompts=prompts, poll_interval_seconds=0.2)


def action_env(*, base_url: str, api_key: str, preview_url: str, timeout: float) -> dict[str, str]:
    """The child's environment: ours without any EVALS_* or GITHUB_* the user has set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALS_", "GITHUB_"))}
    env.update(
        {
            "EVALS_API_KEY": api_key,
            "EVALS_API_BASE_URL": base_url,
            "EVALS_PROMPT_ID": PROMPT_ID,
            "EVALS_URL_MAP": json.dumps({PRODUCTION_HOST: preview_url}),
            "EVALS_TEMPLATE_VARS": json.dumps({"project_name": PROJECT_NAME}),
            "EVALS_POLL_INTERVAL_SECONDS": "1",
            "EVALS_WAIT_TIMEOUT_MINUTES": f"{timeout / 60:.3f}",
            # A made-up pull request and commit, so the status line and supersession context show.
            "EVALS_PR_NUMBER": "1",
            "EVALS_SHA": DEMO_SHA,
            "GITHUB_REPOSITORY": "example/demo",
        }
    )
    return env


def run_action(*, env: Mapping[str, str], timeout: float) -> int:
    """The real action CLI; its output goes straight to this terminal."""
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "evals_action", "run", "--local"],
            env=dict(env),
            timeout=timeout + 10,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise errors.EvalsActionError(
            f"the action did not finish within {timeout:g} s; rerun with --timeout"
        ) from exc
    return finished.returncode


def _wait_for_interrupt() -> None:  # pragma: no cover - interactive
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
