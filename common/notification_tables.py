"""The tables of the ``notifications`` database, shared by the gateway (which owns the migrations) and workers,
and the one table of the status changes they may make (docs/design.md §3 PostgreSQL).

Status machine: every writer of ``status`` puts :func:`may_become` (or :func:`transition_allowed`) in the
``WHERE`` of its UPDATE, so a change the table does not allow changes nothing, whoever attempts it.

Lock order: every batched writer of ``notification_statuses`` (the workers' claims and outcome writes, the
gateway's ``published_at`` stamps) starts with :data:`ROWS_LOCKED_IN_ID_ORDER` (or the same lock over fewer
rows) and then changes only the rows it locked. Two batches over the same rows in different orders then wait
for one another instead of deadlocking (a deadlock costs PostgreSQL's ``deadlock_timeout`` and a retry).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    false,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from common.channels import Channel
from common.db import one_of

ROWS_LOCKED_IN_ID_ORDER = (
    "locked AS MATERIALIZED (SELECT id, status, lease_until, application_id FROM notification_statuses"
    " WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE)"
)
"""The CTE ``locked`` the batched writers of ``notification_statuses`` start with: the rows whose id is in
``$1::uuid[]``, locked in id order (the gateway's stamp locks only the rows it will change, in the same order).
Its ``status`` and ``lease_until`` are the row as locked, newer than the statement's snapshot when another
transaction changed the row while this one waited for the lock."""


class Status(StrEnum):
    """The states of a notification (docs/design.md §3)."""

    QUEUED = "queued"
    SENDING = "sending"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    BOUNCED = "bounced"


_WAITING = frozenset({Status.SENDING, Status.CANCELLED, Status.FAILED, Status.SKIPPED})

TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.SCHEDULED: frozenset({Status.QUEUED, Status.CANCELLED, Status.SKIPPED}),
    Status.QUEUED: _WAITING,
    Status.RETRYING: _WAITING,
    Status.SENDING: frozenset({Status.DELIVERED, Status.RETRYING, Status.FAILED, Status.SENDING}),
    Status.DELIVERED: frozenset({Status.BOUNCED}),
    Status.FAILED: frozenset({Status.QUEUED}),
    Status.SKIPPED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.BOUNCED: frozenset(),
}
"""Each status and the statuses a row in it may move to: queued and retrying rows are claimed (sending),
cancelled, failed as expired or skipped as suppressed at the claim; a sending row is delivered, retried, failed
or, once its lease expired, claimed again; a failed row goes back to queued only by the DLQ replay."""

FINAL = frozenset({Status.DELIVERED, Status.FAILED, Status.SKIPPED, Status.CANCELLED, Status.BOUNCED})
"""The statuses in which no worker will send the row's envelope any more (a replay sends a failed
notification again from its dead letter, not from the row)."""


def _listed(statuses: frozenset[Status]) -> str:
    return ", ".join(f"'{status}'" for status in sorted(statuses))


def may_become(target: Status, current: str = "status") -> str:
    """SQL: true when a row whose status is the expression ``current`` may move to ``target``."""
    sources = frozenset(status for status, targets in TRANSITIONS.items() if target in targets)
    return f"{current} IN ({_listed(sources)})"


def is_final(current: str = "status") -> str:
    """SQL: true when the status expression ``current`` is one of :data:`FINAL`."""
    return f"{current} IN ({_listed(FINAL)})"


_TRANSITION_PAIRS = ", ".join(f"('{a}', '{b}')" for a in sorted(TRANSITIONS) for b in sorted(TRANSITIONS[a]))
_ALLOWED_TRANSITIONS = f"(VALUES {_TRANSITION_PAIRS})"


def transition_allowed(current: str, target: str) -> str:
    """SQL: true when the status expression ``current`` may move to the status expression ``target`` (a
    per-row target, such as an outcome's)."""
    return f"({current}, {target}) IN {_ALLOWED_TRANSITIONS}"


def lease_expired(row: str) -> str:
    """SQL: true when the lease of ``row`` (a table alias) is over, or was never taken."""
    return f"({row}.lease_until IS NULL OR {row}.lease_until <= now())"


class SuppressionReason(StrEnum):
    """Why an application no longer emails an address (docs/api.md "Suppressions")."""

    HARD_BOUNCE = "hard_bounce"
    """A mail system refused the address for good: at RCPT, or later in a DSN. Blocks all email."""
    COMPLAINT = "complaint"
    """A feedback-loop complaint: it blocks only non-transactional email."""
    MANUAL = "manual"
    """Added by an operator. Blocks all email."""


COMPLAINT = SuppressionReason.COMPLAINT


def blocks(suppression: str, transactional: str) -> str:
    """SQL: true when the ``email_suppressions`` row ``suppression`` (an alias) blocks an email whose category
    is transactional when the SQL boolean ``transactional`` is: a :data:`COMPLAINT` blocks only
    non-transactional email, every other reason all email (docs/api.md "Suppressions")."""
    return f"({suppression}.reason <> '{COMPLAINT}' OR NOT {transactional})"


metadata = MetaData()


notification_statuses = Table(
    "notification_statuses",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, comment="UUIDv7: time-ordered"),
    Column("channel", Text, nullable=False),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("template_slug", Text, nullable=False),
    Column("template_version", Integer),
    Column("template_locale", Text),
    Column("priority", Text, nullable=False, server_default="normal"),
    Column("status", Text, nullable=False),
    Column("reason", Text, comment="why skipped or failed, machine-readable"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("provider_message_id", Text),
    Column("request_id", Text),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("envelope", LargeBinary, comment="the published MessageEnvelope, for the reconciler"),
    Column("published_at", DateTime(timezone=True), comment="set once the broker confirmed"),
    Column("expires_at", DateTime(timezone=True)),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("delivered_at", DateTime(timezone=True)),
    Column("lease_until", DateTime(timezone=True), comment="while sending: when the worker's claim lapses"),
    Column("erased_at", DateTime(timezone=True), comment="when its user was deleted and its personal data erased"),
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("batch_id", UUID(as_uuid=True), comment="the batch send that wrote it, if one did"),
    Column("send_at", DateTime(timezone=True), comment="when a scheduled notification is due"),
    Column("render_input", JSONB, comment="while scheduled: what rendering it takes"),
    Column("broadcast_id", UUID(as_uuid=True), comment="the topic send that wrote it, if one did"),
    one_of("channel", Channel, name="ck_channel_known"),
    one_of("status", Status, name="ck_status_known"),
    Index("ix_notification_statuses_user_id_id", "user_id", "id"),
    Index("ix_notification_statuses_status_id", "status", "id"),
    Index(
        "ix_notification_statuses_unpublished",
        "created_at",
        postgresql_where=text("status = 'queued' AND published_at IS NULL"),
    ),
    Index("ix_notification_statuses_lease_until", "lease_until", postgresql_where=text("status = 'sending'")),
    Index("ix_notification_statuses_with_content", "id", postgresql_where=text("envelope IS NOT NULL")),
    Index("ix_notification_statuses_application_id_id", "application_id", "id"),
    Index("ix_notification_statuses_request_id", "request_id"),
    Index("ix_notification_statuses_batch_id_id", "batch_id", "id", postgresql_where=text("batch_id IS NOT NULL")),
    Index("ix_notification_statuses_send_at", "send_at", postgresql_where=text("status = 'scheduled'")),
    Index(
        "ix_notification_statuses_broadcast_id_id",
        "broadcast_id",
        "id",
        postgresql_where=text("broadcast_id IS NOT NULL"),
    ),
    postgresql_partition_by="RANGE (id)",
)


class BroadcastState(StrEnum):
    """The states of a topic send (docs/design.md §7 "Later and many")."""

    SCHEDULED = "scheduled"
    FANNING_OUT = "fanning_out"
    DONE = "done"
    CANCELLED = "cancelled"


broadcasts = Table(
    "broadcasts",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, comment="UUIDv7"),
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("topic", Text, nullable=False, comment="the topic's key"),
    Column("content", JSONB, nullable=False, comment="the send's content fields"),
    Column("test_mode", Boolean, nullable=False, server_default=false()),
    Column("state", Text, nullable=False),
    Column("checkpoint", UUID(as_uuid=True), comment="the last subscriber's user id written"),
    Column("lease_owner", Text, comment="the fan-out instance holding the job"),
    Column("lease_until", DateTime(timezone=True), comment="when its hold lapses"),
    Column("recipients", Integer, nullable=False, server_default="0"),
    Column("request_id", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("completed_at", DateTime(timezone=True)),
    one_of("state", BroadcastState, name="ck_broadcast_state_known"),
    Index("ix_broadcasts_application_id_id", "application_id", "id"),
    Index("ix_broadcasts_claimable", "lease_until", postgresql_where=text("state = 'fanning_out'")),
)

notification_events = Table(
    "notification_events",
    metadata,
    Column("id", BigInteger, autoincrement=True),
    Column(
        "notification_id",
        UUID(as_uuid=True),
        ForeignKey("notification_statuses.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("status", Text, nullable=False),
    Column("attempt", Integer, nullable=False, server_default="0"),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    one_of("status", Status, name="ck_status_known"),
    PrimaryKeyConstraint("notification_id", "id", name="notification_events_pkey"),
    Index("ix_notification_events_at", "at"),
    postgresql_partition_by="RANGE (notification_id)",
)

email_suppressions = Table(
    "email_suppressions",
    metadata,
    Column("application_id", UUID(as_uuid=True), primary_key=True),
    Column("address", Text, primary_key=True, comment="lower-cased address that hard-bounced"),
    Column("reason", Text, nullable=False),
    Column("notification_id", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    one_of("reason", SuppressionReason, name="ck_email_suppression_reason_known"),
)

sending_domains = Table(
    "sending_domains",
    metadata,
    Column("application_id", UUID(as_uuid=True), primary_key=True),
    Column("domain", Text, primary_key=True, comment="lower-case, without a trailing dot"),
    Column("selector", Text, nullable=False, comment="the DKIM selector: <selector>._domainkey"),
    Column("private_key", LargeBinary, nullable=False, comment="PEM sealed with DKIM_KEY_SECRET"),
    Column("dns_record", Text, nullable=False, comment="the TXT record value: v=DKIM1; k=rsa; p=…"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, comment="UUIDv7: when it was moved out of failed.queue"),
    Column("message_key", Text, nullable=False, unique=True, comment="x-dead-letter-id, or a digest: one row a copy"),
    Column("application_id", UUID(as_uuid=True), comment="NULL for poison: only the operator sees it"),
    Column("notification_id", UUID(as_uuid=True), comment="NULL for poison (a body that is not an envelope)"),
    Column("channel", Text, comment="the work queue it came from and goes back to"),
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("failed_at", DateTime(timezone=True), nullable=False),
    Column("body", LargeBinary, nullable=False, comment="the message body as dead-lettered: the envelope"),
    Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("message_id", Text, comment="the AMQP message_id property"),
    Index("ix_dead_letters_application_id_id", "application_id", "id"),
    Index("ix_dead_letters_notification_id", "notification_id"),
)

applications = Table(
    "applications",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("rate_limit_per_minute", Integer, comment="sends per minute; NULL = the deployment's"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("disabled_at", DateTime(timezone=True), comment="set by DELETE: its keys and ids are gone"),
    Column("purged_at", DateTime(timezone=True), comment="when its data was purged after disabling"),
    CheckConstraint("rate_limit_per_minute IS NULL OR rate_limit_per_minute >= 0", name="ck_rate_limit"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Text, primary_key=True, comment="the <key id> of nk_<key id>_<secret>"),
    Column("application_id", UUID(as_uuid=True), ForeignKey("applications.id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("prefix", Text, nullable=False, comment="shown in listings; not enough to use the key"),
    Column("secret_hash", LargeBinary, nullable=False, comment="SHA-256 of the secret"),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("mode", Text, nullable=False, server_default="live"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    CheckConstraint("mode IN ('live', 'test')", name="ck_mode_known"),
    Index("ix_api_keys_application_id_created_at", "application_id", "created_at"),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, comment="UUIDv7"),
    Column("application_id", UUID(as_uuid=True), ForeignKey("applications.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    Column("events", ARRAY(Text), nullable=False, comment="event types, or {'*'} for all"),
    Column("description", Text),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("secret", Text, nullable=False, comment="whsec_…: signs every delivery"),
    Column("previous_secret", Text, comment="the secret before a rotation, also signing until…"),
    Column("previous_secret_until", DateTime(timezone=True), comment="…the end of its 24 h overlap"),
    Column("failing_since", DateTime(timezone=True), comment="first failure since the last success"),
    Column("disabled_reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_webhook_endpoints_application_id_id", "application_id", "id"),
    Index("ix_webhook_endpoints_enabled", "application_id", postgresql_where=text("enabled")),
)

webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("event_type", Text, nullable=False),
    Column("notification_id", UUID(as_uuid=True), comment="for notification.* events"),
    Column("data", JSONB, nullable=False, comment="the delivery body's data: a snapshot"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, comment="the webhook-id header"),
    Column("endpoint_id", UUID(as_uuid=True), ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False),
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("event_type", Text, nullable=False),
    Column("body", LargeBinary, nullable=False, comment="the bytes posted, the same on every attempt"),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), comment="due (or leased) until; NULL when final"),
    Column("response_status", Integer),
    Column("response_ms", Integer),
    Column("last_error", Text),
    Column("event_at", DateTime(timezone=True), nullable=False, comment="when the event was written"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("status IN ('pending', 'retrying', 'succeeded', 'failed')", name="ck_delivery_status_known"),
    Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status IN ('pending', 'retrying')")),
    Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
    Index("ix_webhook_deliveries_created_at", "created_at"),
)
