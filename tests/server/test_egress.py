"""`[fetch]`: url maps and `http` checks reach only allowed hosts and addresses (no SSRF)."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from evals_action import errors
from evals_action.server import config, egress, serving

from .conftest import WAIT, FakeRollouts, Running, running_server, settings


class Site:
    """A loopback web server that records requests; redirects every one while `redirect` is set."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str | None]] = []
        self.redirect: str | None = None

    def app(self) -> Starlette:
        async def anything(request: Request) -> Response:
            headers = request.headers
            self.seen.append(
                {
                    "path": request.url.path,
                    "host": headers.get("host"),
                    "auth": headers.get("authorization"),
                }
            )
            if self.redirect:
                return RedirectResponse(self.redirect, status_code=302)
            return JSONResponse([{"name": "demo"}])

        return Starlette(routes=[Route("/{path:path}", anything)])


@pytest.fixture
def preview() -> Iterator[tuple[Site, str]]:
    site = Site()
    with serving.Background(app=site.app()) as served:
        yield site, served.url


@pytest.fixture
def internal() -> Iterator[tuple[Site, str]]:
    """A service the server can reach but no run should: another port on loopback."""
    site = Site()
    with serving.Background(app=site.app()) as served:
        yield site, served.url


def _policy(**fetch: Any) -> config.ServerConfig:
    fetched = egress.parse(fetch, problems := [])
    assert not problems
    return dataclasses.replace(settings(), fetch=fetched)


@pytest.fixture
def strict(tmp_path: Path, rollouts: FakeRollouts) -> Iterator[Running]:
    """A server with the default `[fetch]` policy: public addresses only."""
    with running_server(
        database=tmp_path / "db", settings_=_policy(), client_factory=rollouts.factory
    ) as running:
        yield running


HELP = " (see [fetch] in docs/server.md)"


@pytest.mark.parametrize(
    ("preview", "reason"),
    [
        ("http://127.0.0.1:6379", "127.0.0.1 is not a public address" + HELP),
        ("http://localhost:8080", "localhost resolves to a non-public address" + HELP),
        ("http://169.254.169.254/latest", "169.254.169.254 is not a public address" + HELP),
        ("http://10.1.2.3", "10.1.2.3 is not a public address" + HELP),
        ("http://[::1]:80", "::1 is not a public address" + HELP),
        ("http://[::ffff:127.0.0.1]", "::ffff:127.0.0.1 is not a public address" + HELP),
        ("http://user:pw@p.dev", "URLs with a user name or password are not fetched"),
    ],
)
def test_a_url_map_aimed_at_a_private_address_is_a_400(
    strict: Running, preview: str, reason: str
) -> None:
    """The action sees one line naming the preview and the config to change; no run is made."""
    with pytest.raises(errors.ClientAPIError) as caught:
        strict.start(preview=preview)
    assert caught.value.status == 400
    assert caught.value.message.endswith(f"urlMap preview for app.example.com refused: {reason}")
    assert strict.db.list_runs(prompt_id=None, report_status=None, limit=5, offset=0) == []


def test_allowed_hosts_limits_the_previews_a_run_may_name(
    tmp_path: Path, rollouts: FakeRollouts
) -> None:
    """With `allowed_hosts`, a preview elsewhere is refused; a matching one starts."""
    limited = _policy(allowed_hosts=["*.preview.example.com"])
    with running_server(
        database=tmp_path / "db", settings_=limited, client_factory=rollouts.factory
    ) as server:
        with pytest.raises(errors.ClientAPIError) as caught:
            server.start(preview="https://evil.example.org")
        assert "evil.example.org:443 is not in the server's allowed_hosts" in caught.value.message
        assert server.start(preview="https://pr-1.preview.example.com")


def _checked(server: Running, rollouts: FakeRollouts, preview: str) -> dict[str, Any]:
    """Run `signup` against `preview`; its http check GETs http://app.example.com/api/projects."""
    count = len(rollouts.requests) + 1
    run_id = server.start(preview=preview)
    rollouts.started(count)
    rollouts.finish(
        rollouts.started()[-1], result={"messages": [{"role": "assistant", "content": "demo"}]}
    )
    report = server.until(run_id, lambda b: b["status"] == "completed")["report"]
    http_check: dict[str, Any] = report["dimensions"][1]
    return http_check


@pytest.fixture
def loopback_allowed(tmp_path: Path, rollouts: FakeRollouts) -> Iterator[Running]:
    """Loopback allowed by an `allowed_networks` entry, hosts left at the default."""
    with running_server(
        database=tmp_path / "db",
        settings_=_policy(allowed_networks=["127.0.0.0/8"]),
        client_factory=rollouts.factory,
    ) as running:
        yield running


