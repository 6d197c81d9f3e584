"""A consumer's acks coalesced (docs/workers.md "Acks"): the messages it settles in one turn of the event loop
reach the broker as one ``basic.ack`` with ``multiple=True`` where their delivery tags run on from the oldest
message still unsettled, and one ``basic.ack`` each otherwise, still in that turn.

A worker settles many messages at once (one batched outcome statement resumes all their handlers together), and
for a quorum queue each ack frame is a command in its replicated log: one frame for a run of messages spares the
broker and both ends' socket writes. Nothing waits for an older message to finish, so a slow send never holds
back the acks of the messages after it (they would count against the prefetch). A nack goes out at once; the
coalesced acks only ever cover tags acked by the worker.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from aio_pika.abc import AbstractIncomingMessage
from aiormq.abc import AbstractChannel
from prometheus_client import Counter

logger = logging.getLogger(__name__)

ACK_FRAMES = Counter(
    "amqp_consumer_ack_frames_total",
    "basic.ack frames the consumer sent, by kind: multiple (one for a run of messages) or single.",
    ["kind"],
)
ACKED = Counter("amqp_consumer_acked_messages_total", "Messages the consumer acked.")

_IN_PROGRESS = None
"""The value of a tag handed out and not yet settled."""


class _Window:
    """One channel's delivery tags, oldest first: None while in progress, the message once the worker acked it."""

    def __init__(self, channel: AbstractChannel) -> None:
        self.channel = channel
        self.tags: dict[int, AbstractIncomingMessage | None] = {}
        self.flush_scheduled = False


class CoalescedAcks:
    """Acks of the messages of one consumer; :meth:`received` for every message, in the order they come."""

    def __init__(self) -> None:
        self._windows: weakref.WeakKeyDictionary[AbstractChannel, _Window] = weakref.WeakKeyDictionary()
        self._sending: set[asyncio.Task[None]] = set()

    def received(self, message: AbstractIncomingMessage) -> None:
        """Note a delivered message, before any later message of its channel is settled."""
        self._window(message).tags[_tag(message)] = _IN_PROGRESS

    def ack(self, message: AbstractIncomingMessage) -> None:
        """Ack ``message`` at the end of this turn of the event loop (with any acks that join it)."""
        ACKED.inc()
        window = self._window(message)
        window.tags[_tag(message)] = message
        if not window.flush_scheduled:
            window.flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush, window)

    async def nack(self, message: AbstractIncomingMessage, *, requeue: bool) -> None:
        """Nack ``message`` now; its tag leaves the window only once the nack is on its way, so no coalesced ack
        can cover it first."""
        try:
            await message.nack(requeue=requeue)
        except Exception as error:
            logger.info("could not settle a message (%s); the broker will redeliver it", error)
        window = self._window(message)
        window.tags.pop(_tag(message), None)
        if not window.flush_scheduled and any(acked is not _IN_PROGRESS for acked in window.tags.values()):
            window.flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush, window)

    async def drain(self) -> None:
        """Wait until every ack settled so far is on its way (before the channel closes)."""
        await asyncio.sleep(0)  # the flushes scheduled in this turn
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    def _window(self, message: AbstractIncomingMessage) -> _Window:
        window = self._windows.get(message.channel)
        if window is None:
            window = self._windows[message.channel] = _Window(message.channel)
        return window

    def _flush(self, window: _Window) -> None:
        window.flush_scheduled = False
        frames: list[tuple[int, bool]] = []
        run: list[int] = []
        for tag, acked in list(window.tags.items()):
            if acked is _IN_PROGRESS:
                break
            run.append(tag)
            del window.tags[tag]
        if run:
            frames.append((run[-1], len(run) > 1))
        for tag, acked in list(window.tags.items()):
            if acked is not _IN_PROGRESS:
                frames.append((tag, False))
                del window.tags[tag]
        if frames:
            task = asyncio.get_running_loop().create_task(self._send(window.channel, frames))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    @staticmethod
    async def _send(channel: AbstractChannel, frames: list[tuple[int, bool]]) -> None:
        try:
            for tag, multiple in frames:
                await channel.basic_ack(tag, multiple=multiple, wait=False)
                ACK_FRAMES.labels("multiple" if multiple else "single").inc()
        except Exception as error:  # the channel is gone: the broker redelivers what it had not been told
            logger.info("could not ack %d frames (%s); the broker will redeliver their messages", len(frames), error)


def _tag(message: AbstractIncomingMessage) -> int:
    tag = message.delivery_tag
    if tag is None:
        raise ValueError("a message consumed with no_ack has nothing to ack")
    return tag
