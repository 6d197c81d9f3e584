"""The bench's table: every figure, its target, and its ratio to the baselines measured in the same run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.durability import intact as durability_intact


def _ok(passed: bool | None) -> str:
    return "" if passed is None else ("✅" if passed else "❌")


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


def _refusals(statuses: dict[str, int]) -> str:
    """`` (503: N, no answer: M)``: what the sends not accepted got instead, or nothing when all were."""
    refused = {status: count for status, count in sorted(statuses.items()) if status != "202"}
    if not refused:
        return ""
    named = (f"{'no answer' if status == '0' else status}: {count:,}" for status, count in refused.items())
    return f" ({', '.join(named)})"


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "-"


def _cpu(items: dict[str, float], names: tuple[str, ...]) -> str:
    return ", ".join(f"{name} {items[name]:.0f}" for name in names if name in items)


def _commits(per_item: float | None) -> str:
    """The PostgreSQL transactions each item cost, when measured."""
    return "" if per_item is None else f"; PostgreSQL commits per item {per_item:.2f}"


def _acks(per_frame: float | None) -> str:
    """The messages one ``basic.ack`` frame carried, when measured."""
    return "" if per_frame is None else f"; messages per ack frame {per_frame:.1f}"


SEND_SIDE = ("gateway", "template_svc", "user_svc", "postgres", "rabbitmq", "redis", "honcho")
DRAIN_SIDE = ("email_worker", "push_worker", "smtp_sink", "fcm_server", "postgres", "rabbitmq", "honcho")
WEBHOOK_SIDE = ("webhook_worker", "webhook_receiver", "postgres", "honcho")
PRODUCT = (
    "gateway",
    "user_svc",
    "template_svc",
    "email_worker",
    "push_worker",
    "webhook_worker",
    "postgres",
    "rabbitmq",
    "redis",
)
"""What a deployment runs: the services and the infrastructure, not the dev sinks, honcho or the load."""
WEBHOOK_RATE_TARGET = 800
SATURATION_TARGET = 1200
DRAIN_TARGET = 1400
"""Round one's figures as issue 21 keeps them (``GATEWAY_WORKERS=2``): accepted/s with the workers stopped, and
emails drained per second."""
EMAIL_CPU_TARGET = 1500
CEILING_TARGET = 700


DEV_SINKS = ("smtp_sink", "fcm_server", "webhook_receiver")
"""Stand-ins for the SMTP provider and FCM, not services of the product: reported, not held to the memory target."""


def _memory(memory: dict[str, Any], names: list[str]) -> str:
    return ", ".join(
        f"{name} {memory[name]['peak_mb']:.0f}"
        + (
            f" ({memory[name]['mixed_growth_percent']:+.1f}%)"
            if memory[name]["mixed_growth_percent"] is not None
            else ""
        )
        for name in names
    )


def _both(pair: dict[str, dict[str, Any]], value: Callable[[dict[str, Any]], float], spec: str) -> str:
    """``REF / working tree`` of one figure of a round (a ``|`` would end the Markdown cell)."""
    return f"{value(pair['ref']):{spec}} / {value(pair['working']):{spec}}"


def _compare_rows(compare: dict[str, Any]) -> list[tuple[str, str]]:
    """The A/B phase: a row per round with both sides, then the medians and the working tree's change."""
    by_round: dict[int, dict[str, dict[str, Any]]] = {}
    for found in compare["rounds"]:
        by_round.setdefault(found["round"], {})[found["side"]] = found
    rows = [
        (
            f"A/B round {number}, REF / working tree: accepted sends (202)",
            f"{_both(pair, lambda side: side['accepted_per_second'], ',.0f')}/s "
            f"(gateway CPU {_both(pair, lambda side: side['gateway_cpu_us_per_send'], ',.0f')} µs per send, "
            f"p99 {_both(pair, lambda side: side['p99_ms'], '.0f')} ms, "
            f"load {_both(pair, lambda side: side['load'][0], '.1f')})",
        )
        for number, pair in sorted(by_round.items())
    ]
    for figure, label, unit in (
        ("accepted_per_second", "accepted sends (202)", "/s"),
        ("gateway_cpu_us_per_send", "gateway CPU per send", " µs"),
    ):
        ref, working = compare["sides"]["ref"][figure], compare["sides"]["working"][figure]
        change = compare["difference_percent"][figure]
        rows.append(
            (
                f"A/B median (range) of {len(by_round)} rounds, REF / working tree: {label}",
                f"{ref['median']:,.0f}{unit} ({ref['min']:,.0f} to {ref['max']:,.0f}) / "
                f"{working['median']:,.0f}{unit} ({working['min']:,.0f} to {working['max']:,.0f}), working tree "
                + ("n/a" if change is None else f"{change:+.1f} %"),
            )
        )
    return rows


