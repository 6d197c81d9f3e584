"""The send loop (docs/design.md §7 "Events out"): claim due deliveries as slots free up, within each endpoint's
cap and breaker, post each, and hand the outcome to the batched writer.

A 2xx is ``succeeded``. Any other answer, a timeout, a connection error or a refused address is a failed attempt:
``retrying`` on the ladder, or ``failed`` once the ladder is spent. A delivery claimed for an endpoint whose breaker
opened meanwhile is put back until the pause ends, without spending an attempt."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from webhook_worker import metrics
from webhook_worker.deliveries import Delivery, DeliveryStatus, Outcome, claim_due
from webhook_worker.gates import EndpointGate, EndpointGates
from webhook_worker.ladder import RetryLadder
from webhook_worker.outcomes import OutcomeWriter
from webhook_worker.sender import Attempt, WebhookSender
from webhook_worker.settings import WebhookWorkerSettings

logger = logging.getLogger(__name__)

GATHER_SECONDS = 0.01
"""How long the loop lets sends end before it claims for them: fewer, larger claims."""
DATABASE_PAUSE_SECONDS = 1.0


class Relay:
    """Sends due deliveries until ``stop()``."""

    def __init__(
        self, pool: asyncpg.Pool, sender: WebhookSender, writer: OutcomeWriter, settings: WebhookWorkerSettings
    ) -> None:
        self._pool = pool
        self._sender = sender
        self._writer = writer
        self._settings = settings
        self._ladder = RetryLadder(settings.retry_delays)
        self.gates = EndpointGates(
            cap=settings.endpoint_concurrency,
            breaker_threshold=settings.breaker_threshold,
            breaker_pause_seconds=settings.breaker_pause_seconds,
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """New deliveries were made: claim without waiting for the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Claim and send until cancelled: claim again whenever a send ends or new deliveries were made, after a
        short gathering so one claim serves many finished sends, and at least every poll interval."""
        settings = self._settings
        while True:
            free = settings.concurrency - len(self._tasks)
            if free <= 0:
                self._wake.clear()
                await self._wake.wait()
                continue
            self._wake.clear()
            limit = min(free, settings.batch_size)
            try:
                claimed = await claim_due(
                    self._pool,
                    limit=limit,
                    room=self.gates.room(),
                    endpoint_limit=self.gates.limit,
                    lease_seconds=settings.lease_seconds,
                )
            except Exception:  # the database, or anything else: the loop must outlive it
                logger.warning("could not claim webhook deliveries; trying again", exc_info=True)
                await asyncio.sleep(DATABASE_PAUSE_SECONDS)
                continue
            for delivery in claimed:
                self._start(delivery)
            if len(claimed) < limit:
                with contextlib.suppress(TimeoutError):  # asyncio.timeout: wait_for may swallow a cancellation (3.11)
                    async with asyncio.timeout(settings.poll_seconds):
                        await self._wake.wait()
                await asyncio.sleep(GATHER_SECONDS)

    async def drain(self, grace_seconds: float) -> None:
        """Let attempts in flight finish for up to ``grace_seconds``; the rest are abandoned to their leases."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        for task in set(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _start(self, delivery: Delivery) -> None:
        gate = self.gates.gate(delivery.endpoint_id)
        gate.held += 1
        task = asyncio.create_task(self._send(delivery, gate))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()

    async def _send(self, delivery: Delivery, gate: EndpointGate) -> None:
        try:
            async with gate.sending:
                if not gate.breaker.acquire():
                    self._defer(delivery, gate)
                    return
                attempt = await self._attempt(delivery)
        finally:
            gate.held -= 1
        if attempt.ok:
            gate.breaker.record_success()
        else:
            gate.breaker.record_failure()
        metrics.ATTEMPT_LATENCY.labels(str(attempt.ok).lower()).observe(attempt.response_ms / 1000)
        self._writer.add(self._outcome(delivery, attempt))

    async def _attempt(self, delivery: Delivery) -> Attempt:
        metrics.IN_FLIGHT.inc()
        try:
            return await self._sender.post(delivery)
        except Exception as error:
            logger.exception("sending webhook delivery %s raised unexpectedly", delivery.id)
            return Attempt(False, None, 0, f"unexpected error: {error!r}")
        finally:
            metrics.IN_FLIGHT.dec()

    def _outcome(self, delivery: Delivery, attempt: Attempt) -> Outcome:
        attempts = delivery.attempts + 1
        if attempt.ok:
            status, next_in = DeliveryStatus.SUCCEEDED, None
        else:
            next_in = self._ladder.delay_after(attempts)
            status = DeliveryStatus.FAILED if next_in is None else DeliveryStatus.RETRYING
        metrics.DELIVERIES.labels(status.value).inc()
        return Outcome(
            delivery,
            status,
            attempts,
            next_in,
            attempted=True,
            response_status=attempt.response_status,
            response_ms=attempt.response_ms,
            last_error=attempt.error,
        )

    def _defer(self, delivery: Delivery, gate: EndpointGate) -> None:
        metrics.DELIVERIES.labels("deferred").inc()
        pause = max(gate.breaker.remaining_pause(), self._settings.poll_seconds)
        self._writer.add(Outcome(delivery, DeliveryStatus(delivery.status), delivery.attempts, pause, attempted=False))
