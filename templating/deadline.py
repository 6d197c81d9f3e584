"""Running a render off the event loop with a deadline that really stops it.

The sandbox's guards check the deadline at every loop iteration, operator, attribute, call and output, which
stops a slow template by itself. For Python code the guards do not see (a filter's own loop, a long chain of
lazy filters), the waiting coroutine also raises :class:`~templating.guards.Interrupted` inside the
render thread with ``PyThreadState_SetAsyncExc`` when the deadline passes; the interpreter delivers it at the
thread's next bytecode boundary. Either way the caller gets its answer at the deadline, and the thread is free
again right after. (A single C call cannot be interrupted: the size guards keep every one of them small.)
"""

from __future__ import annotations

import asyncio
import ctypes
import enum
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from templating.guards import Interrupted, set_deadline

logger = logging.getLogger(__name__)

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """The work did not finish before its deadline and was stopped."""


def _set_async_exception(thread_id: int, exception: type[BaseException] | None) -> int:
    """Raise ``exception`` in the thread ``thread_id`` at its next bytecode boundary (None clears it)."""
    pending = ctypes.py_object(exception) if exception is not None else None
    return int(ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), pending))


class _State(enum.Enum):
    PENDING = enum.auto()
    RUNNING = enum.auto()
    INTERRUPTING = enum.auto()
    DONE = enum.auto()


class _Job(Generic[T]):
    """One piece of work in a pool thread. Its lock makes sure an interruption lands only while the work runs,
    and that none is left pending for whatever the thread does next."""

    def __init__(self, work: Callable[[], T], deadline: float) -> None:
        self._work = work
        self._deadline = deadline
        self._lock = threading.Lock()
        self._state = _State.PENDING
        self._thread_id = 0

    def __call__(self) -> T:
        try:
            with self._lock:
                if self._state is not _State.PENDING:
                    raise DeadlineExceeded
                self._state = _State.RUNNING
                self._thread_id = threading.get_ident()
            try:
                set_deadline(self._deadline)
                return self._work()
            finally:
                set_deadline(float("inf"))
                with self._lock:
                    if self._state is _State.INTERRUPTING:
                        _set_async_exception(self._thread_id, None)
                    self._state = _State.DONE
        except Interrupted:
            raise DeadlineExceeded from None

    def interrupt(self) -> None:
        """Stop the work: it will not start, or it is interrupted where it runs."""
        with self._lock:
            if self._state is _State.PENDING:
                self._state = _State.DONE
            elif self._state is _State.RUNNING:
                self._state = _State.INTERRUPTING
                _set_async_exception(self._thread_id, Interrupted)
                logger.warning("interrupted a render that ran past its deadline")


class DeadlineRunner:
    """Runs work in a small pool of threads, each call with ``time_limit`` seconds from submission."""

    def __init__(self, *, threads: int, time_limit: float) -> None:
        self.time_limit = time_limit
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="render")

    async def run(self, work: Callable[[], T]) -> T:
        """The result of ``work()``; :class:`DeadlineExceeded` when it took longer than the time limit."""
        job = _Job(work, time.monotonic() + self.time_limit)
        future = self._executor.submit(job)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout=self.time_limit)
        except TimeoutError:
            job.interrupt()
            raise DeadlineExceeded from None

    def close(self) -> None:
        """Stop taking work; threads still busy finish in the background."""
        self._executor.shutdown(wait=False, cancel_futures=True)