KEYS_TARGET_PERCENT = 5.0
"""A key from the table may cost at most this much more CPU per send than the deployment's key (issue 15)."""


def _keys_rows(keys: dict[str, Any]) -> list[tuple[str, str, str, str, bool | None]]:
    """The key phase: a row per round with both keys, then the medians and the table key's change."""
    by_round: dict[int, dict[str, dict[str, Any]]] = {}
    for found in keys["rounds"]:
        by_round.setdefault(found["round"], {})[found["side"]] = found
    rows: list[tuple[str, str, str, str, bool | None]] = [
        (
            f"keys round {number}, GATEWAY_API_KEYS key / table key: accepted sends (202)",
            f"{pair['environment']['accepted_per_second']:,.0f} / {pair['table']['accepted_per_second']:,.0f}/s "
            f"(CPU per send, all processes {pair['environment']['total_cpu_us_per_send']:,.0f} / "
            f"{pair['table']['total_cpu_us_per_send']:,.0f} µs, gateway "
            f"{pair['environment']['gateway_cpu_us_per_send']:,.0f} / "
            f"{pair['table']['gateway_cpu_us_per_send']:,.0f} µs)",
            "",
            "",
            None,
        )
        for number, pair in sorted(by_round.items())
    ]
    for figure, label, unit in (
        ("accepted_per_second", "accepted sends (202)", "/s"),
        ("gateway_cpu_us_per_send", "gateway CPU per send", " µs"),
        ("total_cpu_us_per_send", "CPU per send, all processes", " µs"),
    ):
        a, b = keys["sides"]["environment"][figure], keys["sides"]["table"][figure]
        change = keys["difference_percent"][figure]
        judged = figure == "total_cpu_us_per_send" and change is not None
        rows.append(
            (
                f"keys median (range) of {len(by_round)} rounds, GATEWAY_API_KEYS key / table key "
                f"({keys['keys_in_table']:,} keys in the table): {label}",
                f"{a['median']:,.0f}{unit} ({a['min']:,.0f} to {a['max']:,.0f}) / "
                f"{b['median']:,.0f}{unit} ({b['min']:,.0f} to {b['max']:,.0f}), table key "
                + ("n/a" if change is None else f"{change:+.1f} %"),
                f"within {KEYS_TARGET_PERCENT:.0f} %" if figure == "total_cpu_us_per_send" else "",
                "",
                abs(change) <= KEYS_TARGET_PERCENT if judged else None,
            )
        )
    return rows


def compare_note(compare: dict[str, Any] | None) -> str:
    """What the header says about the A/B phase: which trees, and how the rounds ran."""
    if not compare:
        return ""
    return (
        f" A/B: the gateway alone restarted from REF {compare['ref']} ({compare['ref_commit'][:7]}) or from the "
        f"working tree ({compare['working']}) in turn (A B, B A, ...), saturation with the workers stopped, each "
        f"round on an empty queue after a warm-up ({compare['seconds']:.0f} s in all)."
    )


def vacuum_note(settings: dict[str, Any]) -> str:
    """What the report says about vacuuming (this box's PostgreSQL runs without autovacuum)."""
    vacuum = settings.get("vacuum")
    if not vacuum or vacuum.get("server_autovacuum") != "off":
        return ""
    return (
        f" PostgreSQL here runs with autovacuum off: every 10 s the bench took autovacuum's decisions in its stead, "
        f"per table of its notifications database ({vacuum['bench_passes']} tables vacuumed or analyzed, "
        f"{vacuum['bench_seconds']:.1f} s in all)."
    )


