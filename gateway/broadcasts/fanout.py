"""The fan-out of topic sends (docs/design.md §7 "Later and many"), a claimable job every gateway replica runs:
claim a broadcast whose lease is free, page its topic's subscribers after the checkpoint
(``ListSubscriberProfiles``), render each, write the page's rows in one statement with deterministic ids
(``ON CONFLICT (id) DO NOTHING``), publish the rows written now with windowed confirms, then checkpoint the
last subscriber in the broadcast row, renewing the lease.

A replica that dies mid-page leaves the lease to lapse; the next claim resumes from the checkpoint and writes
that page again, which adds only the rows the dead one had not written (rows it wrote but never published are
the reconciler's), so no subscriber is lost or written twice. A cancelled broadcast stops at its next
checkpoint, which cancels the rows of the page it just wrote too."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import grpc

from common.notification_tables import BroadcastState
from common.periodic import run_every
from gateway.broadcasts.ids import recipient_id
from gateway.broadcasts.store import BroadcastStore, FanOutJob
from gateway.errors import ProblemError
from gateway.pages import PageRow, PageWriter
from gateway.schemas.notifications import NotificationContent, content_send
from gateway.send import NotificationSender
from gateway.store import NotificationStore
from notification.v1 import notification_pb2 as pb

logger = logging.getLogger(__name__)


class FanOut:
    """Claims broadcasts and writes their subscribers' notifications, a page per checkpoint."""

    def __init__(
        self,
        broadcasts: BroadcastStore,
        notifications: NotificationStore,
        users: Any,
        sender: NotificationSender,
        writer: PageWriter,
        *,
        id_key: bytes,
        owner: str,
        page_size: int,
        lease_seconds: float,
        interval_seconds: float,
        timeout: float,
    ) -> None:
        self._broadcasts = broadcasts
        self._notifications = notifications
        self._users = users
        self._sender = sender
        self._writer = writer
        self._id_key = id_key
        self._owner = owner
        self._page_size = page_size
        self._lease = lease_seconds
        self._interval = interval_seconds
        self._timeout = timeout

    async def run_once(self) -> bool:
        """Claim one broadcast and fan it out until it is done, cancelled or taken over; False when none was
        free to claim."""
        job = await self._broadcasts.claim(self._owner, self._lease)
        if job is None:
            return False
        try:
            await self._fan_out(job)
        except BaseException:
            await self._release(job)
            raise
        return True

    async def _release(self, job: FanOutJob) -> None:
        """Let the lease go after a failed page (or on shutdown), so any replica resumes the job at once."""
        try:
            await self._broadcasts.release(job.id, self._owner)
        except Exception:
            logger.warning("could not release broadcast %s; its lease lapses on its own", job.id, exc_info=True)

    async def drain(self) -> None:
        """Fan out every broadcast there is to claim, one after the other."""
        while await self.run_once():
            pass

    async def run(self) -> None:
        """Look for broadcasts to fan out every interval until cancelled."""
        await run_every(self._interval, self.drain, "broadcast fan-out")

    async def _fan_out(self, job: FanOutJob) -> None:
        content = NotificationContent.model_validate(job.content)
        after = job.checkpoint
        while True:
            profiles = await self._subscribers(job, after)
            await self._writer.write_new(await self._rows(job, content, profiles))
            finished = len(profiles) < self._page_size
            last = uuid.UUID(profiles[-1].user_id) if profiles else after
            state = await self._broadcasts.checkpoint(
                job.id, self._owner, last, len(profiles), lease_seconds=self._lease, finished=finished
            )
            if state == BroadcastState.CANCELLED:
                await self._notifications.cancel_broadcast(job.application_id, job.id)
            if state is not None:
                logger.info("broadcast %s is %s: its fan-out here stops", job.id, state)
                return
            if finished:
                logger.info("broadcast %s fanned out", job.id)
                return
            after = last

    async def _subscribers(self, job: FanOutJob, after: uuid.UUID | None) -> list[pb.NotificationProfile]:
        request = pb.ListSubscriberProfilesRequest(
            application_id=str(job.application_id),
            key=job.topic,
            after=str(after) if after else "",
            limit=self._page_size,
        )
        try:
            reply = await self._users.ListSubscriberProfiles(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
            logger.info("broadcast %s: topic %s was deleted; nobody is left to write", job.id, job.topic)
            return []
        return list(reply.profiles)

    async def _rows(
        self, job: FanOutJob, content: NotificationContent, profiles: list[pb.NotificationProfile]
    ) -> list[PageRow]:
        """Each subscriber's row, rendered; one whose rendering fails (a template that only breaks for some
        users) is logged and left out."""
        application = str(job.application_id)
        sends = [content_send(content, uuid.UUID(profile.user_id), content.variables) for profile in profiles]
        results = await asyncio.gather(
            *(self._sender.render(send, application, profile) for send, profile in zip(sends, profiles, strict=True)),
            return_exceptions=True,
        )
        rows = []
        for send, profile, rendered in zip(sends, profiles, results, strict=True):
            if isinstance(rendered, ProblemError):
                logger.warning("broadcast %s: user %s: %s; no notification", job.id, profile.user_id, rendered.detail)
                continue
            if isinstance(rendered, BaseException):
                raise rendered
            rows.append(
                self._sender.row(
                    send,
                    job.application_id,
                    profile,
                    rendered,
                    job.request_id,
                    test_mode=job.test_mode,
                    broadcast_id=job.id,
                    notification_id=recipient_id(self._id_key, job.id, send.user_id),
                )
            )
        return rows
