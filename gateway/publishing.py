"""Publishing envelopes to ``notifications.direct`` (confirms + mandatory) and stamping ``published_at`` on
their rows in batches once the broker confirmed them (docs/design.md §1)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

import aio_pika

from common.amqp.publisher import Publisher, protobuf_message
from gateway.store import NotificationStore
from notification.v1 import notification_pb2 as pb

logger = logging.getLogger(__name__)

MAX_PENDING_STAMPS = 100_000

LATE_CONFIRM_SECONDS = 60.0
"""How long a publish whose confirm did not come in time goes on waiting for it in the background."""

RECONNECT_SHARE = 0.8
"""The share of the publish timeout during which a publish that lost its connection (a cluster node stopped) is
tried again on the next node: after it the connection error comes out in time for a 503, so a 202 always
follows a publish the broker took (confirmed, or sent and awaiting its confirm), never one that never left."""


class ConfirmPending(Exception):
    """No confirm came within the timeout: the broker may already hold the message. The publish goes on in the
    background; its row stays for the late confirm to stamp, or for the reconciler to publish."""


class EnvelopePublisher:
    """Publishes one envelope and waits for the broker to confirm it reached a queue."""

    def __init__(self, publisher: Publisher, timeout_seconds: float) -> None:
        self._publisher = publisher
        self._timeout = timeout_seconds
        self._late: set[asyncio.Future[None]] = set()

    @staticmethod
    def message(envelope: pb.MessageEnvelope) -> aio_pika.Message:
        """The AMQP message of ``envelope``: its body is the bytes the status row keeps."""
        return protobuf_message(
            envelope,
            message_id=envelope.notification_id,
            correlation_id=envelope.correlation_id or None,
        )

    async def publish(
        self,
        message: aio_pika.Message,
        channel: str,
        on_late_confirm: Callable[[], None] | None = None,
        on_late_failure: Callable[[], None] | None = None,
    ) -> None:
        """Publish with routing key ``channel`` and wait for the broker's confirm.

        A publish whose connection is lost is tried again on the next node for most of the timeout
        (:data:`RECONNECT_SHARE`). Raises what the publisher raises when the broker refused the message or the
        connection stays down (then it is not queued, or its copy finds no row and is dropped), and
        :class:`ConfirmPending` when no answer came in time (it may be queued): the confirm is then awaited in
        the background, and ``on_late_confirm`` is called if it comes, ``on_late_failure`` if it does not.
        """
        publishing = asyncio.ensure_future(
            self._publisher.publish(
                self._publisher.topology.direct,
                message,
                channel,
                timeout=LATE_CONFIRM_SECONDS,
                reconnect_seconds=self._timeout * RECONNECT_SHARE,
            )
        )
        try:
            await asyncio.wait_for(asyncio.shield(publishing), self._timeout)
        except TimeoutError:
            self._late.add(publishing)
            publishing.add_done_callback(
                lambda done: self._settled_late(done, message, on_late_confirm, on_late_failure)
            )
            raise ConfirmPending from None

    def _settled_late(
        self,
        publishing: asyncio.Future[None],
        message: aio_pika.Message,
        on_late_confirm: Callable[[], None] | None,
        on_late_failure: Callable[[], None] | None,
    ) -> None:
        self._late.discard(publishing)
        error = None if publishing.cancelled() else publishing.exception()
        if publishing.cancelled() or error is not None:
            logger.warning("late publish of %s was not confirmed: %r", message.message_id, error)
            if on_late_failure is not None:
                on_late_failure()
        elif on_late_confirm is not None:
            on_late_confirm()

    async def close(self, timeout: float = 5.0) -> None:
        """Wait up to ``timeout`` seconds for the late confirms still outstanding."""
        if self._late:
            await asyncio.wait(self._late, timeout=timeout)


class PublishedStamper:
    """Collects the ids of confirmed publishes and stamps their rows in one UPDATE per interval."""

    def __init__(self, store: NotificationStore, interval_seconds: float) -> None:
        self._store = store
        self._interval = interval_seconds
        self._pending: list[uuid.UUID] = []

    def confirmed(self, notification_id: uuid.UUID) -> None:
        """Remember that the broker confirmed ``notification_id``."""
        if len(self._pending) < MAX_PENDING_STAMPS:
            self._pending.append(notification_id)

    async def flush(self) -> None:
        """Stamp every confirmed row now; on a database error, or when stopped half-way (the stamp is
        idempotent), keep them for the next flush."""
        if not self._pending:
            return
        ids, self._pending = self._pending, []
        try:
            await self._store.mark_published(ids)
        except Exception:
            logger.warning("could not stamp published_at on %d rows; will retry", len(ids), exc_info=True)
            self._keep(ids)
        except asyncio.CancelledError:  # run() stopped mid-flush: its last flush takes them
            self._keep(ids)
            raise

    def _keep(self, ids: list[uuid.UUID]) -> None:
        self._pending[:0] = ids[: MAX_PENDING_STAMPS - len(self._pending)]

    async def run(self) -> None:
        """Flush every interval until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(self._interval)
                await self.flush()
        finally:
            await asyncio.shield(self.flush())
