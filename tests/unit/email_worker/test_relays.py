"""SMTP_RELAYS: parsing, the one-relay form, and which relay an attempt goes to."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from delivery.breaker import CircuitBreaker
from email_worker.relays import Relay, RelayLink, RelayRoute, parse_relays
from email_worker.settings import EmailWorkerSettings
from email_worker.smtp import SmtpSender

PRIMARY, SECOND, THIRD = Relay("smtp-a.example.com", 587), Relay("smtp-b.example.com", 587), Relay("10.0.0.9", 25)


def route(*relays: Relay) -> RelayRoute:
    settings = EmailWorkerSettings()
    return RelayRoute(
        [
            RelayLink(relay, SmtpSender(settings, relay), CircuitBreaker(relay.name, threshold=1, pause_seconds=60))
            for relay in relays
        ]
    )


def test_relays_are_host_port_pairs_primary_first() -> None:
    assert parse_relays(" smtp-a.example.com:587, smtp-b.example.com:587,10.0.0.9:25") == [PRIMARY, SECOND, THIRD]
    assert parse_relays("[::1]:1025") == [Relay("::1", 1025)]


@pytest.mark.parametrize("value", ["smtp.example.com", "smtp.example.com:0", ":25", "a:25,a:25", "a:25,,b:25"])
def test_a_malformed_list_is_refused_at_start_up(value: str) -> None:
    with pytest.raises(ValidationError, match="SMTP_RELAYS"):
        EmailWorkerSettings(SMTP_RELAYS=value)


def test_without_smtp_relays_the_one_relay_is_smtp_host_and_port() -> None:
    assert EmailWorkerSettings(SMTP_HOST="mx.example.com", SMTP_PORT=2525).relays == [Relay("mx.example.com", 2525)]
    assert EmailWorkerSettings(SMTP_RELAYS="smtp-a.example.com:587").relays == [PRIMARY]


def test_each_attempt_starts_at_the_next_relay() -> None:
    relays = route(PRIMARY, SECOND, THIRD)
    firsts = [relays.candidates(attempt)[0].relay for attempt in (1, 2, 3, 4)]
    assert firsts == [PRIMARY, SECOND, THIRD, PRIMARY]
    assert [link.relay for link in relays.candidates(2)] == [SECOND, THIRD, PRIMARY]


def test_a_relay_with_an_open_breaker_is_passed_over() -> None:
    relays = route(PRIMARY, SECOND)
    relays.links[0].breaker.record_failure()  # threshold 1: open
    assert [link.relay for link in relays.candidates(1)] == [SECOND]
    relays.links[1].breaker.record_failure()
    assert relays.candidates(1) == []