def render_table(results: dict[str, Any]) -> str:
    """The run as a Markdown table (the same text goes to stdout and ``bench/results/latest.md``)."""
    base = results.get("baselines", {})
    fastapi = base.get("fastapi", {}).get("per_second", 0.0)
    publish = base.get("publish", {}).get("per_second", 0.0)
    rows: list[tuple[str, str, str, str, str]] = []

    def row(name: str, value: str, target: str = "", ratio: str = "", passed: bool | None = None) -> None:
        rows.append((name, value, target, ratio, _ok(passed)))

    if base:  # an A/B alone runs no baselines
        wrk_trivial = base["wrk_trivial"]["per_second"]
        row(
            "load generator: wrk + send.lua → trivial endpoint",
            f"{wrk_trivial:,.0f} req/s",
            "≥ 3,000 (3x target)",
            "",
            wrk_trivial >= 3000,
        )
        python_trivial = base["python_trivial"]["per_second"]
        row(
            "load generator: Python open-loop → trivial endpoint",
            f"{python_trivial:,.0f} req/s",
            "≥ 1,800 (3x 600/s)",
            "",
            python_trivial >= 1800,
        )
        row("baseline: bare FastAPI POST (1 process)", f"{fastapi:,.0f} req/s", "", "1.00x FastAPI")
        row("baseline: confirmed publishes, 100 in flight", f"{publish:,.0f} msg/s", "", "1.00x publish")

    compare = results.get("compare")
    if compare:
        for found in _compare_rows(compare):
            row(*found)
    keys = results.get("keys")
    if keys:
        for name, value, target, ratio, passed in _keys_rows(keys):
            row(name, value, target, ratio, passed)

    for key, label in (
        ("saturation_workers_stopped", "saturation, workers stopped"),
        ("saturation_workers_running", "saturation, workers running"),
    ):
        found = results.get(key)
        if found:
            rate = found["accepted_per_second"]
            row(
                f"{label}: accepted sends (202)",
                f"{rate:,.0f}/s (p50 {found['p50_ms']:.0f} ms, p99 {found['p99_ms']:.0f} ms, "
                f"{found['connections']} conns, {found['refused']} non-202, load {found['load'][0]:.1f})",
                f"≥ {SATURATION_TARGET:,}/s" if key.endswith("stopped") else "",
                f"{_ratio(rate, fastapi)} FastAPI, {_ratio(rate, publish)} publish",
                rate >= SATURATION_TARGET if key.endswith("stopped") else None,
            )
            row(
                f"{label}: CPU µs per send",
                _cpu(found.get("cpu_us_per_send", {}), SEND_SIDE) + f", wrk {found.get('wrk_cpu_us_per_send', 0):.0f}",
            )

    for key, label, targeted in (
        ("latency_workers_stopped", "workers stopped", True),
        ("latency_workers_running", "workers running", False),
    ):
        for rate, found in results.get(key, {}).items():
            ok = found["statuses"].get("202", 0) == found["sent"]
            target = targeted and rate == "300"
            row(
                f"gateway latency at {rate} req/s offered, {label}",
                f"p50 {found['p50_ms']:.1f} / p95 {found['p95_ms']:.1f} / p99 {found['p99_ms']:.1f} ms "
                f"({found['statuses']}, load {found['load'][0]:.1f})",
                "p99 ≤ 50 ms" if target else "",
                "",
                (found["p99_ms"] <= 50 and ok) if target else None,
            )

    for channel, target in (("email", DRAIN_TARGET), ("push", None)):
        found = results.get(f"drain_{channel}")
        if found:
            row(
                f"drain {channel}: delivered/s into the sink",
                f"{found['per_second']:,.0f}/s ({found['delivered']:,}/{found['backlog']:,}, "
                f"{found['wall_seconds_from_start']:.0f} s from start, load {found['load']:.1f})",
                f"≥ {target}/s" if target else "",
                _ratio(found["per_second"], publish) + " publish",
                found["per_second"] >= target and found["finished"] if target else None,
            )
            row(
                f"drain {channel}: CPU µs per delivery",
                _cpu(found.get("cpu_us_per_delivery", {}), DRAIN_SIDE)
                + _commits(found.get("commits_per_delivery"))
                + _acks(found.get("acks_per_frame")),
            )

    mixed = results.get("mixed")
    if mixed:
        row(
            f"mixed {mixed['offered_per_second']}/s x {mixed['seconds']:.0f} s: end-to-end (created → delivered)",
            f"p50 {mixed['e2e_p50_ms']:.0f} / p99 {mixed['e2e_p99_ms']:.0f} ms "
            f"({mixed['delivered']:,}/{mixed['accepted']:,} delivered, "
            f"gateway p99 {mixed['gateway']['p99_ms']:.0f} ms)",
            "p99 ≤ 1,000 ms",
            "",
            mixed["e2e_p99_ms"] <= 1000 and mixed["delivered"] == mixed["accepted"],
        )
        row(
            "mixed: queue depth (email + push)",
            f"max {mixed['queue_depth_max']}, max of last 10 s {mixed['queue_depth_last_10s_max']}",
            "bounded",
            "",
            mixed["queue_depth_last_10s_max"] <= max(100, mixed["queue_depth_max"]),
        )
        cpu = mixed.get("cpu_us_per_send")
        if cpu:
            product = sum(cpu.get(name, 0.0) for name in PRODUCT)
            row(
                "mixed: CPU µs per send, every process",
                f"{product:,.0f} in the product ({_cpu(cpu, PRODUCT)}); dev sinks {_cpu(cpu, DEV_SINKS)}, "
                f"honcho {cpu.get('honcho', 0):.0f}" + _commits(mixed.get("commits_per_send")),
            )
        told = mixed.get("webhook")
        if told:
            lag = told["lag_seconds"]
            row(
                "mixed: webhook endpoint (delivered, failed): events told, signatures verified",
                f"{told['distinct_succeeded']:,}/{told['expected']:,} delivered events, {told['verified']:,} verified, "
                f"{told['verification_failed']} failed checks, {told['duplicates']} duplicates; event → receiver "
                f"p50 {_ms(lag['p50'])} / p99 {_ms(lag['p99'])} ms",
                "all, verified",
                "",
                told["distinct_succeeded"] >= told["expected"] and told["verification_failed"] == 0,
            )

    for row_cells in _round_two_rows(results, fastapi, publish):
        row(*row_cells)

    batches = results.get("batches")
    if batches:
        wanted = batches["size"] * batches["count"]
        row(
            f"batch sends: {batches['size']:,} recipients (profiles not cached), answered with every item confirmed",
            f"p50 {batches['p50_seconds'] * 1000:,.0f} / max {batches['max_seconds'] * 1000:,.0f} ms over "
            f"{batches['count']} batches ({batches['queued']:,}/{wanted:,} queued, {len(batches['refused'])} refused, "
            f"load {batches['load']:.1f})",
            "p50 ≤ 1,000 ms",
            "",
            batches["p50_seconds"] <= 1.0 and batches["queued"] == wanted,
        )

    topic = results.get("topic")
    if topic:
        queued, delivered = topic["queued_seconds"], topic["delivered_seconds"]
        counted = topic["broadcast"]
        row(
            f"topic send to {topic['subscribers']:,} subscribers: all queued / all delivered into the sink",
            f"{_seconds(queued)} / {_seconds(delivered)} after the send ({counted.get('delivered', 0):,} delivered, "
            f"{counted.get('skipped', 0):,} skipped, {counted.get('failed', 0):,} failed, load {topic['load']:.1f})",
            "≤ 20 s / ≤ 90 s",
            "",
            queued is not None and queued <= 20 and delivered is not None and delivered <= 90,
        )
        singles = topic["singles"]
        row(
            f"topic send: single sends at {topic['single_rate']} req/s during the fan-out",
            f"p50 {singles['p50_ms']:.1f} / p99 {singles['p99_ms']:.1f} ms ({singles.get('statuses', {})})",
            "p99 ≤ 100 ms",
            "",
            singles["p99_ms"] <= 100,
        )

    scheduled = results.get("scheduling")
    if scheduled:
        row(
            "scheduled sends: publish lateness (published_at - send_at)",
            f"p50 {scheduled['lateness_p50_ms']:.0f} / p99 {scheduled['lateness_p99_ms']:.0f} / max "
            f"{scheduled['lateness_max_ms']:.0f} ms, {scheduled['early']} early ({scheduled['published']:,}/"
            f"{scheduled['wanted']:,} published, load {scheduled['load']:.1f})",
            "p99 ≤ 1,000 ms, none early",
            "",
            scheduled["lateness_p99_ms"] <= 1000
            and scheduled["early"] == 0
            and scheduled["published"] == scheduled["wanted"],
        )

    hooks = results.get("webhooks")
    if hooks:
        row(
            "webhooks alone: deliveries/s into the receiver, signatures verified",
            f"{hooks['per_second']:,.0f}/s ({hooks['distinct_succeeded']:,}/{hooks['wanted']:,} to "
            f"{hooks['endpoints']} endpoints, {hooks['verified']:,} verified, {hooks['verification_failed']} failed "
            f"checks, {hooks['duplicates']} duplicates, {hooks['wall_seconds_from_start']:.0f} s from start, "
            f"load {hooks['load']:.1f})",
            f"≥ {WEBHOOK_RATE_TARGET}/s",
            _ratio(hooks["per_second"], publish) + " publish",
            hooks["per_second"] >= WEBHOOK_RATE_TARGET and hooks["finished"] and hooks["verification_failed"] == 0,
        )
        row("webhooks alone: CPU µs per delivery", _cpu(hooks.get("cpu_us_per_delivery", {}), WEBHOOK_SIDE))

    loss = results.get("loss")
    if loss:
        row(
            "loss: accepted rows not delivered (whole run)",
            f"{loss['not_delivered']} of {loss['accepted']:,} ({loss['unpublished_rows']} without published_at)",
            "0",
            "",
            loss["not_delivered"] == 0,
        )
        dupes = loss["email_duplicates"] + (loss["push_duplicates"] or 0)
        push = (
            f"push {loss['push_duplicates']} ({loss['push_messages']:,} messages)"
            if loss["push_duplicates"] is not None
            else "push not counted (over the FCM server's 1,000,000 tracked deliveries)"
        )
        row(
            "duplicates in the sinks",
            f"email {loss['email_duplicates']} ({loss['email_files']:,} files, {loss['email_distinct']:,} ids), {push}",
            "0",
            "",
            dupes == 0 and loss["push_duplicates"] is not None and loss["email_files_minus_delivered_rows"] == 0,
        )

    memory = results.get("memory", {})
    if memory:
        measured = [name for name in memory if name not in ("postgres", "rabbitmq", "redis", "honcho")]
        services = [name for name in measured if name not in DEV_SINKS]
        growths = [memory[name]["mixed_growth_percent"] for name in services]
        worst = max((g for g in growths if g is not None), default=0.0)
        row(
            "RSS peak MB (growth first→last 20 s of mixed)", _memory(memory, services), "growth ≤ 10 %", "", worst <= 10
        )
        sinks = [name for name in measured if name in DEV_SINKS]
        if sinks:
            row("RSS of the dev sinks (stand-ins that record what they receive)", _memory(memory, sinks))

    settings = results.get("settings", {})
    machine = results.get("machine", {})
    header = (
        f"## make bench — {results.get('started_at', '')[:19]}Z, commit {results.get('commit', '?')}"
        f"{' — ' + results['options']['note'] if results.get('options', {}).get('note') else ''}\n\n"
        f"Rate limits and provider ceilings OFF (0): {settings.get('limits')}. "
        f"GATEWAY_WORKERS={settings.get('gateway_workers')}, LOG_LEVEL={settings.get('log_level')}, "
        f"queues {settings.get('queue_type')}, {results.get('seed', {}).get('users', 0):,} users, "
        f"{machine.get('cores')} cores, load at start {machine.get('load_at_start')}.{vacuum_note(settings)}"
        f"{compare_note(compare)}\n"
    )
    lines = ["| measurement | result | target | ratio | |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return header + "\n" + "\n".join(lines)


def _round_two_rows(results: dict[str, Any], fastapi: float, publish: float) -> list[tuple[Any, ...]]:
    """Issue 21's rows: the sustained whole pipeline, the CPU a delivered email costs, the ceiling with everything
    running, and the durability the run had."""
    rows: list[tuple[Any, ...]] = []
    found = results.get("sustained")
    if found:
        rate, gateway = found["offered_per_second"], found["gateway"]
        depth_limit = 2 * rate
        rows.append(
            (
                f"sustained {rate}/s x {found['seconds']:.0f} s (80 % email, webhook endpoint): accepted, gateway p99, "
                "created → delivered p99, queue depth max",
                f"{found['accepted']:,}/{gateway['sent']:,} accepted{_refusals(gateway['statuses'])}, gateway p99 "
                f"{gateway['p99_ms']:.0f} ms, e2e p50 "
                f"{found['e2e_p50_ms']:.0f} / p99 {found['e2e_p99_ms']:.0f} ms, {found['delivered']:,} delivered, "
                f"depth max {found['queue_depth_max']:,} (load {found['load'][0]:.1f})",
                f"all; ≤ 50 ms; ≤ 1,000 ms; ≤ {depth_limit:,}",
                f"{_ratio(rate, fastapi)} FastAPI, {_ratio(rate, publish)} publish",
                found["accepted"] == gateway["sent"]
                and gateway["p99_ms"] <= 50
                and found["e2e_p99_ms"] <= 1000
                and found["delivered"] == found["accepted"]
                and found["queue_depth_max"] <= depth_limit,
            )
        )
        cpu = found.get("cpu_us_per_send", {})
        rows.append(
            (
                "sustained: CPU µs per send, every process",
                f"{sum(cpu.get(name, 0.0) for name in PRODUCT):,.0f} in the product ({_cpu(cpu, PRODUCT)})"
                + _commits(found.get("commits_per_send")),
            )
        )
    cost = results.get("email_cost")
    if cost and cost["delivered"]:
        cpu = cost.get("cpu_us_per_send", {})
        scale = cost["accepted"] / cost["delivered"]
        per_email = {name: cpu.get(name, 0.0) * scale for name in PRODUCT}
        total = sum(per_email.values())
        rows.append(
            (
                f"CPU per delivered email ({cost['offered_per_second']}/s email alone, webhook endpoint), every "
                "process but the sinks and the load",
                f"{total:,.0f} µs ({_cpu(per_email, PRODUCT)})" + _commits(cost.get("commits_per_send")),
                f"≤ {EMAIL_CPU_TARGET:,} µs",
                "",
                total <= EMAIL_CPU_TARGET,
            )
        )
    ceiling = results.get("ceiling")
    if ceiling:
        highest = ceiling["highest"]
        steps = ", ".join(
            f"{step['rate']}/s {'✓' if step['passed'] else '✗'} (e2e p99 {step['e2e_p99_ms']:.0f} ms, "
            f"{step['delivered_in_time']:,}/{step['accepted']:,} in time)"
            for step in ceiling["steps"]
        )
        rows.append(
            (
                "saturation, everything running: highest rate delivered within the phase + 5 s, e2e p99 ≤ 1 s",
                f"{highest or 0:,}/s ({steps})",
                f"≥ {CEILING_TARGET}/s",
                f"{_ratio(highest or 0, fastapi)} FastAPI, {_ratio(highest or 0, publish)} publish",
                (highest or 0) >= CEILING_TARGET,
            )
        )
    kept = results.get("durability")
    if kept:
        queues = ", ".join(f"{name} {queue['type']}" for name, queue in sorted(kept.get("queues", {}).items()))
        rows.append(
            (
                "durability the run had",
                f"synchronous_commit {kept.get('synchronous_commit')}, fsync {kept.get('fsync')}, "
                f"queues {queues or '?'}, "
                f"persistent {kept.get('persistent')}, confirms {kept.get('confirms')}, publish timeout "
                f"{kept.get('publish_timeout_seconds')} s, 202s through the late-confirm path "
                f"{kept.get('late_confirms')}",
                "none weakened, 0 late",
                "",
                durability_intact(kept),
            )
        )
    return rows
