"""The scheduler loop every gateway replica runs (docs/design.md §7 "Later and many"): claim the ``scheduled``
rows that are due, read their recipients' profiles again, render, decide (skip checks, quiet hours), move them
to ``queued`` with their envelopes in the claim's transaction, then publish with windowed confirms and stamp
``published_at`` at once.

A crash between that commit and the publish leaves ``queued`` rows with an envelope and no ``published_at``:
exactly what the reconciler publishes, so an interrupted scheduler loses nothing. Between passes the loop
sleeps until the next row is due (capped by the interval, so rows scheduled by other replicas are seen),
which publishes a row within moments of its ``send_at`` and never before it (the claim compares with the
database's clock)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import aio_pika
import grpc

from common.channels import Channel
from common.notification_tables import Status
from gateway.errors import ProblemError, rpc_problem
from gateway.metrics import SCHEDULER_LATENESS, SCHEDULER_PUBLISHED
from gateway.pages import PageWriter, Publication
from gateway.profiles import ProfileCache
from gateway.publishing import PublishedStamper
from gateway.scheduling.due_rows import CLAIM, GENERIC_PLANS, SECONDS_TO_NEXT, SECONDS_UNTIL, Resolution, resolve
from gateway.schemas.notifications import SendRequest
from gateway.send import NotificationSender
from gateway.store import USER_DELETED, NotificationStore
from notification.v1 import notification_pb2 as pb

logger = logging.getLogger(__name__)

RENDER_FAILED = "render_failed"
"""The skip reason of a scheduled notification whose template no longer renders (deleted, or now needs a
variable the request did not give)."""
UNTIL_MARGIN_SECONDS = 0.005
"""Slept beyond a due time: the event loop may run a timer up to its clock's resolution early."""
MIN_WAIT_SECONDS = 0.05
"""The shortest sleep between passes: rows due now that other passes hold (claimed ahead, until due) are not
polled in a busy loop."""


def due_request(row: Any) -> SendRequest:
    """The send a claimed row was accepted as, from its columns and ``render_input`` (already validated then)."""
    kept = row["render_input"] or {}
    return SendRequest.model_construct(
        user_id=row["user_id"],
        channel=row["channel"],
        template=row["template_slug"],
        locale=kept.get("locale"),
        variables=kept.get("variables", {}),
        priority=row["priority"],
        metadata=row["metadata"],
        expires_at=row["expires_at"],
        send_at=None,
    )


