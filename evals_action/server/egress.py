"""Where the server's own requests (the `http` check) and its agents (the url map) may go.

A run's `urlMap` comes from whoever holds an API key, so without limits it could point the
server at any host and port (`http://169.254.169.254/`, `http://127.0.0.1:6379/`). The `[fetch]`
table of the config sets the limits (see docs/server.md, "Outbound requests"):

    [fetch]
    allowed_hosts = ["*.preview.example.com"]   # default: the hosts the prompt's checks name
                                                # plus this run's url-map previews
    allow_private_networks = false              # loopback, private, link-local, CGNAT, ...
    allowed_networks = ["10.20.0.0/16"]         # these ranges even so

A fetch is refused, before anything is sent, when its URL has a user name or password, its
host is not allowed, its port is neither the scheme's default nor one an allowed entry names
(`host:port`), or any address
its host resolves to is not public (and not allowed). The request then goes to the address that
was checked (the hostname stays in `Host` and in TLS), so a second DNS answer cannot redirect
it; every redirect is checked the same way. Proxies and `.netrc` from the environment are not
used. A refusal says why but never connects, so it tells nothing about the target's ports.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_REDIRECTS = 5
HELP = "see [fetch] in docs/server.md"


class Refused(Exception):
    """A fetch the policy does not allow; `str()` says why, in one line."""


@dataclasses.dataclass(frozen=True)
class Policy:
    """The `[fetch]` table."""

    allowed_hosts: tuple[str, ...] = ()
    allow_private_networks: bool = False
    allowed_networks: tuple[Network, ...] = ()

    def address_allowed(self, address: Address) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if self.allow_private_networks or any(address in n for n in self.allowed_networks):
            return True
        return address.is_global and not address.is_multicast


def system_resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (`socket.getaddrinfo`); OSError when it does not."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


@dataclasses.dataclass(frozen=True)
class Target:
    """A checked URL: where to connect, and the host name to present."""

    url: str
    host: str
    port: int
    address: str


@dataclasses.dataclass(frozen=True)
class Guard:
    """What one run's fetches may reach: the policy plus the allowed `(host, port)` entries."""

    policy: Policy
    entries: frozenset[tuple[str, int | None]]
    resolve: Resolver = system_resolve

    def check(self, url: str) -> Target:
        """The URL's target, or `Refused` saying why it may not be fetched."""
        scheme, host, port = _parts(url)
        if not any(_matches(host, port, scheme, entry) for entry in self.entries):
            raise Refused(f"{host}:{port} is not an allowed host for this run's fetches ({HELP})")
        addresses = _resolve(self.resolve, host, port)
        if not all(self.policy.address_allowed(a) for a in addresses):
            raise Refused(_not_public(host))
        return Target(url=url, host=host, port=port, address=str(addresses[0]))


def guard(
    *,
    policy: Policy,
    named_urls: Iterable[str],
    url_map: Mapping[str, str],
    resolve: Resolver = system_resolve,
) -> Guard:
    """A run's guard: the configured hosts, else the check URLs' hosts and the url-map previews."""
    entries = {_entry(h) for h in policy.allowed_hosts}
    urls = list(named_urls) + ([] if policy.allowed_hosts else list(url_map.values()))
    for url in urls:
        parts = urllib.parse.urlsplit(url)
        if parts.hostname and "{" not in parts.netloc:
            entries.add((_host(parts.hostname), parts.port))
    return Guard(policy=policy, entries=frozenset(entries), resolve=resolve)


def preview_problem(
    *, host: str, url: str, policy: Policy, resolve: Resolver = system_resolve
) -> str | None:
    """Why the url map's preview for `host` may not be used (a 400 for the run), else None.

    A host that does not resolve (yet) is let through: the agent cannot reach it either, and
    each fetch is checked again when it happens.
    """
    try:
        scheme, name, port = _parts(url)
        entries = frozenset(_entry(h) for h in policy.allowed_hosts)
        if entries and not any(_matches(name, port, scheme, e) for e in entries):
            raise Refused(f"{name}:{port} is not in the server's allowed_hosts ({HELP})")
        try:
            addresses = _resolve(resolve, name, port)
        except Refused:
            return None
        if not all(policy.address_allowed(a) for a in addresses):
            raise Refused(_not_public(name))
    except Refused as exc:
        return f"urlMap preview for {host} refused: {exc}"  # not the URL: it may hold a password
    return None


