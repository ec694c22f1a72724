"""Where a webhook may go: the URL rules, and the address check that keeps deliveries off
private networks in production (SSRF).

The host is resolved once per check, every address it resolves to is checked, and the delivery
then connects to the address that was checked, never resolving the name again: a DNS answer that
changes between the check and the connection (DNS rebinding) cannot send it elsewhere.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


class AddressRefused(Exception):
    """The URL cannot be used; the message says why and what to do, for the administrator."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to `address`, speak to `host` (Host header, TLS name)."""

    scheme: str
    host: str
    port: int
    path: str  # path and query
    address: str


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (a module function, so tests can stand in for DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """On the public internet: not private, loopback, link-local, shared (CGNAT), reserved,
    documentation or multicast."""
    return address.is_global and not address.is_multicast


def url_problem(url: str, *, production: bool) -> str | None:
    """What is wrong with the URL itself (before any look-up), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Enter a URL like https://shop.example.com/webhooks."
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "Enter a URL that starts with https://, like https://shop.example.com/webhooks."
    if production and parts.scheme != "https":
        return "Use an https:// URL: webhooks carry customer details and are only sent encrypted."
    if parts.username is not None or parts.password is not None:
        return "Take the user name and password out of the URL: each webhook is signed instead (see the secret)."
    if parts.fragment:
        return "Take the part after # out of the URL: it is never sent to a server."
    if port == 0:
        return "Enter a port between 1 and 65535, or none."
    return None


def check(url: str, *, production: bool) -> Target:
    """Resolve the URL's host and check every address; raises AddressRefused.

    Production: https only, and every address must be public. Development and tests: https to
    anywhere, and plain http only to this machine (loopback)."""
    problem = url_problem(url, production=production)
    if problem:
        raise AddressRefused(problem)
    parts = urlsplit(url)
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        addresses = []
    if not addresses:
        raise AddressRefused(f"{host} could not be found. Check the address, or try again if its DNS has just changed.")
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if production and not is_public(address):
            raise AddressRefused(
                f"{host} resolves to {address}, a private, loopback or link-local address. "
                "Webhooks go only to addresses on the public internet."
            )
        if not production and parts.scheme == "http" and not address.is_loopback:
            raise AddressRefused(
                "Plain http:// is allowed only to this machine (127.0.0.1, ::1 or localhost). Use https://."
            )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=parts.scheme, host=host, port=port, path=path, address=addresses[0])