def test_the_http_check_reaches_an_allowed_preview(
    loopback_allowed: Running, rollouts: FakeRollouts, preview: tuple[Site, str]
) -> None:
    site, url = preview
    check = _checked(loopback_allowed, rollouts, url)
    assert (check["passed"], check["detail"]) == (True, "answered 200 as expected")
    assert [s["path"] for s in site.seen] == ["/api/projects"]


def test_a_redirect_to_another_port_is_refused_without_connecting(
    loopback_allowed: Running,
    rollouts: FakeRollouts,
    preview: tuple[Site, str],
    internal: tuple[Site, str],
) -> None:
    """The preview may redirect; the redirect's target is checked like the first URL."""
    site, url = preview
    inside, inside_url = internal
    port = inside_url.rsplit(":", 1)[1]
    site.redirect = f"{inside_url}/admin"
    check = _checked(loopback_allowed, rollouts, url)
    assert check["passed"] is False
    assert check["detail"] == (
        f"refused: 127.0.0.1:{port} is not an allowed host for this run's fetches "
        "(see [fetch] in docs/server.md)"
    )
    assert inside.seen == []
    assert len(site.seen) == 1


def test_a_refusal_reads_the_same_for_an_open_and_a_closed_port(
    loopback_allowed: Running,
    rollouts: FakeRollouts,
    preview: tuple[Site, str],
    internal: tuple[Site, str],
) -> None:
    """Nothing is sent to a refused target, so its report says nothing about its ports."""
    site, url = preview
    _, inside_url = internal
    ports = [inside_url.rsplit(":", 1)[1], _closed_port()]
    details = []
    for port in ports:
        site.redirect = f"http://127.0.0.1:{port}/"
        details.append(_checked(loopback_allowed, rollouts, url)["detail"])
    assert details[0].replace(ports[0], "PORT") == details[1].replace(ports[1], "PORT")
    assert details[0].startswith("refused: ")


def _closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def test_a_redirect_to_a_url_with_a_password_is_never_followed(
    loopback_allowed: Running, rollouts: FakeRollouts, preview: tuple[Site, str]
) -> None:
    """`user:pw@` would become Basic auth; the fetch is refused instead."""
    site, url = preview
    with_password = url.replace("http://", "http://user:pw@")
    site.redirect = f"{with_password}/"
    check = _checked(loopback_allowed, rollouts, url)
    assert check["detail"] == "refused: URLs with a user name or password are not fetched"
    assert [s["auth"] for s in site.seen] == [None]


def test_every_address_is_checked_and_the_checked_one_is_used(preview: tuple[Site, str]) -> None:
    """One lookup per hop; the request goes to that address (no second lookup to rebind)."""
    site, url = preview
    port = int(url.rsplit(":", 1)[1])
    answers = {"preview.test": ["127.0.0.1"], "mixed.test": ["93.184.216.34", "10.0.0.1"]}
    looked_up: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return answers[host]

    guard = egress.Guard(
        policy=egress.parse({"allowed_networks": ["127.0.0.0/8"]}, []),
        entries=frozenset({("preview.test", port), ("mixed.test", None)}),
        resolve=resolve,
    )
    response = egress.fetch(
        guard=guard, method="GET", url=f"http://preview.test:{port}/x", timeout=WAIT
    )
    assert response.status_code == 200
    assert site.seen == [{"path": "/x", "host": f"preview.test:{port}", "auth": None}]
    assert looked_up == ["preview.test"]
    with pytest.raises(egress.Refused, match="^mixed.test resolves to a non-public address"):
        egress.fetch(guard=guard, method="GET", url="http://mixed.test/", timeout=WAIT)


def test_a_bad_fetch_table_is_a_config_error_naming_each_key() -> None:
    raw = {
        "fetch": {
            "allowed_hosts": ["a.com/x"],
            "allowed_networks": ["nope"],
            "allow_private_networks": "yes",
            "ports": 1,
        },
        "prompts": [{"id": "p", "text": "t", "rollout": {"target": "remote", "url": "http://x"}}],
    }
    with pytest.raises(errors.ConfigError) as caught:
        config.parse(raw=raw, environ={})
    assert list(caught.value.problems) == [
        "[fetch]: unknown keys ports",
        'fetch.allowed_hosts must be a list like ["app.example.com", "*.preview.dev:8443"]',
        "fetch.allow_private_networks must be true or false (got 'yes')",
        "fetch.allowed_networks: 'nope' is not a CIDR range like \"10.0.0.0/8\"",
    ]
