"""The bench run: baselines, then the stack (as ``make up`` runs it) under each measurement of issue 9, then
the table and the JSON in ``bench/results/``. Every phase is bounded in time.

    python -m bench [--quick] [--no-profile] [--gateway-workers N] [--users N] [--phases A,B] [--note TEXT]
                    [--compare REF [--compare-rounds N]]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvloop

from bench import audiences, checkout, database, durability, keys, profiling, sinks, webhooks
from bench import compare as ab
from bench.broker import publish_baseline
from bench.environment import (
    API_KEY,
    LIMITS_OFF,
    RABBITMQ_URL,
    SERVICES,
    VHOST,
    WORKERS,
    bench_stack,
    create_templates,
    create_users,
    gateway_client,
    load_average,
    python_pids,
    reset_infrastructure,
    summary_of,
)
from bench.loadgen import Sample, closed_loop, open_loop_in_process, percentile
from bench.monitor import Monitor, cpu_per_item
from bench.report import render_table
from bench.vacuum import Vacuumer
from bench.wrk import run_wrk
from devstack.stack import Stack, free_port

RESULTS = Path(__file__).with_name("results")
PHASES = (
    "saturation",
    "keys",
    "drain",
    "running",
    "rates",
    "mixed",
    "sustained",
    "ceiling",
    "profile",
    "webhooks",
    "batches",
    "topic",
    "scheduling",
)
"""The measuring phases in run order; ``--phases`` picks some (the seed, loss and memory figures always run)."""
COMPARE = "compare"
"""The A/B phase (``--compare REF``), before the others; alone, it runs with the seed and nothing else."""
ROOT = Path(__file__).resolve().parents[1]
MIXED_HOOK = "/hooks/bench-mixed"
RATE_HOOKS = "/hooks/bench-rate"
STEADY_HOOKS = "/hooks/bench-steady"
"""Receiver paths of the mixed phase's endpoint, of the rate phase's (``-<n>`` each) and of the other steady
phases' (``-<phase>``)."""


