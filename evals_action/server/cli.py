"""`evals-action serve` (with `serve keys ...`) and `evals-action demo`: click only.

Only `click` is imported at module level, so `evals-action --help` stays fast; each command
imports what it needs (Starlette, uvicorn, sqlite3) when it runs. Every option also reads an
`EVALS_SERVER_*` environment variable, shown in `--help` with its default. Expected errors
leave with one line and exit code 2 (configuration) or 1 (anything else), never a traceback.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import click

from evals_action import server

DEFAULT_DATABASE = "evals-server.sqlite3"
DEFAULT_CONFIG = "prompts.toml"
OPTION: dict[str, Any] = {"show_default": True, "show_envvar": True}
SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file


class _ConfigFailed(click.ClickException):
    """A configuration error: one line, exit code 2."""

    exit_code = 2


def check_startup(*, database: Path, serving: bool) -> None:
    """What start-up needs, checked before anything is created; else one line and exit 2.

    The `server` extra (for `serve` itself, not for `keys`), the database's folder, and that an
    existing database file is SQLite; otherwise each would end in a traceback from deep inside.
    """
    if serving:
        for module in ("starlette", "uvicorn"):
            try:
                importlib.import_module(module)
            except ImportError:
                raise _ConfigFailed(
                    f"evals-action serve needs the server extra ({module} is not installed): "
                    f"{server.INSTALL_EXTRA}"
                ) from None
    where = f"--database {database} (EVALS_SERVER_DATABASE)"
    folder = database.parent
    if not folder.is_dir():
        raise _ConfigFailed(
            f"{where}: the folder {folder} does not exist; create it (mkdir -p {folder}) "
            "or choose another path"
        )
    try:
        with database.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        header = b""  # a new database
    except OSError as exc:
        raise _ConfigFailed(
            f"{where}: cannot read it ({exc.strerror}); check its permissions"
        ) from None
    if header and header != SQLITE_HEADER:
        raise _ConfigFailed(
            f"{where}: not an SQLite database; give the server's own database file, or a new "
            "file name to start an empty one"
        )


def _fail(exc: Exception) -> click.ClickException:
    """An expected error as click reports it: one line, the error's own exit code."""
    if int(getattr(exc, "exit_code", 1)) == 2:
        return _ConfigFailed(str(exc))
    return click.ClickException(str(exc))


@click.group(invoke_without_command=True)
@click.option(
    "--database",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_DATABASE,
    envvar="EVALS_SERVER_DATABASE",
    help="SQLite file for runs and keys (created, and migrated, on start).",
    **OPTION,
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG,
    envvar="EVALS_SERVER_CONFIG",
    help="TOML file with the prompts, rollout targets and checks.",
    **OPTION,
)
@click.option(
    "--host",
    default="127.0.0.1",
    envvar="EVALS_SERVER_HOST",
    help="Address to listen on (keep loopback behind a reverse proxy).",
    **OPTION,
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8787,
    envvar="EVALS_SERVER_PORT",
    help="Port to listen on.",
    **OPTION,
)
@click.option(
    "--public-url",
    default="",
    envvar="EVALS_SERVER_PUBLIC_URL",
    help="URL people and the action reach the server at (runUrl, report links). "
    "[default: http://HOST:PORT]",
    show_envvar=True,
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    envvar="EVALS_SERVER_LOG_LEVEL",
    help="Log level.",
    **OPTION,
)
@click.pass_context
def serve(
    ctx: click.Context,
    database: Path,
    config_path: Path,
    host: str,
    port: int,
    public_url: str,
    log_level: str,
) -> None:
    """Run the self-hosted evals API (needs the `server` extra).

    Create a key first with `evals-action serve keys create`, then point the action's
    `api-base-url` at this server and its `api-key` at that key.
    """
    ctx.ensure_object(dict)
    ctx.obj["database"] = database
    if ctx.invoked_subcommand is not None:
        return
    check_startup(database=database, serving=True)
    import logging

    from evals_action import errors, redaction
    from evals_action.server import app, config, serving

    try:
        settings = config.load(path=config_path, environ=os.environ)
    except errors.EvalsActionError as exc:
        raise _fail(exc) from None
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    url = (public_url or f"http://{host}:{port}").rstrip("/")
    try:
        application = app.create_app(database=database, settings=settings, public_url=url)
    except errors.EvalsActionError as exc:
        raise _fail(exc) from None
    click.echo(
        f"evals server: {len(settings.prompts)} prompt(s) from {config_path}, "
        f"database {database}, public URL {url}",
        err=True,
    )
    serving.run(
        app=application,
        host=host,
        port=port,
        log_level=log_level,
        redact=lambda text: redaction.Secrets(settings.secrets).redact(text),
    )


@serve.group()
def keys() -> None:
    """Manage the bearer keys the API accepts (stored hashed)."""


