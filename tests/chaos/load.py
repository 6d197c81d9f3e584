"""A steady load of sends from a second process, behaving as a careful client would, and recording every answer.

    python -m tests.chaos.load --gateway http://127.0.0.1:8080 --targets targets.json --out result.json \
        --count 300 --rate 30 [--api-key KEY] [--patience 60]

``targets.json`` is a list of ``{"user_id", "channel", "template"}``; send ``n`` goes to target ``n % len``. Each
send carries its own ``Idempotency-Key`` and is started on schedule (``rate`` per second). A 503, a 429, a 409
"still in flight" and a broken connection are retried with the same key and body after ``Retry-After`` (at most
:data:`MAX_WAIT_SECONDS`), until the send is answered otherwise or ``patience`` seconds have passed. While
running, ``<out>.progress`` holds ``{"started", "accepted", "answered"}``; at the end ``out`` holds every
response (time, status, content type, Retry-After) and each send's outcome. The run always stops by itself:
nothing is started after ``count`` sends and nothing is retried after ``patience``.

:class:`LoadProcess` runs it from a test and reads the result back as a :class:`LoadResult`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from common.settings import DEV_GATEWAY_API_KEY

RETRYABLE = frozenset({409, 429, 503})
MAX_WAIT_SECONDS = 1.0
"""The longest pause between two tries of one send (a real client would honour Retry-After in full; the suite
caps it to stay short)."""
FIRST_WAIT_SECONDS = 0.2
REQUEST_TIMEOUT_SECONDS = 15.0
CONNECTIONS = 200
"""Requests in flight at once. The sends past it wait their turn here, not in httpx's pool: its queue costs
time quadratic in its length, so a gateway paused by a failover left the driver spinning on a full core and
too slow to send the headers of the connections it had opened."""
PROGRESS_SECONDS = 0.25
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Send:
    """One logical send and what became of it."""

    n: int
    key: str
    user_id: str
    channel: str
    tries: int = 0
    status: int | None = None
    """The final answer's status (None: no answer but errors)."""
    notification_id: str | None = None
    outcome: str | None = None
    """``queued`` or ``skipped`` when accepted; otherwise what the last answer was."""


@dataclass
class Response:
    """One HTTP answer (or a transport error as status 0)."""

    n: int
    at: float
    """``time.monotonic()`` when it came: the clock is the machine's, so the test can compare it with its own."""
    status: int
    content_type: str
    retry_after: str | None
    detail: str