@dataclass(frozen=True)
class Options:
    users: int = 2000
    warmup_seconds: float = 5
    saturation_seconds: float = 20
    drain_messages: int = 30_000
    push_drain_messages: int = 5_000
    rates: tuple[int, ...] = (100, 300, 600)
    rate_seconds: float = 15
    mixed_rate: int = 300
    mixed_seconds: float = 60
    mixed_push_share: float = 0.2
    sustained_rate: int = 500
    sustained_seconds: float = 60
    email_cost_seconds: float = 30
    ceiling_rates: tuple[int, ...] = tuple(range(100, 1001, 100))
    ceiling_seconds: float = 60
    profile_seconds: float = 15
    profile: bool = True
    webhook_deliveries: int = 30_000
    webhook_endpoints: int = 4
    batch_size: int = 1000
    batches: int = 10
    topic_subscribers: int = 50_000
    topic_single_rate: int = 100
    topic_single_seconds: float = 20
    scheduled_per_second: int = 500
    scheduled_seconds: int = 30
    connections: int = 48
    gateway_workers: int | None = 2
    phases: tuple[str, ...] = PHASES
    note: str = ""
    compare: str | None = None
    """The REF of the A/B phase, as given."""
    compare_commit: str = ""
    compare_rounds: int = 3

    @classmethod
    def quick(cls, **changes: Any) -> Options:
        base = cls(
            users=300,
            warmup_seconds=2,
            saturation_seconds=6,
            drain_messages=4_000,
            push_drain_messages=1_000,
            rate_seconds=5,
            mixed_seconds=15,
            sustained_seconds=15,
            email_cost_seconds=10,
            ceiling_seconds=15,
            profile_seconds=6,
            webhook_deliveries=6_000,
            batches=3,
            topic_subscribers=5_000,
            topic_single_seconds=5,
            scheduled_seconds=5,
        )
        return cls(**{**asdict(base), **changes})


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def bounded_wait(check: Callable[[], Awaitable[bool]], timeout: float, interval: float = 0.5) -> bool:
    """Poll ``check`` until it is true or ``timeout`` passes; whether it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(interval)
    return await check()


def latency_summary(samples: list[Sample]) -> dict[str, Any]:
    latencies = [sample.latency * 1000 for sample in samples if sample.status]
    statuses: dict[str, int] = {}
    for sample in samples:
        statuses[str(sample.status)] = statuses.get(str(sample.status), 0) + 1
    return {
        "sent": len(samples),
        "statuses": statuses,
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies, default=0.0),
    }


class SendRequests:
    """Raw HTTP/1.1 send requests for the Python generator: distinct recipients and Idempotency-Keys."""

    def __init__(
        self, users: list[str], run_id: str, push_share: float = 0.0, due: tuple[float, int] | None = None
    ) -> None:
        self._users = users
        self._run_id = run_id
        self._push_share = push_share
        self._random = random.Random(run_id)
        self._due = due
        """(first second, sends per second): the ``index``-th send is due ``index // per second`` seconds after
        the first, as ``send_at``; None sends now."""

    def __call__(self, index: int) -> bytes:
        channel = "push" if self._random.random() < self._push_share else "email"
        send = {
            "user_id": self._users[index % len(self._users)],
            "channel": channel,
            "template": "bench",
            "variables": {
                "name": f"Reader {index}",
                "order": f"A-{index}",
                "link": f"https://example.com/o/{index}",
            },
        }
        if self._due is not None:
            first, per_second = self._due
            send["send_at"] = datetime.fromtimestamp(first + index // per_second, UTC).isoformat()
        body = orjson.dumps(send)
        return (
            b"POST /v1/notifications/send HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            b"X-API-Key: " + API_KEY.encode() + b"\r\nIdempotency-Key: " + f"{self._run_id}-{index}".encode() + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )


def accepted_ids(samples: list[Sample]) -> list[uuid.UUID]:
    return [uuid.UUID(orjson.loads(sample.body)["notification_id"]) for sample in samples if sample.status == 202]


@contextlib.asynccontextmanager
async def baseline_server(kind: str) -> AsyncIterator[int]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.servers", kind, str(port), cwd=ROOT, stdout=subprocess.DEVNULL
    )
    try:

        async def up() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return True
            except OSError:
                return False

        if not await bounded_wait(up, 20, 0.1):
            raise RuntimeError(f"the {kind} baseline server did not start")
        yield port
    finally:
        process.terminate()
        await process.wait()


class Bench:
    """One run: its options, where it writes, and what it measured so far."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.results: dict[str, Any] = {}
        self.folder = Path(tempfile.mkdtemp(prefix="bench-stack-"))
        self.users_file = self.folder / "users.txt"
        self.users: list[str] = []
        self.stack: Stack | None = None
        self.ref_tree: Path | None = None
        self.monitor: Monitor | None = None
        self.vacuumer = Vacuumer(database.url())
        self.db: Any = None
        self.http = httpx.AsyncClient(timeout=30)

    # --- helpers ------------------------------------------------------------------------------------------

    def phase(self, name: str) -> None:
        assert self.monitor is not None
        self.monitor.phase = name
        log(f"phase {name} (load {load_average():.2f})")

    async def wrk(self, channel: str, seconds: float, run_id: str, api_key: str = API_KEY) -> dict[str, Any]:
        """wrk with ``send.lua`` against the stack's gateway."""
        assert self.stack is not None
        return await self.wrk_at(self.stack.url("gateway"), seconds, run_id, channel, api_key)

    async def wrk_at(
        self, url: str, seconds: float, run_id: str, channel: str = "email", api_key: str = API_KEY
    ) -> dict[str, Any]:
        """wrk with ``send.lua`` against ``url``, over the bench's connections and users."""
        return await run_wrk(
            url,
            self.users_file,
            channel=channel,
            run_id=run_id,
            seconds=seconds,
            connections=self.options.connections,
            api_key=api_key,
        )

    async def depth(self, channel: str) -> int:
        """The channel's backlog: accepted, not yet picked up by a worker."""
        return (await database.backlog(self.db))[channel]

    async def queues_empty(self, timeout: float) -> bool:
        async def empty() -> bool:
            return not any((await database.backlog(self.db)).values())

        return await bounded_wait(empty, timeout)

    async def start_workers(self) -> None:
        assert self.stack is not None
        await asyncio.gather(*(self.stack.start_service(name) for name in WORKERS))

    async def stop_workers(self) -> None:
        assert self.stack is not None
        await asyncio.gather(*(self.stack.stop_service(name) for name in WORKERS))

    async def drain_backlog(self, timeout: float = 120) -> None:
        """The workers deliver what is queued and stop again: an A/B round starts on an empty queue."""
        if not any((await database.backlog(self.db)).values()):
            return
        await self.start_workers()
        if not await self.queues_empty(timeout):
            log(f"the backlog was not delivered within {timeout:.0f} s")
        await self.stop_workers()

    def service_pids(self, instance: str) -> list[int]:
        assert self.stack is not None
        pgid = self.stack.processes[instance].service_pid()
        return python_pids(pgid) if pgid else []

    # --- phases -------------------------------------------------------------------------------------------

    async def baselines(self) -> None:
        """The load generators against a trivial endpoint, a bare FastAPI endpoint, a bare publish loop."""
        log("baselines: trivial endpoint, bare FastAPI, confirmed publishes (before the stack starts)")
        users = [str(uuid.uuid4()) for _ in range(2000)]
        self.users_file.write_text("\n".join(users) + "\n")
        found: dict[str, Any] = {"load_before": load_average()}
        async with baseline_server("trivial") as port:
            found["wrk_trivial"] = await self.wrk_at(f"http://127.0.0.1:{port}", 5, "t")
            samples = await closed_loop("127.0.0.1", port, 32, 3, SendRequests(users, "trivial"))
            found["python_trivial"] = {"per_second": len(samples) / 3, **latency_summary(samples)}
        async with baseline_server("fastapi") as port:
            found["fastapi"] = await self.wrk_at(f"http://127.0.0.1:{port}", 10, "f")
        found["publish"] = await publish_baseline(8, in_flight=100)
        found["load_after"] = load_average()
        self.results["baselines"] = found

    async def start_stack(self) -> None:
        overrides = {}
        if self.options.gateway_workers:
            overrides["GATEWAY_WORKERS"] = str(self.options.gateway_workers)
        self.stack = bench_stack(self.folder, overrides)
        log(f"starting the stack in {self.folder} (workers stopped)")
        await self.stack.prepare()
        await self.stack.start([name for name in SERVICES if name not in WORKERS])
        self.db = await database.connect()
        self.monitor = Monitor(self.stack, self.db)
        self.monitor.start()
        await self.vacuumer.start()
        self.results["settings"] = {
            "limits": LIMITS_OFF,
            "gateway_workers": self.stack.environment.get("GATEWAY_WORKERS", "1 (default)"),
            "log_level": self.stack.environment.get("LOG_LEVEL"),
            "queue_type": self.stack.environment.get("RABBITMQ_QUEUE_TYPE"),
        }
        self.results["durability"] = await durability.settings(self.db, self.stack, VHOST, RABBITMQ_URL)

    async def seed(self) -> None:
        assert self.stack is not None
        self.phase("seed")
        started = time.monotonic()
        async with gateway_client(self.stack) as http:
            await create_templates(http)
            self.users = await create_users(http, self.options.users)
        self.users_file.write_text("\n".join(self.users) + "\n")
        self.results["seed"] = {"users": len(self.users), "seconds": time.monotonic() - started}

    async def saturation(self, name: str, channel: str = "email", api_key: str = API_KEY) -> dict[str, Any]:
        """wrk at saturation after a warm-up (one send to every user, as a running system has its caches warm
        for the users it keeps sending to, then a short wrk run); the CPU each service spent per accepted send."""
        assert self.monitor is not None
        self.phase(f"{name}-warmup")
        await self.warm_up(channel)
        await self.wrk(channel, self.options.warmup_seconds, f"{name}-warmup-{uuid.uuid4().hex[:6]}", api_key)
        self.phase(name)
        before = self.monitor.usage_now(rescan=True)
        load = load_average()
        result = await self.wrk(channel, self.options.saturation_seconds, f"{name}-{uuid.uuid4().hex[:6]}", api_key)
        after = self.monitor.usage_now(rescan=True)
        result["cpu_us_per_send"] = cpu_per_item(before, after, int(result["accepted"]))
        result["wrk_cpu_us_per_send"] = round(result["wrk_cpu_seconds"] / max(result["accepted"], 1) * 1e6, 1)
        result["load"] = [load, load_average()]
        log(f"{name}: {result['accepted_per_second']:.0f} accepted/s, p99 {result['p99_ms']:.1f} ms")
        return result

    async def compare_gateways(self) -> None:
        """Saturation with the workers stopped, the gateway from REF's tree and from the working tree in turn,
        each after a restart, on an empty queue and a warm-up; then the working tree's gateway, on an empty queue."""
        assert self.stack is not None
        assert self.ref_tree is not None
        started = time.monotonic()
        trees = {"ref": self.ref_tree, "working": ROOT}
        rounds = []
        for side, number in ab.schedule(self.options.compare_rounds):
            log(f"A/B round {number}: the gateway from the {side} tree ({trees[side]})")
            await asyncio.gather(ab.restart_gateway(self.stack, trees[side]), self.drain_backlog())
            rounds.append(ab.round_figures(side, number, await self.saturation(f"compare-{side}-{number}")))
        await asyncio.gather(ab.restart_gateway(self.stack, ROOT), self.drain_backlog())
        found = {
            "ref": self.options.compare,
            "ref_commit": self.options.compare_commit,
            "working": self.results["commit"],
            "rounds": rounds,
            **ab.summary(rounds),
            "seconds": time.monotonic() - started,
        }
        self.results["compare"] = found
        log(f"A/B: accepted/s {found['difference_percent']['accepted_per_second']:+.1f} % (working tree vs REF)")

    async def compare_keys(self) -> None:
        """Saturation with the workers stopped, sending with the deployment's key and with a key from the table (10,000
        others beside it) in turn, on one running gateway, each round on an empty queue after a warm-up."""
        assert self.stack is not None
        started = time.monotonic()
        in_table = await keys.fill_key_table(self.db)
        keys_of = {
            "environment": API_KEY,
            "table": await keys.create_send_key(
                self.stack.url("gateway"), self.stack.environment["GATEWAY_ADMIN_API_KEY"]
            ),
        }
        rounds = []
        for side, number in ab.schedule(self.options.compare_rounds, keys.SIDES):
            await self.drain_backlog()
            found = await self.saturation(f"keys-{side}-{number}", api_key=keys_of[side])
            found["total_cpu_us_per_send"] = keys.total_cpu_us_per_send(found["cpu_us_per_send"])
            rounds.append(ab.round_figures(side, number, found))
        await self.drain_backlog()
        self.results["keys"] = {
            "keys_in_table": in_table,
            "rounds": rounds,
            **ab.summary(rounds, keys.SIDES, keys.FIGURES),
            "seconds": time.monotonic() - started,
        }
        change = self.results["keys"]["difference_percent"]["total_cpu_us_per_send"]
        log(f"keys A/B: CPU per send {change:+.1f} % with the table's key")

    async def warm_up(self, channel: str) -> None:
        """One send to each user (32 at a time, at most 60 s)."""
        assert self.stack is not None
        build = SendRequests(self.users, f"warm-{uuid.uuid4().hex[:6]}", push_share=float(channel == "push"))
        port = int(self.stack.environment["GATEWAY_PORT"])
        await closed_loop("127.0.0.1", port, 32, 60, build, limit=len(self.users))

    async def fill(self, channel: str, wanted: int, rate_hint: float) -> int:
        """Sends on ``channel`` until its queue holds ``wanted`` messages (bounded); the depth reached."""
        self.phase(f"fill-{channel}")
        deadline = time.monotonic() + max(60.0, wanted / 150)
        depth = await self.depth(channel)
        while depth < wanted and time.monotonic() < deadline:
            seconds = min(max(2.0, (wanted - depth) / max(rate_hint, 50) * 1.05), deadline - time.monotonic())
            result = await self.wrk(channel, max(1.0, seconds), f"fill-{uuid.uuid4().hex[:6]}")
            rate_hint = result["accepted_per_second"] or rate_hint
            depth = await self.depth(channel)
        return depth

    async def drain(self, channel: str, backlog: int) -> dict[str, Any]:
        """Start the channel's worker on a backlog of ``backlog`` envelopes; delivered per second until empty."""
        assert self.stack is not None
        assert self.monitor is not None
        self.phase(f"drain-{channel}")
        since = await database.now(self.db)
        before = self.monitor.usage_now()
        commits = await database.commits(self.db)
        started = time.monotonic()
        instance = f"{channel}_worker"
        await self.stack.start_service(instance)
        ready = time.monotonic() - started

        async def drained() -> bool:
            window = await database.delivery_window(self.db, channel, since)
            return bool(window["n"] >= backlog) and await self.depth(channel) == 0

        finished = await bounded_wait(drained, max(60.0, backlog / 100), 0.25)
        wall = time.monotonic() - started
        after = self.monitor.usage_now()
        window = await database.delivery_window(self.db, channel, since)
        commits = await database.commits_since(self.db, commits)
        worker = self.stack.url(instance)
        acked = await durability.metric_total(self.http, worker, "amqp_consumer_acked_messages")
        ack_frames = await durability.metric_total(self.http, worker, "amqp_consumer_ack_frames")
        span = (window["last"] - window["first"]).total_seconds() if window["n"] > 1 else 0.0
        result = {
            "backlog": backlog,
            "delivered": window["n"],
            "finished": finished,
            "per_second": window["n"] / span if span else 0.0,
            "wall_seconds_from_start": wall,
            "worker_ready_seconds": ready,
            "cpu_us_per_delivery": cpu_per_item(before, after, window["n"]),
            "commits_per_delivery": commits / window["n"] if window["n"] else None,
            "acks_per_frame": acked / ack_frames if acked and ack_frames else None,
            "load": load_average(),
        }
        self.results[f"drain_{channel}"] = result
        log(f"drain {channel}: {result['per_second']:.0f}/s ({window['n']}/{backlog})")
        return result

    async def fixed_rates(self, name: str, workers_running: bool) -> None:
        """Gateway latency at each offered rate: the accept path alone (``workers_running=False``: the target),
        or with the workers delivering what it accepts (reported too)."""
        assert self.stack is not None
        host, port = "127.0.0.1", int(self.stack.environment["GATEWAY_PORT"])
        found = {}
        for rate in self.options.rates:
            if workers_running:
                await self.queues_empty(120)
            self.phase(f"{name}-{rate}")
            load = load_average()
            samples = await open_loop_in_process(
                host,
                port,
                rate,
                self.options.rate_seconds,
                SendRequests(self.users, f"rate{rate}-{uuid.uuid4().hex[:6]}"),
            )
            found[str(rate)] = {**latency_summary(samples), "load": [load, load_average()]}
            log(f"{name} {rate}/s: p99 {found[str(rate)]['p99_ms']:.1f} ms")
        self.results[name] = found

    async def mixed(self) -> None:
        """Issue 16's phase: ``mixed_rate`` sends/s (a share of them push) with a webhook endpoint subscribed."""
        self.results["mixed"] = await self.steady_load(
            "mixed", self.options.mixed_rate, self.options.mixed_seconds, self.options.mixed_push_share
        )

    async def sustained(self) -> None:
        """Issue 21's whole pipeline: ``sustained_rate`` sends/s (80 % email) with the webhook endpoint, then the
        same rate of email alone for the CPU one delivered email costs in every process."""
        options = self.options
        self.results["sustained"] = await self.steady_load(
            "sustained", options.sustained_rate, options.sustained_seconds, options.mixed_push_share
        )
        self.results["email_cost"] = await self.steady_load(
            "email_cost", options.sustained_rate, options.email_cost_seconds, 0.0
        )

    async def ceiling(self) -> None:
        """Saturation with everything running: the offered rates of ``ceiling_rates`` in turn, each for
        ``ceiling_seconds``, until one fails (a non-202, something not delivered within the phase + 5 s, or an
        end-to-end p99 over 1 s); the highest that passed."""
        steps = []
        for rate in self.options.ceiling_rates:
            found = await self.steady_load(
                f"ceiling-{rate}", rate, self.options.ceiling_seconds, self.options.mixed_push_share, settle=5
            )
            passed = (
                found["accepted"] == found["gateway"]["sent"]
                and found["delivered_in_time"] == found["accepted"]
                and found["e2e_p99_ms"] <= 1000
            )
            steps.append({"rate": rate, "passed": passed, **found})
            log(f"ceiling {rate}/s: {'passed' if passed else 'failed'}")
            if not passed:
                break
        passing = [step["rate"] for step in steps if step["passed"]]
        self.results["ceiling"] = {"steps": steps, "highest": max(passing, default=None)}

    async def steady_load(
        self, name: str, rate: int, seconds: float, push_share: float, *, settle: float | None = None
    ) -> dict[str, Any]:
        """``rate`` sends/s for ``seconds`` with the workers running and one webhook endpoint subscribed to
        ``notification.delivered`` and ``notification.failed``: gateway latency, end-to-end latency, backlog, CPU
        per send of every process (from the start until everything was delivered), the events told.
        ``settle``: how long after the phase a notification may be delivered and still count as in time."""
        assert self.stack is not None
        assert self.monitor is not None
        await self.queues_empty(120)
        path = MIXED_HOOK if name == "mixed" else f"{STEADY_HOOKS}-{name}"
        async with gateway_client(self.stack) as http:
            endpoint = await webhooks.register(http, self.stack, path, webhooks.MIXED_EVENTS)
        self.phase(name)
        before = self.monitor.usage_now()
        commits = await database.commits(self.db)
        host, port = "127.0.0.1", int(self.stack.environment["GATEWAY_PORT"])
        load = load_average()
        started = await database.now(self.db)
        build = SendRequests(self.users, f"{name}-{uuid.uuid4().hex[:6]}", push_share=push_share)
        samples = await open_loop_in_process(host, port, rate, seconds, build)
        ids = accepted_ids(samples)
        self.phase(f"{name}-settle")

        async def all_delivered() -> bool:
            return await database.delivered_count(self.db, ids) >= len(ids)

        await bounded_wait(all_delivered, 120)
        e2e = await database.end_to_end(self.db, ids)
        after = self.monitor.usage_now()
        commits = await database.commits_since(self.db, commits)
        in_time = (
            await database.delivered_by(self.db, ids, started, seconds + settle) if settle is not None else len(e2e)
        )
        told = await self.endpoint_told(endpoint, path, len(e2e))
        depths = [
            sample["queues"].get("email", 0) + sample["queues"].get("push", 0)
            for sample in self.monitor.of_phase(name)
            if sample["queues"]
        ]
        found = {
            "offered_per_second": rate,
            "seconds": seconds,
            "push_share": push_share,
            "gateway": latency_summary(samples),
            "accepted": len(ids),
            "delivered": len(e2e),
            "delivered_in_time": in_time,
            "e2e_p50_ms": percentile(e2e, 0.5) * 1000,
            "e2e_p99_ms": percentile(e2e, 0.99) * 1000,
            "e2e_max_ms": max(e2e, default=0.0) * 1000,
            "queue_depth_max": max(depths, default=0),
            "queue_depth_last_10s_max": max(depths[-10:], default=0),
            "queue_depth_series": depths,
            "load": [load, load_average()],
            "cpu_us_per_send": cpu_per_item(before, after, len(ids)),
            "commits_per_send": commits / len(ids) if ids else None,
            "webhook": told,
        }
        log(f"{name}: e2e p99 {found['e2e_p99_ms']:.0f} ms, gateway p99 {found['gateway']['p99_ms']:.0f} ms")
        return found

    async def endpoint_told(self, endpoint_id: str, path: str, delivered: int) -> dict[str, Any]:
        """What a steady phase's endpoint at ``path`` (delivered and failed events) was told, once every
        delivered notification's event arrived (at most 60 s more); then the endpoint is deleted."""
        assert self.stack is not None
        stack = self.stack

        async def all_told() -> bool:
            return int((await webhooks.received(self.http, stack, path))["distinct_succeeded"]) >= delivered

        await bounded_wait(all_told, 60)
        found = await webhooks.received(self.http, stack, path)
        async with gateway_client(stack) as http:
            await webhooks.remove(http, stack, endpoint_id)
        log(f"{path}: {found['distinct_succeeded']}/{delivered} events told, lag p99 {found['lag_seconds']['p99']} s")
        return {"expected": delivered, **found}

    async def webhook_rate(self) -> None:
        """Deliveries per second into the receiver, signatures verified, with nothing else running: the email
        and push workers stopped, ``webhook_deliveries`` events in the outbox for ``webhook_endpoints``
        endpoints (one delivery each per endpoint), then webhook_worker started alone until all arrived."""
        assert self.stack is not None
        assert self.monitor is not None
        stack, options = self.stack, self.options
        await self.queues_empty(120)
        await self.stop_workers()
        await stack.stop_service("webhook_worker")
        self.phase("webhooks-fill")
        async with gateway_client(stack) as http:
            endpoints = [
                await webhooks.register(http, stack, f"{RATE_HOOKS}-{number}", [webhooks.DELIVERED])
                for number in range(options.webhook_endpoints)
            ]
        wanted = options.webhook_deliveries // options.webhook_endpoints * options.webhook_endpoints
        await webhooks.fill_outbox(self.db, wanted // options.webhook_endpoints)
        self.phase("webhooks")
        before = self.monitor.usage_now()
        started = time.monotonic()
        await stack.start_service("webhook_worker")
        ready = time.monotonic() - started

        async def all_arrived() -> bool:
            return int((await webhooks.received(self.http, stack, RATE_HOOKS))["distinct_succeeded"]) >= wanted

        finished = await bounded_wait(all_arrived, max(60.0, wanted / 100), 0.25)
        wall = time.monotonic() - started
        after = self.monitor.usage_now(rescan=True)
        found = await webhooks.received(self.http, stack, RATE_HOOKS)
        span = (found["last_succeeded_at"] or 0) - (found["first_succeeded_at"] or 0)
        async with gateway_client(stack) as http:
            for endpoint_id in endpoints:
                await webhooks.remove(http, stack, endpoint_id)
        self.results["webhooks"] = {
            "endpoints": options.webhook_endpoints,
            "wanted": wanted,
            "finished": finished,
            "per_second": found["distinct_succeeded"] / span if span else 0.0,
            "wall_seconds_from_start": wall,
            "worker_ready_seconds": ready,
            "left": await webhooks.deliveries_left(self.db),
            "cpu_us_per_delivery": cpu_per_item(before, after, int(found["distinct_succeeded"])),
            "load": load_average(),
            **found,
        }
        log(f"webhooks: {self.results['webhooks']['per_second']:.0f}/s ({found['distinct_succeeded']}/{wanted})")
        await self.start_workers()

    async def batches(self) -> None:
        """``batches`` sends of ``batch_size`` recipients each, one after the other, to users made for the phase
        (so no cache holds their profiles), with the workers stopped: how long each answer took, every item
        confirmed in the broker. The workers then deliver them before the next phase."""
        assert self.stack is not None
        options = self.options
        await self.queues_empty(120)
        await self.stop_workers()
        self.phase("batches-seed")
        run_id = f"batch-{uuid.uuid4().hex[:6]}"
        users = await audiences.seed_users(options.batch_size * options.batches, run_id)
        self.phase("batches")
        sent = []
        async with gateway_client(self.stack) as http:
            for number in range(options.batches):
                recipients = users[number * options.batch_size : (number + 1) * options.batch_size]
                sent.append(await audiences.send_batch(http, recipients, run_id))
        seconds = sorted(batch["seconds"] for batch in sent)
        self.results["batches"] = {
            "size": options.batch_size,
            "count": options.batches,
            "seconds": [batch["seconds"] for batch in sent],
            "p50_seconds": percentile(seconds, 0.5),
            "max_seconds": seconds[-1],
            "queued": sum(batch["queued"] for batch in sent),
            "refused": [batch["error"] for batch in sent if batch["status"] != 202],
            "load": load_average(),
        }
        log(f"batches: p50 {self.results['batches']['p50_seconds']:.3f} s, {self.results['batches']['queued']} queued")
        await self.start_workers()
        await self.queues_empty(120)

    async def topic_send(self) -> None:
        """One email to each of ``topic_subscribers`` subscribers of a topic (users made for the phase), with the
        workers running and single sends offered at ``topic_single_rate``/s meanwhile: how long after the send
        the fan-out had queued them all and the sink had them all, and the single sends' latency meanwhile."""
        assert self.stack is not None
        options = self.options
        await self.queues_empty(120)
        self.phase("topic-seed")
        run_id = f"topic-{uuid.uuid4().hex[:6]}"
        subscribers = await audiences.seed_users(options.topic_subscribers, run_id)
        host, port = "127.0.0.1", int(self.stack.environment["GATEWAY_PORT"])
        async with gateway_client(self.stack) as http:
            await audiences.seed_topic(http, run_id, subscribers)
            self.phase("topic")
            singles = asyncio.create_task(
                open_loop_in_process(
                    host,
                    port,
                    options.topic_single_rate,
                    options.topic_single_seconds,
                    SendRequests(self.users, f"{run_id}-single"),
                )
            )
            started = time.monotonic()
            broadcast_id = await audiences.send_to_topic(http, run_id, run_id)
            queued_seconds = delivered_seconds = None
            found: dict[str, Any] = {}
            while time.monotonic() - started < 180:
                found = await audiences.broadcast(http, broadcast_id)
                if queued_seconds is None and found["state"] == "done":
                    queued_seconds = time.monotonic() - started
                if found["delivered"] + found["skipped"] + found["failed"] >= options.topic_subscribers:
                    delivered_seconds = time.monotonic() - started
                    break
                await asyncio.sleep(0.25)
            samples = await singles
        self.results["topic"] = {
            "subscribers": options.topic_subscribers,
            "queued_seconds": queued_seconds,
            "delivered_seconds": delivered_seconds,
            "broadcast": found,
            "single_rate": options.topic_single_rate,
            "singles": latency_summary(samples),
            "load": load_average(),
        }
        log(f"topic: queued in {queued_seconds} s, delivered in {delivered_seconds} s")

    async def scheduling(self) -> None:
        """``scheduled_per_second`` sends due in each of ``scheduled_seconds`` seconds, accepted beforehand, with
        the workers running: how late the scheduler published each (``published_at`` - ``send_at``)."""
        assert self.stack is not None
        options = self.options
        await self.queues_empty(120)
        wanted = options.scheduled_per_second * options.scheduled_seconds
        lead = wanted / 600 + 10  # accepting them all takes about wanted / 800 s
        first = time.time() + lead
        run_id = f"scheduled-{uuid.uuid4().hex[:6]}"
        self.phase("scheduling-accept")
        host, port = "127.0.0.1", int(self.stack.environment["GATEWAY_PORT"])
        build = SendRequests(self.users, run_id, due=(first, options.scheduled_per_second))
        samples = await closed_loop(host, port, 32, lead, build, limit=wanted)
        ids = accepted_ids(samples)
        self.phase("scheduling")

        async def all_published() -> bool:
            return await database.published_count(self.db, ids) >= len(ids)

        await asyncio.sleep(max(0.0, first - time.time()))
        await bounded_wait(all_published, options.scheduled_seconds + 30)
        lateness = await database.publish_lateness(self.db, ids)
        self.results["scheduling"] = {
            "wanted": wanted,
            "accepted": len(ids),
            "published": len(lateness),
            "lateness_p50_ms": percentile(lateness, 0.5) * 1000,
            "lateness_p99_ms": percentile(lateness, 0.99) * 1000,
            "lateness_max_ms": max(lateness, default=0.0) * 1000,
            "early": sum(1 for seconds in lateness if seconds < 0),
            "load": load_average(),
        }
        log(f"scheduling: lateness p99 {self.results['scheduling']['lateness_p99_ms']:.0f} ms")

    async def profile(self) -> None:
        """py-spy on the accept path at saturation (workers stopped), then on the email worker draining."""
        assert self.stack is not None
        if not profiling.available():
            log("py-spy is not installed: no profiles")
            return
        await self.queues_empty(120)
        await self.stop_workers()
        self.phase("profile-send")
        seconds = self.options.profile_seconds
        send_targets = {name: self.service_pids(name) for name in ("gateway", "template_svc", "user_svc")}
        wrk = asyncio.create_task(self.wrk("email", seconds + 2, f"profile-{uuid.uuid4().hex[:6]}"))
        await asyncio.sleep(1)
        recorded = await asyncio.gather(
            *(
                profiling.record(pids, seconds, RESULTS / f"profile-{name}.folded")
                for name, pids in send_targets.items()
            )
        )
        await wrk
        profiles: dict[str, Any] = {}
        for (name, _), stacks in zip(send_targets.items(), recorded, strict=True):
            profiling.flame_graph(stacks, f"{name} at saturation (send path)", RESULTS / f"flame-{name}.svg")
            profiles[name] = profiling.top_functions(stacks)
        self.phase("profile-drain")
        await self.stack.start_service("email_worker")
        worker_targets = {name: self.service_pids(name) for name in ("email_worker", "smtp_sink")}
        recorded = await asyncio.gather(
            *(
                profiling.record(pids, min(seconds, 10), RESULTS / f"profile-{name}.folded")
                for name, pids in worker_targets.items()
            )
        )
        for (name, _), stacks in zip(worker_targets.items(), recorded, strict=True):
            profiling.flame_graph(stacks, f"{name} draining", RESULTS / f"flame-{name}.svg")
            profiles[name] = profiling.top_functions(stacks)
        await self.stack.start_service("push_worker")
        self.results["profiles"] = profiles

    async def totals(self) -> None:
        """Loss and duplicates over the whole run, once everything settled."""
        assert self.stack is not None
        self.phase("settle")
        await self.queues_empty(180)

        async def settled() -> bool:
            counts = await database.statuses(self.db)
            return all(
                counts.get(channel, {}).get(status, 0) == 0
                for channel in ("email", "push")
                for status in ("queued", "sending", "retrying")
            )

        await bounded_wait(settled, 60)
        counts = await database.statuses(self.db)
        self.results["durability"]["late_confirms"] = await durability.late_confirms(self.http, self.stack)
        mail = sinks.mail_ids(Path(self.stack.environment["SMTP_SINK_DIR"]))
        pushes = await sinks.push_stats(self.http, self.stack)
        email_delivered = counts.get("email", {}).get("delivered", 0)
        push_delivered = counts.get("push", {}).get("delivered", 0)
        unfinished = sum(
            counts.get(channel, {}).get(status, 0)
            for channel in ("email", "push")
            for status in ("queued", "sending", "retrying", "failed")
        )
        self.results["loss"] = {
            "rows": counts,
            "accepted": sum(n for channel in counts.values() for status, n in channel.items() if status != "skipped"),
            "delivered": email_delivered + push_delivered,
            "not_delivered": unfinished,
            "unpublished_rows": await database.unpublished(self.db),
            "email_files": sum(mail.values()),
            "email_distinct": len(mail),
            "email_duplicates": sum(n - 1 for n in mail.values() if n > 1),
            "email_files_minus_delivered_rows": sum(mail.values()) - email_delivered,
            "push_messages": pushes["accepted"],
            "push_duplicates": pushes["duplicates"],
        }

    def memory(self) -> None:
        assert self.monitor is not None
        samples = self.monitor.samples
        names = sorted({name for sample in samples for name in sample["rss_mb"]})
        mixed = self.monitor.of_phase("mixed")
        found = {}
        for name in names:
            peak = max((sample["rss_mb"].get(name, 0.0) for sample in samples), default=0.0)
            series = [sample["rss_mb"][name] for sample in mixed if name in sample["rss_mb"]]
            head, tail = series[:20], series[-20:]
            growth = (sum(tail) / len(tail)) / (sum(head) / len(head)) - 1 if head and tail and sum(head) else None
            found[name] = {"peak_mb": peak, "mixed_growth_percent": None if growth is None else growth * 100}
        self.results["memory"] = found

    # --- the whole run ------------------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        options = self.options
        self.results["started_at"] = datetime.now(UTC).isoformat()
        self.results["options"] = asdict(options)
        self.results["machine"] = {"cores": os.cpu_count(), "load_at_start": load_average()}
        self.results["commit"] = await asyncio.to_thread(git_commit)
        measuring = bool(set(options.phases) & set(PHASES))
        try:
            if options.compare_commit:
                log(f"extracting {options.compare} ({options.compare_commit[:7]}) for the A/B phase")
                self.ref_tree = await asyncio.to_thread(checkout.extract, options.compare_commit, self.folder / "ref")
            log("resetting the bench databases, Redis db 7 and the vhost notifications_bench")
            await reset_infrastructure()
            if measuring:
                await self.baselines()
            await self.start_stack()
            await self.seed()
            await self.measure(options.phases)
            if measuring:
                await self.totals()
                self.memory()
            self.results["samples"] = self.monitor.samples if self.monitor else []
        finally:
            await self.close()
        self.results["finished_at"] = datetime.now(UTC).isoformat()
        return summary_of(self.results)

    async def measure(self, phases: tuple[str, ...]) -> None:
        """The chosen phases, in run order (the A/B first); the workers run from the drain on (started if it is
        skipped)."""
        if COMPARE in phases:
            await self.compare_gateways()
        if not set(phases) & set(PHASES):
            return
        send_rate = 500.0
        if "saturation" in phases:
            found = self.results["saturation_workers_stopped"] = await self.saturation("saturation_workers_stopped")
            send_rate = found["accepted_per_second"]
        elif "rates" in phases:
            await self.warm_up("email")
        if "keys" in phases:
            await self.compare_keys()
        if "rates" in phases:
            await self.fixed_rates("latency_workers_stopped", workers_running=False)
        if "drain" in phases:
            await self.drain("email", await self.fill("email", self.options.drain_messages, send_rate))
            await self.drain("push", await self.fill("push", self.options.push_drain_messages, send_rate))
            await self.queues_empty(120)
        else:
            await self.start_workers()
        if "running" in phases:
            self.results["saturation_workers_running"] = await self.saturation("saturation_workers_running")
        if "rates" in phases:
            await self.fixed_rates("latency_workers_running", workers_running=True)
        if "mixed" in phases:
            await self.mixed()
        if "sustained" in phases:
            await self.sustained()
        if "ceiling" in phases:
            await self.ceiling()
        if "profile" in phases and self.options.profile:
            await self.profile()
        if "webhooks" in phases:
            await self.webhook_rate()
        if "batches" in phases:
            await self.batches()
        if "topic" in phases:
            await self.topic_send()
        if "scheduling" in phases:
            await self.scheduling()

    async def close(self) -> None:
        await self.vacuumer.stop()
        self.results.setdefault("settings", {})["vacuum"] = self.vacuumer.summary()
        if self.monitor is not None:
            await self.monitor.stop()
        if self.stack is not None:
            log("stopping the stack")
            await self.stack.stop()
        if self.db is not None:
            await self.db.close()
        await self.http.aclose()
        shutil.rmtree(self.folder, ignore_errors=True)


def git_commit() -> str:
    """The checked-out commit, with ``+`` when the tree has changes."""
    run = subprocess.run
    commit = run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=False)
    dirty = run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, cwd=ROOT)
    return commit.stdout.strip() + ("+" if dirty.stdout.strip() else "")


