"""``python -m email_worker`` killed or stopped mid-batch: SIGTERM drains cleanly and exits 0; SIGKILL loses
nothing (every message is eventually delivered, none was acked without its row, and the sends it had in
flight go again once their leases lapse)."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections import Counter
from pathlib import Path

from common.amqp.topology import FAILED_QUEUE, work_queue
from devstack.infra import AmqpSession
from tests.integration.delivery.support import Gateway, email_envelope, eventually, running_worker, worker_settings
from tests.integration.email_worker.process import worker_process
from tests.support.smtp_sink import RunningSmtpSink


async def _publish(gateway: Gateway, count: int, tag: str) -> list[str]:
    envelopes = [email_envelope(f"{tag}-{n}@example.com") for n in range(count)]
    for envelope in envelopes:
        await gateway.insert_row(envelope)
    await asyncio.gather(*(gateway.publish(envelope) for envelope in envelopes))
    return [envelope.notification_id for envelope in envelopes]


async def _statuses(gateway: Gateway, ids: list[str]) -> Counter[str]:
    rows = await gateway.db.fetch(
        "SELECT status FROM notification_statuses WHERE id = ANY($1::uuid[])", [uuid.UUID(i) for i in ids]
    )
    return Counter(row["status"] for row in rows)


async def test_sigterm_drains_in_flight_messages_and_exits_0(
    gateway: Gateway, sink: RunningSmtpSink, amqp: AmqpSession, tmp_path: Path
) -> None:
    ids = await _publish(gateway, 120, "drain")
    async with worker_process(sink, tmp_path / "worker.log", EMAIL_WORKER_CONCURRENCY="16") as process:
        await sink.wait_for_messages(15, timeout=20)
        assert await process.stop(signal.SIGTERM) == 0

    statuses = await _statuses(gateway, ids)
    assert set(statuses) <= {"delivered", "queued"}, statuses  # nothing left half-way
    left = statuses["queued"]
    await eventually(lambda: amqp.depth(work_queue("email")), lambda depth: depth == left)
    assert len(await sink.messages()) == statuses["delivered"]

    async with running_worker(worker_settings(sink)):  # a new replica finishes the rest
        await eventually(lambda: _statuses(gateway, ids), lambda s: s["delivered"] == 120, timeout=30)
    assert len(await sink.messages()) == 120
    assert await amqp.depth(FAILED_QUEUE) == 0


async def test_sigkill_mid_batch_loses_nothing(
    gateway: Gateway, sink: RunningSmtpSink, amqp: AmqpSession, tmp_path: Path
) -> None:
    ids = await _publish(gateway, 200, "killed")
    # its claims of the sends in flight lapse 4 s after the kill; the next replica then sends those again
    killed = {"EMAIL_WORKER_CONCURRENCY": "32", "EMAIL_WORKER_PROVIDER_TIMEOUT_SECONDS": "2"}
    async with worker_process(sink, tmp_path / "worker.log", **killed) as process:
        await sink.wait_for_messages(40, timeout=20)
        assert await process.stop(signal.SIGKILL) == -signal.SIGKILL

    # Every notification not yet delivered is back in the queue: none was acked without its row.
    statuses = await _statuses(gateway, ids)
    assert statuses["delivered"] < 200
    await eventually(
        lambda: amqp.depth(work_queue("email")), lambda depth: depth >= 200 - statuses["delivered"], timeout=10
    )

    async with running_worker(worker_settings(sink)):
        await eventually(lambda: _statuses(gateway, ids), lambda s: s["delivered"] == 200, timeout=30)
    sent = Counter(mail["message_id"] for mail in await sink.messages())
    assert set(sent) == {f"<{notification_id}@notifications.local>" for notification_id in ids}
    assert sum(sent.values()) - 200 <= 64  # at most the copies in flight at the kill went twice
    assert await amqp.depth(FAILED_QUEUE) == 0
