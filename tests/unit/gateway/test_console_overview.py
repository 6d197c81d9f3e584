"""The overview's reading of ``GET /v1/stats`` and its SVG charts: counts per channel summed, queues and breakers
from maps or lists, and every text in the chart escaped."""

from __future__ import annotations

from pathlib import Path

from gateway.console.charts import Series, column_chart
from gateway.console.stats import read_overview

ROOT = Path(__file__).resolve().parents[3]


def test_counts_per_channel_are_summed_per_minute() -> None:
    stats = {
        "minutes": [
            {"minute": "2026-12-07T17:00:00Z", "accepted": {"email": 3, "push": 2}, "delivered": 4, "failed": {}},
            {"minute": "2026-12-07T17:01:00Z", "accepted": 1, "delivered": {"email": 1}, "failed": {"push": 1}},
        ],
        "queues": {"email": {"messages": 7}, "failed.queue": 2},
        "breakers": {"email_worker": {"relay-a": "closed", "relay-b": "open"}, "push_worker": {"state": "half_open"}},
        "dead_letters_waiting": 2,
    }

    overview = read_overview(stats)

    assert [(s.name, list(s.values)) for s in overview.series] == [
        ("accepted", [5, 1]),
        ("delivered", [4, 1]),
        ("failed", [0, 1]),
    ]
    assert overview.series[0].labels == ["17:00", "17:01"]
    assert overview.queues == [("email", 7), ("failed.queue", 2)]
    assert overview.breakers == [
        ("email_worker/relay-a", "closed"),
        ("email_worker/relay-b", "open"),
        ("push_worker", "half_open"),
    ]
    assert overview.dead_letters == 2


def test_the_gateways_stats_document_is_read() -> None:
    counts = {"accepted": 2, "delivered": 1, "failed": 1, "skipped": 0}
    stats = {
        "window": "1h",
        "minutes": [{"minute": "2026-12-07T17:00:00Z", "channels": {"email": counts, "push": counts}}],
        "queues": [{"name": "email", "messages": 4, "consumers": 2}],
        "breakers": [{"worker": "email_worker", "instance": "email_worker@h:1", "name": "smtp a", "state": "open"}],
        "dead_letters": {"waiting": 3},
    }

    overview = read_overview(stats)

    assert [(s.name, list(s.values)) for s in overview.series] == [
        ("accepted", [4]),
        ("delivered", [2]),
        ("failed", [2]),
    ]
    assert overview.queues == [("email", 4)]
    assert overview.breakers == [("email_worker/smtp a", "open")]
    assert overview.dead_letters == 3


def test_lists_of_named_objects_are_read_too() -> None:
    stats = {
        "per_minute": [],
        "queues": [{"name": "push", "messages": 3}],
        "breakers": [{"worker": "email_worker", "relay": "primary", "state": "closed"}],
        "dead_letters": {"waiting": 5},
    }

    overview = read_overview(stats)

    assert overview.queues == [("push", 3)]
    assert overview.breakers == [("email_worker/primary", "closed")]
    assert overview.dead_letters == 5
    assert all(s.total == 0 for s in overview.series)


def test_a_chart_has_a_column_per_minute_and_escapes_its_labels() -> None:
    chart = column_chart(Series("failed", ["<b>", "17:01"], [0, 4]), "failed")

    assert chart.count("<rect") == 2
    assert "&lt;b&gt;" in chart
    assert "<b>" not in chart
    assert 'role="img"' in chart
    assert "failed: 4 in the last 2 minutes, at most 4 a minute." in chart


def test_the_vendored_htmx_is_the_one_package_json_pins() -> None:
    installed = ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"
    vendored = ROOT / "gateway" / "console" / "static" / "htmx.min.js"
    assert vendored.read_bytes() == installed.read_bytes(), "copy node_modules/htmx.org/dist/htmx.min.js again"
    assert (ROOT / "gateway" / "console" / "static" / "htmx.LICENSE").exists()