def parse(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run (fewer users, shorter phases)")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profiles")
    parser.add_argument(
        "--gateway-workers", type=int, default=2, help="GATEWAY_WORKERS for this run (default 2: one per core)"
    )
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help=f"comma-separated phases to run (default all: {','.join(PHASES)}); --compare adds {COMPARE}",
    )
    parser.add_argument("--note", default="", help="a label kept in the JSON and the table")
    parser.add_argument(
        "--compare", metavar="REF", help="A/B phase: saturation with REF's gateway against the working tree's"
    )
    parser.add_argument("--compare-rounds", type=int, default=3, help="rounds of each side in the A/B (default 3)")
    args = parser.parse_args(argv)
    named = set(args.phases.split(",")) | ({COMPARE} if args.compare else set())
    if unknown := named - {*PHASES, COMPARE}:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    if COMPARE in named and not args.compare:
        parser.error(f"--phases {COMPARE} needs --compare REF")
    if args.compare_rounds < 1:
        parser.error("--compare-rounds must be at least 1")
    changes: dict[str, Any] = {
        "phases": tuple(phase for phase in (COMPARE, *PHASES) if phase in named),
        "profile": not args.no_profile,
        "gateway_workers": args.gateway_workers,
        "note": args.note,
        "compare_rounds": args.compare_rounds,
    }
    if args.compare:
        try:
            changes["compare_commit"] = checkout.resolve(args.compare)
        except ValueError as error:
            parser.error(str(error))
        changes["compare"] = args.compare
    if args.users:
        changes["users"] = args.users
    return Options.quick(**changes) if args.quick else Options(**changes)


def main(argv: list[str] | None = None) -> None:
    options = parse(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk (make bench does it)")
    results = uvloop.run(Bench(options).run())
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    table = render_table(results)
    whole = set(PHASES) <= set(options.phases)
    name = f"bench-{stamp}" if whole else f"partial-{stamp}"
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    if whole:  # latest.md always holds a whole run
        (RESULTS / "latest.md").write_text(table + "\n")
    print(table)
    log(f"results: bench/results/{name}.json" + (", bench/results/latest.md" if whole else ""))