def fetch(
    *, guard: Guard, method: str, url: str, timeout: float, headers: Mapping[str, str] | None = None
) -> requests.Response:
    """`method url` through the guard, following up to `MAX_REDIRECTS` checked redirects."""
    for _ in range(MAX_REDIRECTS + 1):
        target = guard.check(url)
        response = _send(target=target, method=method, timeout=timeout, headers=headers or {})
        if not response.is_redirect:
            return response
        response.close()
        url = urllib.parse.urljoin(url, response.headers["location"])
        if response.status_code in (301, 302, 303) and method != "HEAD":
            method = "GET"  # what browsers and requests do
    raise Refused(f"more than {MAX_REDIRECTS} redirects")


def parse(raw: Any, problems: list[str]) -> Policy:
    """The `[fetch]` table as a `Policy`; each problem is appended to `problems`."""
    if not isinstance(raw, Mapping):
        problems.append("[fetch] must be a table")
        return Policy()
    unknown = sorted(set(raw) - {f.name for f in dataclasses.fields(Policy)})
    if unknown:
        problems.append(f"[fetch]: unknown keys {', '.join(unknown)}")
    hosts = raw.get("allowed_hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) and _valid(h) for h in hosts):
        problems.append(
            'fetch.allowed_hosts must be a list like ["app.example.com", "*.preview.dev:8443"]'
        )
        hosts = []
    private = raw.get("allow_private_networks", False)
    if not isinstance(private, bool):
        problems.append(f"fetch.allow_private_networks must be true or false (got {private!r})")
        private = False
    return Policy(
        allowed_hosts=tuple(h.strip() for h in hosts),
        allow_private_networks=private,
        allowed_networks=_networks(raw.get("allowed_networks", []), problems),
    )


def _valid(entry: str) -> bool:
    try:
        _entry(entry)
    except ValueError:
        return False
    return True


def _networks(raw: Any, problems: list[str]) -> tuple[Network, ...]:
    where = "fetch.allowed_networks"
    if not isinstance(raw, list):
        problems.append(f'{where} must be a list of CIDR ranges like "10.0.0.0/8"')
        return ()
    networks: list[Network] = []
    for item in raw:
        try:
            networks.append(ipaddress.ip_network(str(item), strict=False))
        except ValueError:
            problems.append(f'{where}: {item!r} is not a CIDR range like "10.0.0.0/8"')
    return tuple(networks)


def _parts(url: str) -> tuple[str, str, int]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise Refused(f"not an http(s) URL: {url}")
    if "@" in parts.netloc:
        raise Refused("URLs with a user name or password are not fetched")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise Refused(f"bad port in {url}") from None
    return parts.scheme, _host(parts.hostname), port


def _host(name: str) -> str:
    return name.lower().rstrip(".")


def _entry(text: str) -> tuple[str, int | None]:
    """`host`, `*.suffix`, `host:port` or `[v6]:port` → (host, port or None); ValueError if bad."""
    parts = urllib.parse.urlsplit("//" + text.strip())
    if not parts.hostname or parts.path or parts.query or "@" in parts.netloc:
        raise ValueError(text)
    return _host(parts.hostname), parts.port


def _matches(host: str, port: int, scheme: str, entry: tuple[str, int | None]) -> bool:
    pattern, allowed_port = entry
    if port not in (DEFAULT_PORTS[scheme], allowed_port):
        return False
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


def _not_public(host: str) -> str:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return f"{host} resolves to a non-public address ({HELP})"
    return f"{host} is not a public address ({HELP})"


def _resolve(resolve: Resolver, host: str, port: int) -> list[Address]:
    try:
        found = [ipaddress.ip_address(a.split("%")[0]) for a in resolve(host, port)]
    except (OSError, ValueError):
        raise Refused(f"{host} does not resolve") from None
    if not found:
        raise Refused(f"{host} does not resolve")
    return found


class _Pinned(HTTPAdapter):
    """Connects to the checked address while TLS still checks the certificate for the host."""

    def __init__(self, *, server_hostname: str) -> None:
        self._server_hostname = server_hostname
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["server_hostname"] = self._server_hostname
        super().init_poolmanager(*args, **kwargs)


def _send(
    *, target: Target, method: str, timeout: float, headers: Mapping[str, str]
) -> requests.Response:
    parts = urllib.parse.urlsplit(target.url)
    address = f"[{target.address}]" if ":" in target.address else target.address
    pinned = parts._replace(netloc=f"{address}:{target.port}").geturl()
    with requests.Session() as session:
        session.trust_env = False  # no proxy (it would pick its own address), no .netrc
        session.mount(f"{parts.scheme}://", _Pinned(server_hostname=target.host))
        return session.request(
            method,
            pinned,
            headers={**headers, "Host": parts.netloc},
            timeout=timeout,
            allow_redirects=False,
        )
