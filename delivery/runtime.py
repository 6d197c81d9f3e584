"""The consumer runtime: takes envelopes off a channel's work queue and runs each through the channel's
:class:`~delivery.outcome.Deliverer`, recording every outcome before it acks (docs/design.md §1, §3).

Per message:

1. Decode (``common.envelope.decode_envelope``). Poison (undecodable, or for another channel) is published to
   ``notifications.dlx`` with ``x-failure-reason: poison`` and acked.
2. Past ``expires_at``: the row becomes ``failed`` with reason ``expired``; ack.
3. Wait for the provider's rate ceiling (unless the breaker is open), then claim the row: one statement that
   makes it ``sending`` under a lease of twice ``PROVIDER_TIMEOUT_SECONDS``, when the status machine allows it
   (``common.notification_tables``). No row: ack, drop, count. Delivered, failed, skipped, cancelled or not yet
   due: ack without sending. Suppressed address: the claim made it ``skipped``; ack. Another claim's lease is
   live (a second copy, or a killed worker's redelivered message): back on the retry ladder until the lease
   lapses, the row untouched and no attempt spent; ack.
   A test key's envelope (``test_mode``) is then written ``delivered`` with detail "test mode", never handed
   to the provider (nor held by its rate ceiling or breaker); ack.
4. Breaker open: deferred to the retry ladder without spending an attempt (row ``retrying``); ack.
5. Deliver, within ``PROVIDER_TIMEOUT_SECONDS``. ``Delivered`` → ``delivered``. ``TransientError`` (or no answer
   in time) → ``retrying`` and a copy with ``attempt + 1`` on ``notifications.retry`` (or, once
   ``max_attempts`` are spent, ``failed`` with ``retries_exhausted``). ``PermanentError`` → ``failed`` with its
   reason, then dead-lettered. Each outcome is written only while this claim's lease is the row's. Then ack.

A message is acked only once its row is written and any retry or dead-letter publish is confirmed; the acks of
the messages settled in one turn of the event loop go out together (``common.amqp.acks``). When the
database or the broker fails on the way, the message is requeued after a pause and handled again from the
top. A worker that dies leaves its rows ``sending``: their redelivered copies wait on the ladder until the
lease lapses and are then claimed and sent again, so nothing is lost (and at worst one copy is sent twice,
which the email ``Message-ID`` lets mail systems recognise).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

from common.amqp.acks import CoalescedAcks
from common.amqp.connection import close_after_acks, connect
from common.amqp.publisher import Publisher, protobuf_message
from common.amqp.topology import retry_routing_key, work_queue
from common.channels import Channel
from common.dead_letters import DEAD_LETTER_ID_HEADER
from common.envelope import EnvelopeError, decode_envelope, is_transactional
from common.ids import new_notification_id, parse_uuid
from common.log import request_id_var
from common.notification_tables import Status
from common.redis_client import RedisClient, redis_client
from delivery.breaker import CircuitBreaker
from delivery.breaker_publisher import BreakerPublisher
from delivery.metrics import ChannelMetrics
from delivery.outcome import Deliverer, DeliveryError, HasBreakers, PermanentError, TransientError
from delivery.rate_limit import RateLimiter
from delivery.retry import RetryPolicy, RetrySchedule
from delivery.settings import WorkerSettings
from delivery.status_store import Claim, Outcome, RowState, StatusStore
from notification.v1 import notification_pb2 as pb

logger = logging.getLogger(__name__)

REQUEUE_PAUSE_SECONDS = 1.0
"""How long a message whose handling failed (database or broker down) waits before it is requeued."""
WRITE_PATIENCE_SECONDS = 30.0
"""How long an outcome write is retried: giving up after a send means the message is sent again."""
POISON = "poison"
EXPIRED = "expired"
RETRIES_EXHAUSTED = "retries_exhausted"
TEST_MODE_DETAIL = {"test_mode": True, "message": "test mode"}
"""The history detail of a test key's notification: recorded as delivered, never handed to a provider."""