class Load:
    """The running load: schedule, retries and the record."""

    def __init__(self, client: httpx.AsyncClient, targets: list[dict[str, str]], patience: float) -> None:
        self._client = client
        self._targets = targets
        self._patience = patience
        self._in_flight = asyncio.Semaphore(CONNECTIONS)
        self.started_at = time.monotonic()
        self.sends: list[Send] = []
        self.responses: list[Response] = []

    def progress(self) -> dict[str, int]:
        return {
            "started": len(self.sends),
            "accepted": sum(1 for send in self.sends if send.notification_id is not None),
            "answered": sum(1 for send in self.sends if send.status is not None and send.status not in RETRYABLE),
        }

    async def send(self, n: int) -> None:
        target = self._targets[n % len(self._targets)]
        record = Send(n=n, key=f"chaos-{uuid.uuid4()}", user_id=target["user_id"], channel=target["channel"])
        self.sends.append(record)
        body = {
            "user_id": target["user_id"],
            "channel": target["channel"],
            "template": target["template"],
            "variables": {"n": n},
        }
        deadline = time.monotonic() + self._patience
        wait = FIRST_WAIT_SECONDS
        while True:
            record.tries += 1
            retry_after: float | None = None
            try:
                async with self._in_flight:
                    answer = await self._client.post(
                        "/v1/notifications/send", json=body, headers={"Idempotency-Key": record.key}
                    )
            except httpx.HTTPError as error:
                self._note(n, 0, "", None, f"{type(error).__name__}: {error}")
            else:
                self._note(
                    n,
                    answer.status_code,
                    answer.headers.get("content-type", ""),
                    answer.headers.get("retry-after"),
                    answer.text[:300],
                )
                record.status = answer.status_code
                if answer.status_code == 202:
                    payload = answer.json()
                    record.notification_id = payload["notification_id"]
                    record.outcome = payload["status"]
                    return
                if answer.status_code not in RETRYABLE:
                    record.outcome = answer.text[:300]
                    return
                retry_after = _seconds(answer.headers.get("retry-after"))
            if time.monotonic() + wait > deadline:
                record.outcome = "gave up"
                return
            await asyncio.sleep(min(MAX_WAIT_SECONDS, retry_after if retry_after is not None else wait))
            wait = min(MAX_WAIT_SECONDS, wait * 2)

    def _note(self, n: int, status: int, content_type: str, retry_after: str | None, detail: str) -> None:
        self.responses.append(Response(n, time.monotonic(), status, content_type, retry_after, detail))


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _write_json(path: Path, value: Any) -> None:
    """Write atomically, so a reader never sees half a file."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(value))
    os.replace(partial, path)


async def run(
    gateway: str, api_key: str, targets: list[dict[str, str]], count: int, rate: float, patience: float, out: Path
) -> None:
    """Start ``count`` sends at ``rate`` per second, wait for every one, write the record to ``out``."""
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=50)
    async with httpx.AsyncClient(
        base_url=gateway, headers={"X-API-Key": api_key}, timeout=REQUEST_TIMEOUT_SECONDS, limits=limits
    ) as client:
        load = Load(client, targets, patience)
        progress = out.with_name(out.name + ".progress")

        async def report() -> None:
            while True:
                _write_json(progress, load.progress())
                await asyncio.sleep(PROGRESS_SECONDS)

        reporter = asyncio.create_task(report())
        tasks = []
        for n in range(count):
            delay = load.started_at + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(load.send(n)))
        await asyncio.gather(*tasks)
        reporter.cancel()
        _write_json(progress, load.progress())
        _write_json(
            out,
            {
                "duration_seconds": round(time.monotonic() - load.started_at, 3),
                "sends": [vars(send) for send in load.sends],
                "responses": [vars(response) for response in load.responses],
            },
        )


# --- the test's side ---------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    """What the load driver recorded."""

    duration_seconds: float
    sends: list[dict[str, Any]]
    responses: list[dict[str, Any]]
    accepted: dict[str, str] = field(default_factory=dict)
    """notification id → channel, for every send answered 202 ``queued``."""

    @classmethod
    def read(cls, path: Path) -> LoadResult:
        raw = json.loads(path.read_text())
        result = cls(raw["duration_seconds"], raw["sends"], raw["responses"])
        result.accepted = {
            send["notification_id"]: send["channel"] for send in result.sends if send["outcome"] == "queued"
        }
        return result

    def statuses(self) -> Counter[int]:
        """How many responses had each status (0: a transport error)."""
        return Counter(response["status"] for response in self.responses)

    def unanswered(self) -> list[dict[str, Any]]:
        """Sends that never got a final answer (gave up) or got one other than 202."""
        return [send for send in self.sends if send["status"] != 202]

    def unclean_refusals(self) -> list[dict[str, Any]]:
        """Refusals a client could not act on: anything but 202 that is not a problem+json 503/429/409, a 429
        or 409 without Retry-After, or any other 5xx."""
        bad = []
        for response in self.responses:
            status = response["status"]
            if status in (0, 202):
                continue
            clean = status in RETRYABLE and response["content_type"].startswith("application/problem+json")
            if status in (409, 429) and response["retry_after"] is None:
                clean = False
            if not clean:
                bad.append(response)
        return bad

    def refused_between(self, start: float, end: float) -> Counter[int]:
        """Statuses of the refusals answered between ``start`` and ``end`` (``time.monotonic()`` values)."""
        return Counter(r["status"] for r in self.responses if start <= r["at"] <= end and r["status"] != 202)


def _prepare(folder: Path, targets: list[dict[str, str]]) -> tuple[Path, BinaryIO]:
    """Write the targets; the result's path and the driver's log, open."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "targets.json").write_text(json.dumps(targets))
    return folder / "load.json", (folder / "load.log").open("wb")


class LoadProcess:
    """The load driver as a child process of the test."""

    def __init__(self, process: asyncio.subprocess.Process, out: Path) -> None:
        self._process = process
        self.out = out

    @classmethod
    async def start(
        cls,
        gateway: str,
        targets: list[dict[str, str]],
        folder: Path,
        *,
        count: int,
        rate: float,
        patience: float = 60.0,
        api_key: str = DEV_GATEWAY_API_KEY,
    ) -> LoadProcess:
        out, log = _prepare(folder, targets)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.chaos.load",
            "--gateway",
            gateway,
            "--api-key",
            api_key,
            "--targets",
            str(folder / "targets.json"),
            "--out",
            str(out),
            "--count",
            str(count),
            "--rate",
            str(rate),
            "--patience",
            str(patience),
            stdout=log,
            stderr=log,
            cwd=ROOT,
        )
        log.close()
        return cls(process, out)

    def progress(self) -> dict[str, int]:
        try:
            return dict(json.loads(self.out.with_name(self.out.name + ".progress").read_text()))
        except (OSError, ValueError):
            return {"started": 0, "accepted": 0, "answered": 0}

    async def wait_accepted(self, count: int, timeout: float = 30.0) -> None:
        """Wait until ``count`` sends were accepted (the load is well under way)."""
        deadline = time.monotonic() + timeout
        while self.progress()["accepted"] < count:
            if self._process.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"the load did not reach {count} accepted sends: {self.progress()}")
            await asyncio.sleep(0.1)

    async def finish(self, timeout: float = 120.0) -> LoadResult:
        """Wait for the driver to end (it always does) and read its record."""
        try:
            code = await asyncio.wait_for(self._process.wait(), timeout)
        except TimeoutError:
            self.kill()
            raise
        if code != 0:
            raise AssertionError(f"the load driver exited with {code}:\n{self.log_tail()}")
        return LoadResult.read(self.out)

    def log_tail(self) -> str:
        return (self.out.parent / "load.log").read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        if self._process.returncode is None:
            self._process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.load")
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--api-key", default=DEV_GATEWAY_API_KEY)
    parser.add_argument("--targets", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--patience", type=float, default=60.0)
    args = parser.parse_args()
    targets = json.loads(args.targets.read_text())
    asyncio.run(run(args.gateway, args.api_key, targets, args.count, args.rate, args.patience, args.out))


if __name__ == "__main__":
    main()
