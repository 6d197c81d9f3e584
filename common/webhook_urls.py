"""Which webhook URLs the system will call (docs/design.md §7 "Events out"): ``https://`` to public addresses, or
also ``http://`` and loopback or private addresses with ``WEBHOOK_ALLOW_PRIVATE=1`` (the dev default). The gateway
checks a URL when it is registered; webhook_worker resolves the host again at every connection and connects only
to the addresses it checked, so a DNS answer that changes to a private address (rebinding) reaches nothing."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

MAX_URL_CHARS = 2048


class WebhookUrlRefused(ValueError):
    """A URL (or an address it resolves to) the system will not call; the message says why."""


def parse_url(url: str, *, allow_private: bool) -> SplitResult:
    """The parts of a callable ``url``; raises :class:`WebhookUrlRefused` for another scheme, credentials in the
    URL, a missing host, or a literal address that is not allowed."""
    if len(url) > MAX_URL_CHARS:
        raise WebhookUrlRefused(f"is longer than {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise WebhookUrlRefused("is not a URL") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise WebhookUrlRefused("must be an https:// URL")
    if not parts.hostname:
        raise WebhookUrlRefused("has no host")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlRefused("must not carry credentials")
    if parts.fragment:
        raise WebhookUrlRefused("must not have a fragment")
    literal = _literal_address(parts.hostname)
    if literal is not None and not address_allowed(literal, allow_private=allow_private):
        raise WebhookUrlRefused("points at an address that is not public")
    return parts


def address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_private: bool) -> bool:
    """Whether the system may connect to ``address``: a global unicast one, or any but multicast and unspecified
    with ``allow_private``."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_multicast or address.is_unspecified:
        return False
    return allow_private or address.is_global


async def resolve_allowed(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses of ``host`` the system may connect to; raises :class:`WebhookUrlRefused` when it does not
    resolve or when any address it resolves to is not allowed (a name that mixes public and private addresses is
    refused whole)."""
    literal = _literal_address(host)
    if literal is not None:
        if not address_allowed(literal, allow_private=allow_private):
            raise WebhookUrlRefused("points at an address that is not public")
        return [str(literal)]
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookUrlRefused(f"{host} does not resolve") from None
    addresses = list(dict.fromkeys(str(entry[4][0]) for entry in found))
    if not addresses:
        raise WebhookUrlRefused(f"{host} does not resolve")
    for address in addresses:
        if not address_allowed(ipaddress.ip_address(address.split("%")[0]), allow_private=allow_private):
            raise WebhookUrlRefused(f"{host} resolves to an address that is not public")
    return addresses


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