def _database_option(function: Any) -> Any:
    return click.option(
        "--database",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        envvar="EVALS_SERVER_DATABASE",
        show_envvar=True,
        help="SQLite file. [default: serve's --database, evals-server.sqlite3]",
    )(function)


def _open(ctx: click.Context, database: Path | None) -> Any:
    from evals_action.server import store

    parent = (ctx.find_object(dict) or {}).get("database")
    path = database or parent or Path(DEFAULT_DATABASE)
    check_startup(database=path, serving=False)
    return store.Store(path=path)


@keys.command("create")
@_database_option
@click.option(
    "--name",
    default="default",
    envvar="EVALS_SERVER_KEY_NAME",
    help="A label to recognise the key by in `keys list`.",
    **OPTION,
)
@click.pass_context
def create_key(ctx: click.Context, database: Path | None, name: str) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from evals_action.server import keys as keys_

    db = _open(ctx, database)
    try:
        key_id, key = keys_.create(store=db, name=name)
    finally:
        db.close()
    click.echo(
        f"Created key {key_id} ({name}). It is shown only now; store it as a secret:", err=True
    )
    click.echo(key)


@keys.command("list")
@_database_option
@click.pass_context
def list_keys(ctx: click.Context, database: Path | None) -> None:
    """List keys: id, name, created, revoked (never the keys themselves)."""
    from evals_action.server import pages

    db = _open(ctx, database)
    try:
        rows = db.list_keys()
    finally:
        db.close()
    if not rows:
        click.echo("No keys yet: run `evals-action serve keys create`.", err=True)
    for row in rows:
        revoked = f"revoked {pages.iso(row.revoked_at)}" if row.revoked_at else "active"
        click.echo(f"{row.key_id}\t{row.name}\t{pages.iso(row.created_at)}\t{revoked}")


@keys.command("revoke")
@_database_option
@click.argument("key_id")
@click.pass_context
def revoke_key(ctx: click.Context, database: Path | None, key_id: str) -> None:
    """Revoke a key by its id (from `keys list`); requests with it get 401 at once."""
    db = _open(ctx, database)
    try:
        revoked = db.revoke_key(key_id=key_id)
    finally:
        db.close()
    if not revoked:
        raise click.ClickException(f"no active key with id {key_id} (see `keys list`)")
    click.echo(f"Revoked key {key_id}.")


@click.command()
@click.option(
    "--model-base-url",
    default="",
    envvar="EVALS_SERVER_MODEL_BASE_URL",
    help="OpenAI-compatible endpoint for the agent's model. Without it a scripted "
    "stand-in model on loopback drives the agent.",
    show_envvar=True,
)
@click.option(
    "--model",
    default="gpt-4o-mini",
    envvar="EVALS_SERVER_MODEL",
    help="Model name sent to --model-base-url.",
    **OPTION,
)
@click.option(
    "--model-api-key",
    default="",
    envvar="EVALS_SERVER_MODEL_API_KEY",
    help="Key for --model-base-url (never printed).",
    show_envvar=True,
)
@click.option(
    "--keep-running/--no-keep-running",
    default=False,
    envvar="EVALS_SERVER_KEEP_RUNNING",
    help="Leave the server up afterwards to browse its pages (Ctrl-C stops it).",
    **OPTION,
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=60.0,
    envvar="EVALS_SERVER_DEMO_TIMEOUT",
    help="Seconds the action may take.",
    **OPTION,
)
@click.option(
    "--chromium",
    default="",
    envvar="EVALS_AGENT_CHROMIUM",
    help="Chromium for the agent's browser (default: chromium on PATH; with none there, "
    "the agent uses its HTTP tool only).",
    show_envvar=True,
)
def demo(
    model_base_url: str,
    model: str,
    model_api_key: str,
    keep_running: bool,
    timeout: float,
    chromium: str,
) -> None:
    """Run the whole loop on this machine: server, example preview, agent in Chromium, action.

    Everything listens on loopback on free ports, with a temporary database. The action runs
    as `evals-action run --local`, and its comment, status and outputs are printed.
    """
    from evals_action import demo as demo_
    from evals_action import errors

    try:
        code = demo_.run(
            options=demo_.Options(
                model_base_url=model_base_url,
                model=model,
                model_api_key=model_api_key,
                keep_running=keep_running,
                timeout=timeout,
                chromium=chromium,
            ),
            echo=click.echo,
        )
    except errors.EvalsActionError as exc:
        raise _fail(exc) from None
    raise SystemExit(code)


@click.group()
def _standalone() -> None:
    """The server's commands, runnable as `python -m evals_action.server.cli`."""


_standalone.add_command(serve)
_standalone.add_command(demo)

if __name__ == "__main__":
    _standalone()
