"""Every statement that records a status change also writes its webhook event: each SQL constant of the product
packages that inserts into ``notification_events`` pastes ``common.webhook_outbox.NOTIFICATION_OUTBOX`` (and
returns the columns it reads), so a new writer cannot forget it (docs/design.md §7 "Events out")."""

from __future__ import annotations

import importlib
from pathlib import Path

from common.webhook_outbox import CHANGED_COLUMNS, LOGGED_COLUMNS, NOTIFICATION_OUTBOX

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("common", "delivery", "gateway", "email_worker", "push_worker", "user_svc", "template_svc", "inbound")
EVENT_INSERT = "INSERT INTO notification_events"

EVENTS_WITHOUT_A_STATUS_CHANGE: set[tuple[str, str]] = {("inbound.records", "NOTE")}
"""(module, constant) pairs that record an event without changing the status (e.g. a soft bounce): no webhook
event for them."""


def writers() -> dict[tuple[str, str], str]:
    """Every module-level string of the product packages holding an INSERT into ``notification_events``."""
    found: dict[tuple[str, str], str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts or EVENT_INSERT not in path.read_text():
                continue
            module_name = ".".join(relative.with_suffix("").parts)
            module = importlib.import_module(module_name)
            for name, value in vars(module).items():
                if isinstance(value, str) and EVENT_INSERT in value:
                    found[(module_name, name)] = value
    return found


def test_every_status_writer_writes_its_webhook_event() -> None:
    found = writers()
    assert {
        ("gateway.store", "_CREATE"),
        ("delivery.status_store", "CLAIM_SQL"),
        ("common.dead_letter_replay", "RESET_SQL"),
        ("inbound.records", "BOUNCE"),
    } <= set(found)
    missing = [
        f"{module}.{name}"
        for (module, name), sql in found.items()
        if (module, name) not in EVENTS_WITHOUT_A_STATUS_CHANGE
        and not (NOTIFICATION_OUTBOX in sql and f"RETURNING {LOGGED_COLUMNS}" in sql and CHANGED_COLUMNS in sql)
    ]
    assert not missing, f"status writers without the webhook outbox (common/webhook_outbox.py): {missing}"
