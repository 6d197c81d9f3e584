"""The node leading ``email.queue`` stopped (``rabbitmqctl stop_app``) under steady sends through the real
gateway, and started again: every service was connected to it (it is first in ``RABBITMQ_URLS``), so the queue's
leadership and every connection move to the other two nodes.

Asserted: nothing accepted is lost (every 202 ends delivered at the sink or failed with a reason), every
refusal is a clean 503, and duplicates stay within the documented window (copies redelivered from the
stopped node's channels: at most the email worker's prefetch). Reported: the longest gap between two 202s
around the stop (the accept pause), the 5xx count and the duplicates, in the chaos results table.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time

from common.amqp.topology import work_queue
from devstack.rabbitmq_cluster import RabbitMQCluster
from tests.chaos.load import LoadResult
from tests.chaos.scenario import Chaos, all_ready, eventually, metric, start_load

RATE = float(os.environ.get("CLUSTER_CHAOS_RATE", "100"))
COUNT = int(RATE * 20)
"""Twenty seconds of load at 100 sends a second (``CLUSTER_CHAOS_RATE`` to change it), which needs the machine's
cores for the gateway and the load driver (docs/operations.md, Results)."""
OUTAGE_SECONDS = 8.0
PREFETCH = 64
"""The email worker's prefetch (``delivery.settings``): the most copies a lost channel can hand out again."""


SKIPPED = "notifications_duplicates_skipped_total"


async def late_confirms(chaos: Chaos) -> float:
    """The gateway's ``gateway_publish_confirms_late_total``, both channels."""
    gateway = chaos.stack.url("gateway")
    name = "gateway_publish_confirms_late_total"
    return await metric(gateway, name, channel="email") + await metric(gateway, name, channel="push")


def accept_pause(result: LoadResult, start: float, end: float) -> float:
    """The longest time without a 202 from ``start`` to the last 202 before ``end`` (``time.monotonic()``
    values; the whole window when none came): the time after the load's last send is no pause."""
    accepted = sorted(r["at"] for r in result.responses if r["status"] == 202 and start <= r["at"] <= end)
    if not accepted:
        return end - start
    return max(later - earlier for earlier, later in itertools.pairwise([start, *accepted]))


async def test_stopping_the_email_queue_leader_under_load_loses_nothing(chaos: Chaos, cluster: RabbitMQCluster) -> None:
    queue = work_queue("email")
    leader = cluster.leaders()[queue]
    node = cluster.node(leader)
    late_before = await late_confirms(chaos)
    skipped_before = await metric(chaos.stack.url("email_worker"), SKIPPED, channel="email")
    load = await start_load(chaos.stack, chaos.audience, chaos.folder, count=COUNT, rate=RATE)
    down = time.monotonic()
    await asyncio.to_thread(node.stop_app)
    stopped = time.monotonic()
    try:

        async def moved() -> bool:
            leaders = await asyncio.to_thread(cluster.leaders)
            return leaders.get(queue) not in (None, leader)

        elected = await eventually(moved, f"a new leader of {queue}", timeout=30)
        await asyncio.sleep(max(0.0, down + OUTAGE_SECONDS - time.monotonic()))
    finally:
        await asyncio.to_thread(node.start_app)
    up = time.monotonic()
    recovered = await all_ready(chaos.stack)
    result = await load.finish()
    counted = await chaos.tally(f"cluster: {queue} leader stopped", result)
    pause = accept_pause(result, down - 1.0, up + 5.0)
    five_xx = sum(counted.five_xx.values())
    late = await late_confirms(chaos) - late_before
    skipped = await metric(chaos.stack.url("email_worker"), SKIPPED, channel="email") - skipped_before
    counted.notes.append(
        f"{leader} stopped ({stopped - down:.1f}s for stop_app), new leader within {elected:.1f}s, started again "
        f"after {up - down:.1f}s; every service ready {recovered:.1f}s later; {len(result.sends)} sends at "
        f"{RATE:.0f}/s over {result.duration_seconds:.1f}s; longest gap between 202s {pause:.2f}s; 5xx {five_xx}; "
        f"late confirms (202, row kept) {late:.0f}; second copies acked unsent by the email worker {skipped:.0f}; "
        f"duplicates at the sinks {counted.duplicate_count}; lost {len(counted.lost)}"
    )
    print("\n" + counted.notes[-1])
    assert not counted.lost, counted.notes
    assert not result.unclean_refusals(), result.unclean_refusals()[:5]
    assert not result.unanswered(), result.unanswered()[:5]
    assert set(counted.five_xx) <= {503}, counted.five_xx
    assert counted.duplicate_count <= PREFETCH, counted.duplicates