class Scheduler:
    """Publishes scheduled notifications once they are due."""

    def __init__(
        self,
        store: NotificationStore,
        sender: NotificationSender,
        profiles: ProfileCache,
        writer: PageWriter,
        stamper: PublishedStamper,
        *,
        interval_seconds: float,
        batch_size: int,
        concurrency: int = 1,
        lookahead_seconds: float = 0.0,
    ) -> None:
        self._store = store
        self._sender = sender
        self._profiles = profiles
        self._writer = writer
        self._stamper = stamper
        self._interval = interval_seconds
        self._batch = batch_size
        self._concurrency = concurrency
        self._lookahead = lookahead_seconds

    async def run_once(self) -> int:
        """Claim up to a batch of rows due within the lookahead and prepare them (profiles, rendering,
        decisions), wait until the last of them is due, write what became of each in the claim's transaction,
        then publish those now ``queued``; how many rows were claimed. Raises (rolling the claim back) when a
        profile or template cannot be read: the rows stay due for the next pass."""
        async with self._store.pool.acquire() as connection, connection.transaction():
            await connection.execute(GENERIC_PLANS)
            rows = await connection.fetch(CLAIM, self._batch, self._lookahead)
            if not rows:
                return 0
            profiles = await self._profiles_of(rows)
            decided = await asyncio.gather(*(self._decide(row, profiles.get(_user_key(row))) for row in rows))
            await _until(connection, max(row["send_at"] for row in rows))
            stored = await resolve(connection, [resolution for resolution, _ in decided])
        queued = [
            (row, Publication(resolution.id, row["channel"], message))
            for row, (resolution, message) in zip(rows, decided, strict=True)
            if message is not None and stored.get(resolution.id) == Status.QUEUED
        ]
        await self._writer.publish([publication for _, publication in queued])
        await self._stamper.flush()  # published_at now, not at the stamper's next interval
        published_at = datetime.now(UTC)
        for row, publication in queued:
            SCHEDULER_PUBLISHED.labels(publication.channel).inc()
            SCHEDULER_LATENESS.observe((published_at - row["send_at"]).total_seconds())
        return len(rows)

    async def _profiles_of(self, rows: Sequence[Any]) -> dict[tuple[str, str], pb.NotificationProfile]:
        """The recipients' profiles by (application, user): one lookup per application for the cache's misses."""
        users: dict[str, dict[str, None]] = {}
        for row in rows:
            application, user = _user_key(row)
            users.setdefault(application, {})[user] = None
        found: dict[tuple[str, str], pb.NotificationProfile] = {}
        for application, user_ids in users.items():
            profiles, _ = await self._profiles.get_many(application, list(user_ids))
            found.update({(application, user_id): profile for user_id, profile in profiles.items()})
        return found

    async def _decide(
        self, row: Any, profile: pb.NotificationProfile | None
    ) -> tuple[Resolution, aio_pika.Message | None]:
        """What becomes of one claimed row, and the message to publish when it is queued: cancelled when its
        user is gone, skipped when its template no longer renders, else as the sender decides it now."""
        notification_id, application = row["id"], row["application_id"]
        if profile is None:
            return Resolution(notification_id, Status.CANCELLED, USER_DELETED), None
        request = due_request(row)
        try:
            rendered = await self._render(request, str(application), profile)
        except ProblemError as error:
            logger.warning("scheduled %s does not render any more: %s", notification_id, error.detail)
            return Resolution(notification_id, Status.SKIPPED, RENDER_FAILED), None
        test_mode = bool((row["render_input"] or {}).get("test_mode"))
        fate = self._sender.fate(
            request,
            application,
            profile,
            rendered,
            (notification_id, row["created_at"]),
            row["request_id"],
            test_mode=test_mode,
            at=max(row["send_at"], datetime.now(UTC)),
        )
        resolution = Resolution(
            notification_id,
            fate.status,
            fate.reason,
            envelope=fate.message.body if fate.message else None,
            template_version=rendered.version,
            template_locale=rendered.locale,
            send_at=fate.send_at,
            address=profile.email if Channel(request.channel) == Channel.EMAIL else None,
            transactional=rendered.transactional,
        )
        return resolution, fate.message

    async def _render(
        self, request: SendRequest, application: str, profile: pb.NotificationProfile
    ) -> pb.RenderTemplateResponse:
        """The sender's rendering; a backend's refusal of this template (4xx) is the sender's
        :class:`ProblemError`, an outage (5xx) stays the backend's error."""
        try:
            return await self._sender.render(request, application, profile)
        except grpc.aio.AioRpcError as error:
            problem = rpc_problem(error)
            if problem.status >= 500:
                raise
            raise problem from None

    async def seconds_to_next(self) -> float:
        """How long to sleep before the next pass: until the lookahead before the next row is due, at most the
        interval."""
        seconds = await self._store.pool.fetchval(SECONDS_TO_NEXT)
        if seconds is None:
            return self._interval
        return min(max(float(seconds) - self._lookahead, MIN_WAIT_SECONDS), self._interval)

    async def run(self) -> None:
        """:meth:`loop` ``concurrency`` times at once until cancelled: while one pass publishes, another renders
        (``SKIP LOCKED`` keeps their rows apart)."""
        async with asyncio.TaskGroup() as group:
            for _ in range(self._concurrency):
                group.create_task(self.loop())

    async def loop(self) -> None:
        """Passes until cancelled: at once after a full batch, else after :meth:`seconds_to_next`; a failed
        pass is logged and retried after the interval."""
        while True:
            try:
                claimed = await self.run_once()
                wait = 0.0 if claimed >= self._batch else await self.seconds_to_next()
            except Exception:
                logger.warning("scheduler pass failed", exc_info=True)
                wait = self._interval
            await asyncio.sleep(wait)


async def _until(connection: Any, instant: datetime) -> None:
    """Sleep until the database's clock has passed ``instant`` (the clock the claim compares ``send_at`` with),
    with a margin for the event loop's timer resolution: nothing is written as due before it is."""
    seconds = await connection.fetchval(SECONDS_UNTIL, instant)
    if seconds is not None and seconds > 0:
        await asyncio.sleep(seconds + UNTIL_MARGIN_SECONDS)


def _user_key(row: Any) -> tuple[str, str]:
    return str(row["application_id"]), str(row["user_id"])
