"""SMTP relays, primary first (``SMTP_RELAYS``), each with its own circuit breaker (docs/design.md §7 "Mail that
comes back"): attempt *n* of a message starts at relay *n* (so a transient failure moves the next attempt to
the next relay), and a relay whose breaker is open is passed over until it may be probed again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from delivery.breaker import CircuitBreaker
from email_worker.smtp import SmtpSender


@dataclass(frozen=True, slots=True)
class Relay:
    """One SMTP server to hand mail to."""

    host: str
    port: int

    @property
    def name(self) -> str:
        """``host:port``, as events and metrics name the relay."""
        return f"{self.host}:{self.port}"


def parse_relays(value: str) -> list[Relay]:
    """``host:port,host:port`` (primary first) as relays; ValueError naming the entry that is not one."""
    relays = []
    for entry in (part.strip() for part in value.split(",")):
        host, _, port = entry.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"{entry!r} is not host:port")
        relays.append(Relay(host.strip("[]"), int(port)))
    if len({relay.name for relay in relays}) != len(relays):
        raise ValueError("names a relay twice")
    return relays


@dataclass(frozen=True, slots=True)
class RelayLink:
    """A relay with its connection pool and its breaker."""

    relay: Relay
    sender: SmtpSender
    breaker: CircuitBreaker


class RelayRoute:
    """Chooses the relay an attempt goes to."""

    def __init__(self, links: Sequence[RelayLink]) -> None:
        if not links:
            raise ValueError("at least one relay")
        self.links = list(links)

    def candidates(self, attempt: int) -> list[RelayLink]:
        """The relays attempt ``attempt`` may use, in order: starting at relay ``attempt - 1`` (wrapping
        round), without those whose breaker is open."""
        start = (max(attempt, 1) - 1) % len(self.links)
        rotated = self.links[start:] + self.links[:start]
        return [link for link in rotated if link.breaker.may_call()]

    async def close(self) -> None:
        """Close every relay's connections."""
        for link in self.links:
            await link.sender.close()
