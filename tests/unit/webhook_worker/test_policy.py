"""The retry ladder, its setting, the delivery body and who subscribes to what."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from common.webhook_events import delivery_body, subscribes
from webhook_worker.ladder import RetryLadder
from webhook_worker.maintenance import disabled_reason
from webhook_worker.settings import DEFAULT_RETRY_SCHEDULE, WebhookWorkerSettings, parse_durations


def test_the_default_ladder_is_the_contracts() -> None:
    assert parse_durations(DEFAULT_RETRY_SCHEDULE) == (5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200)


def test_durations_take_units_and_fractions() -> None:
    assert parse_durations("0.2, 250ms,1d") == (0.2, 0.25, 86400)
    assert parse_durations(" ") == ()


@pytest.mark.parametrize("schedule", ["5x", "5s,,1m", "-1"])
def test_a_malformed_schedule_is_refused(schedule: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", schedule)
    with pytest.raises(ValueError, match="is not a duration"):
        WebhookWorkerSettings()


def test_a_lease_shorter_than_an_attempt_is_refused() -> None:
    with pytest.raises(ValueError, match="LEASE_SECONDS must be longer"):
        WebhookWorkerSettings(lease_seconds=15, timeout_seconds=10)


def test_the_ladder_ends_after_its_last_step() -> None:
    ladder = RetryLadder((5, 30))
    assert [ladder.delay_after(attempts) for attempts in (1, 2, 3, 4)] == [5, 30, None, None]
    assert RetryLadder(()).delay_after(1) is None


def test_the_body_is_type_timestamp_and_the_stored_data() -> None:
    at = datetime(2026, 12, 7, 4, 5, 6, 789000, tzinfo=UTC)
    body = delivery_body("notification.delivered", orjson.Fragment('{"id": "n1", "event": {"sequence": 3}}'), at)
    assert body.startswith(b'{"type":"notification.delivered","timestamp":"2026-12-07T04:05:06.789000Z","data":')
    assert orjson.loads(body)["data"] == {"id": "n1", "event": {"sequence": 3}}


def test_subscriptions() -> None:
    assert subscribes(["*"], "webhook.test")
    assert subscribes(["notification.failed", "notification.delivered"], "notification.delivered")
    assert not subscribes(["notification.failed"], "notification.delivered")


def test_the_disabled_reason_names_the_window() -> None:
    assert disabled_reason(3 * 86400) == "every delivery failed for 3 days"
    assert disabled_reason(1) == "every delivery failed for 1 s"