class WorkerRuntime:
    """Consumes ``deliverer.channel``'s work queue with the knobs of ``settings``.

    ``start()`` connects (waiting for the broker if it is down) and starts consuming; ``stop()`` stops
    consuming, lets in-flight messages finish for up to ``SHUTDOWN_GRACE_SECONDS`` and closes everything but
    the deliverer, which belongs to the caller. ``readiness()`` reports each dependency.
    """

    def __init__(self, settings: WorkerSettings, deliverer: Deliverer, *, name: str | None = None) -> None:
        try:
            self.channel = Channel(deliverer.channel)
        except ValueError:
            raise ValueError(f"unknown channel {deliverer.channel!r}") from None
        self.settings = settings
        self.deliverer = deliverer
        self.policy = RetryPolicy(settings.max_attempts, scale=settings.retry_delay_scale)
        self.breaker = CircuitBreaker(
            self.channel, threshold=settings.breaker_threshold, pause_seconds=settings.breaker_pause_seconds
        )
        self.metrics = ChannelMetrics(self.channel, lambda: float(self.breaker.state))
        self._name = name or f"{self.channel}_worker"
        self._store: StatusStore | None = None
        self._redis: RedisClient | None = None
        self._limiter: RateLimiter | None = None
        self._connection: AbstractRobustConnection | None = None
        self._publisher: Publisher | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._acks = CoalescedAcks()
        self._stopping = False
        self._breaker_publisher = BreakerPublisher(settings.redis_url, self._name, self.breakers)

    def breakers(self) -> list[CircuitBreaker]:
        """The channel's breaker, then the deliverer's own (an email worker's relays), for ``GET /v1/stats``."""
        own = self.deliverer.breakers() if isinstance(self.deliverer, HasBreakers) else []
        return [self.breaker, *own]

    # --- life cycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the database pool, Redis (only with a rate ceiling) and the broker connection, declare the
        topology and start consuming."""
        settings = self.settings
        self._store = await StatusStore.open(
            settings.database_url,
            lease_seconds=settings.lease_seconds,
            pool_size=settings.db_pool_size,
            linger_seconds=settings.db_batch_linger_ms / 1000,
        )
        if settings.max_per_second > 0:
            self._redis = redis_client(settings.redis_url)
            self._limiter = RateLimiter(self._redis, self.channel, settings.max_per_second)
        self._connection = await self._connect()
        self._publisher = await Publisher.create(self._connection, settings.rabbitmq_queue_type)
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=settings.prefetch)
        self._queue = await channel.declare_queue(work_queue(self.channel), passive=True)
        self._consumer_tag = await self._queue.consume(self._on_message)
        self._breaker_publisher.start()
        logger.info(
            "consuming %s (prefetch %d, concurrency %d, max %s/s)",
            work_queue(self.channel),
            settings.prefetch,
            settings.concurrency,
            settings.max_per_second or "unlimited",
        )

    async def stop(self) -> None:
        """Stop consuming, finish in-flight messages (requeue what is left after the grace period), let the
        broker apply the acks, close."""
        self._stopping = True
        await self._breaker_publisher.stop()
        if self._queue is not None and self._consumer_tag is not None:
            with contextlib.suppress(Exception):
                await self._queue.cancel(self._consumer_tag)
        deadline = time.monotonic() + self.settings.shutdown_grace_seconds
        while self._tasks and (remaining := deadline - time.monotonic()) > 0:
            await asyncio.wait(set(self._tasks), timeout=remaining)
        if self._tasks:
            logger.warning("requeueing %d messages still in flight after the grace period", len(self._tasks))
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._acks.drain()
        if self._connection is not None:
            await close_after_acks(self._connection)
        if self._store is not None:
            await self._store.close()
        if self._redis is not None:
            await self._redis.aclose()
        logger.info("stopped consuming %s", work_queue(self.channel))

    async def readiness(self) -> dict[str, bool]:
        """Each dependency and whether it answers: ``broker``, ``database`` and (with a ceiling) ``redis``."""
        connection = self._connection
        checks = {
            "broker": bool(
                connection is not None
                and not connection.is_closed
                and connection.connected.is_set()
                and self._consumer_tag is not None
            ),
            "database": self._store is not None and await _answers(self._store.ping()),
        }
        if self._redis is not None:
            checks["redis"] = await _answers(self._redis.ping())
        return checks

    async def _connect(self) -> AbstractRobustConnection:
        delay = 0.5
        while True:
            try:
                return await connect(self.settings.rabbitmq_nodes, name=self._name)
            except Exception as error:
                logger.warning("broker not reachable (%s); trying again in %.1fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    # --- one message ------------------------------------------------------------------------------------

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        # Our own task, not the channel's: a broker reconnect must not cancel a send half-way.
        self._acks.received(message)
        task = asyncio.get_running_loop().create_task(self._handle(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        async with self._slots:
            if self._stopping:
                await self._acks.nack(message, requeue=True)
                return
            self.metrics.in_flight.inc()
            try:
                await self._process(message)
            except Exception:
                logger.exception("could not handle message %s; requeueing it", message.message_id)
                await asyncio.sleep(REQUEUE_PAUSE_SECONDS)
                await self._acks.nack(message, requeue=True)
            finally:
                self.metrics.in_flight.dec()

    async def _process(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = self._decode(message.body)
        except EnvelopeError as error:
            logger.warning("poison message %s dead-lettered: %s", message.message_id, error)
            await self._dead_letter(message, reason=POISON, attempts=0, detail=str(error))
            self.metrics.failed(POISON)
            self._acks.ack(message)
            return
        request_id_var.set(envelope.correlation_id or None)
        notification_id = envelope.notification_id
        if envelope.HasField("expires_at") and envelope.expires_at.ToNanoseconds() <= time.time_ns():
            state = await self._write(
                Outcome(
                    notification_id,
                    Status.FAILED,
                    attempts=envelope.attempt,
                    reason=EXPIRED,
                    last_error="expired before it could be delivered",
                    detail={"reason": EXPIRED, "expires_at": envelope.expires_at.ToJsonString()},
                )
            )
            if self._counted(state):
                self.metrics.failed(EXPIRED)
            self._acks.ack(message)
            return
        if self._limiter is not None and not envelope.test_mode and self.breaker.may_call():
            self.metrics.rate_limit_wait.inc(await self._limiter.wait_turn())
        attempt = envelope.attempt + 1
        assert self._store is not None
        claim = await self._store.claim(
            notification_id, attempt, _email_address(envelope), transactional=is_transactional(envelope)
        )
        if claim.state is RowState.LEASED:
            await self._wait_for_lease(message, envelope, claim)
            return
        if not self._claimed(claim):
            self._acks.ack(message)
            return
        if envelope.test_mode:
            await self._pretend_delivery(message, envelope, attempt, claim)
            return
        if not self.breaker.acquire():
            await self._defer(message, envelope, claim)
            return
        await self._deliver(message, envelope, attempt, claim)

    def _decode(self, body: bytes) -> pb.MessageEnvelope:
        envelope = decode_envelope(body)
        if envelope.channel != self.channel.proto:
            raise EnvelopeError(f"a {pb.Channel.Name(envelope.channel)} envelope on {work_queue(self.channel)}")
        if parse_uuid(envelope.notification_id) is None:
            raise EnvelopeError("notification_id is not a UUID")
        return envelope

    async def _deliver(
        self, message: AbstractIncomingMessage, envelope: pb.MessageEnvelope, attempt: int, claim: Claim
    ) -> None:
        started = time.perf_counter()
        timeout = self.settings.provider_timeout_seconds
        try:
            delivered = await asyncio.wait_for(self.deliverer.deliver(envelope, attempt), timeout)
        except DeliveryError as error:
            failure: DeliveryError = error
            provider_failed = True
        except TimeoutError:
            failure = TransientError(f"the provider did not answer within {timeout:g} s")
            provider_failed = True
        except Exception as error:
            # A bug in the delivery code, not the provider's fault: retried, but it does not trip the breaker.
            logger.exception("delivery of %s raised unexpectedly", envelope.notification_id)
            self.breaker.release()
            failure = TransientError(f"unexpected error in delivery: {error!r}")
            provider_failed = False
        except BaseException:
            self.breaker.release()
            raise
        else:
            self.breaker.record_success()
            self.metrics.provider_latency("delivered", time.perf_counter() - started)
            state = await self._write(
                Outcome(
                    envelope.notification_id,
                    Status.DELIVERED,
                    attempts=attempt,
                    provider_message_id=delivered.provider_message_id,
                    detail={"provider_message_id": delivered.provider_message_id, **delivered.detail},
                    lease=claim.lease,
                )
            )
            if self._counted(state):
                self.metrics.delivered.inc()
            self._acks.ack(message)
            return

        if isinstance(failure, PermanentError):
            self.breaker.record_success()  # the provider answered: it is up
            self.metrics.provider_latency("permanent", time.perf_counter() - started)
            await self._give_up(
                message,
                envelope,
                claim,
                attempt,
                failure,
                reason=failure.reason,
                suppress_address=failure.suppress_address,
            )
            return
        if provider_failed:
            self.breaker.record_failure()
        self.metrics.provider_latency("transient", time.perf_counter() - started)
        if self.policy.exhausted(attempt):
            await self._give_up(message, envelope, claim, attempt, failure, reason=RETRIES_EXHAUSTED)
            return
        retry_after = failure.retry_after if isinstance(failure, TransientError) else None
        schedule = self.policy.after_failure(attempt, retry_after)
        await self._retry(
            message,
            envelope,
            claim,
            attempts=attempt,
            schedule=schedule,
            last_error=failure.message,
            detail={"error": failure.message, **failure.detail},
        )

    # --- outcomes ---------------------------------------------------------------------------------------

    async def _pretend_delivery(
        self, message: AbstractIncomingMessage, envelope: pb.MessageEnvelope, attempt: int, claim: Claim
    ) -> None:
        """A test key's notification: ``delivered`` as a live one would be, without the provider."""
        state = await self._write(
            Outcome(
                envelope.notification_id, Status.DELIVERED, attempts=attempt, detail=TEST_MODE_DETAIL, lease=claim.lease
            )
        )
        if self._counted(state):
            self.metrics.delivered.inc()
        self._acks.ack(message)

    async def _defer(self, message: AbstractIncomingMessage, envelope: pb.MessageEnvelope, claim: Claim) -> None:
        """The breaker is open: back to the ladder without spending an attempt."""
        schedule = self.policy.deferral(self.breaker.remaining_pause())
        if await self._retry(
            message,
            envelope,
            claim,
            attempts=envelope.attempt,
            schedule=schedule,
            last_error=None,
            detail={"deferred": "circuit breaker open"},
        ):
            self.metrics.deferred.inc()

    async def _wait_for_lease(
        self, message: AbstractIncomingMessage, envelope: pb.MessageEnvelope, claim: Claim
    ) -> None:
        """Another claim holds the row: this copy goes back on the ladder until that lease lapses, without
        touching the row or spending an attempt. Never dropped: after a worker died, this copy is the one that
        sends the notification once its lease is over."""
        await self._publish_retry(envelope, envelope.attempt, self.policy.deferral(claim.wait_seconds))
        self.metrics.deferred.inc()
        logger.info("claimed elsewhere for %.1f s more: deferred", claim.wait_seconds)
        self._acks.ack(message)

    async def _retry(
        self,
        message: AbstractIncomingMessage,
        envelope: pb.MessageEnvelope,
        claim: Claim,
        *,
        attempts: int,
        schedule: RetrySchedule,
        last_error: str | None,
        detail: dict[str, Any],
    ) -> bool:
        """Row ``retrying``, then a copy carrying ``attempt = attempts`` on the retry step; ack. True when the
        copy was published (the row was still this claim's)."""
        state = await self._write(
            Outcome(
                envelope.notification_id,
                Status.RETRYING,
                attempts=attempts,
                last_error=last_error,
                retry_in_seconds=schedule.expiration_seconds,
                detail={**detail, "retry_in_seconds": round(schedule.expiration_seconds, 3)},
                lease=claim.lease,
            )
        )
        published = self._counted(state)
        if published:
            await self._publish_retry(envelope, attempts, schedule)
            if last_error is not None:
                self.metrics.retried.inc()
        self._acks.ack(message)
        return published

    async def _publish_retry(self, envelope: pb.MessageEnvelope, attempts: int, schedule: RetrySchedule) -> None:
        """A copy of ``envelope`` carrying ``attempt = attempts`` on the retry step of ``schedule``."""
        copy = pb.MessageEnvelope()
        copy.CopyFrom(envelope)
        copy.attempt = attempts
        assert self._publisher is not None
        await self._publisher.publish(
            self._publisher.topology.retry,
            protobuf_message(
                copy,
                message_id=envelope.notification_id,
                correlation_id=envelope.correlation_id or None,
                expiration_ms=max(1, round(schedule.expiration_seconds * 1000)),
            ),
            retry_routing_key(self.channel, schedule.step_seconds),
        )

    async def _give_up(
        self,
        message: AbstractIncomingMessage,
        envelope: pb.MessageEnvelope,
        claim: Claim,
        attempts: int,
        error: DeliveryError,
        *,
        reason: str,
        suppress_address: str | None = None,
    ) -> None:
        """Row ``failed`` (with any suppression), then the message to the dead-letter exchange; ack."""
        state = await self._write(
            Outcome(
                envelope.notification_id,
                Status.FAILED,
                attempts=attempts,
                reason=reason,
                last_error=error.message,
                detail={"reason": reason, "error": error.message, **error.detail},
                suppress_address=suppress_address,
                lease=claim.lease,
            )
        )
        if self._counted(state):
            await self._dead_letter(message, reason=reason, attempts=attempts, detail=error.message)
            self.metrics.failed(reason)
        self._acks.ack(message)

    async def _dead_letter(self, message: AbstractIncomingMessage, *, reason: str, attempts: int, detail: str) -> None:
        """Publish the original body to ``notifications.dlx`` with why and after how many attempts."""
        assert self._publisher is not None
        routing_key = message.routing_key or self.channel
        dead = aio_pika.Message(
            body=message.body,
            headers={
                "x-failure-reason": reason,
                "x-failure-detail": detail[:1000],
                "x-attempts": attempts,
                "x-original-routing-key": routing_key,
                DEAD_LETTER_ID_HEADER: str(new_notification_id()),  # a UUIDv7: when it was given up
            },
            content_type=message.content_type,
            type=message.type,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            timestamp=message.timestamp,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self._publisher.publish(self._publisher.topology.dead_letter, dead, routing_key)

    async def _write(self, outcome: Outcome) -> RowState:
        """Write ``outcome``, retrying through a database outage for a while: after a send, losing the outcome
        would mean sending again."""
        assert self._store is not None
        delay = 0.2
        deadline = time.monotonic() + WRITE_PATIENCE_SECONDS
        while True:
            try:
                return await self._store.write(outcome)
            except Exception as error:
                if time.monotonic() > deadline:
                    raise
                logger.warning("could not record %s (%s); trying again", outcome.notification_id, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _counted(self, state: RowState) -> bool:
        """True when the row was updated; counts the envelopes that were not (missing row, already delivered)."""
        if state is RowState.MISSING:
            self.metrics.dropped_missing_row.inc()
            logger.warning("no status row for this envelope: dropped")
        elif state is RowState.DELIVERED:
            self.metrics.skipped_delivered.inc()
            logger.info("already delivered: not sent again")
        elif state is RowState.REFUSED:
            logger.warning("the row moved on (cancelled, or claimed by another copy): outcome not recorded")
        return state is RowState.DONE

    def _claimed(self, claim: Claim) -> bool:
        """True when the claim holds the row; counts why the others are not sent."""
        if claim.state in (RowState.SUPPRESSED, RowState.REFUSED):
            reason = "suppressed" if claim.state is RowState.SUPPRESSED else str(claim.found)
            self.metrics.not_sent(reason)
            logger.info("not sent: the row is %s", reason)
            return False
        return self._counted(claim.state)


def _email_address(envelope: pb.MessageEnvelope) -> str | None:
    """The recipient's address, which the claim checks against the suppression list; None for other channels."""
    return envelope.email_recipient.address or None if envelope.HasField("email_recipient") else None


async def _answers(check: Awaitable[Any]) -> bool:
    try:
        return bool(await asyncio.wait_for(check, timeout=2.0))
    except Exception:
        return False
