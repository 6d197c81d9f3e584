"""A cap on the requests of one kind a gateway process works on at once (docs/operations.md "Overload").

Past the cap a request is refused at once with 503 and ``Retry-After``, before it costs anything: a burst
beyond what the machine can serve then waits at the client, not in this process, where every request
admitted would slow all the others down and, for a send, push its publish confirm past the timeout."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from gateway.errors import BUSY_RETRY_AFTER, ProblemError
from gateway.metrics import REQUESTS_SHED
from gateway.problem_types import ProblemType


class Slots:
    """At most ``size`` requests of one kind (``what``: "sends", "logins") in progress in this process."""

    def __init__(self, size: int, what: str) -> None:
        self._free = size
        self._what = what
        self._shed = REQUESTS_SHED.labels(what)

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """A slot for the duration of the block; 503 with ``Retry-After`` when none is free."""
        if self._free <= 0:
            self._shed.inc()
            raise ProblemError(
                503,
                f"too many {self._what} in progress; retry after Retry-After seconds",
                headers=BUSY_RETRY_AFTER,
                kind=ProblemType.BUSY,
            )
        self._free -= 1
        try:
            yield
        finally:
            self._free += 1
