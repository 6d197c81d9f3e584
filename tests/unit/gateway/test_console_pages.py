"""The overview page rendered with a stats document: charts, queues, breakers and dead letters all shown."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from gateway.console.charts import column_chart
from gateway.console.client import ApiReply
from gateway.console.stats import read_overview
from gateway.console.web import templates


def test_the_overview_shows_what_the_stats_say() -> None:
    stats: dict[str, Any] = {
        "minutes": [{"minute": "2026-12-07T17:00:00Z", "accepted": 5, "delivered": 4, "failed": 1}],
        "queues": {"email": 3},
        "breakers": {"email_worker": "open"},
        "dead_letters_waiting": 7,
    }
    view = read_overview(stats)
    request = Request({"type": "http", "method": "GET", "path": "/console/", "query_string": b"", "headers": []})

    html = templates.get_template("overview.html").render(
        request=request,
        session=None,
        navigation=[],
        flash="",
        reply=ApiReply(200, stats),
        view=view,
        charts=[(s, column_chart(s, s.name)) for s in view.series],
    )

    assert html.count("<svg") == 3
    assert "Failed: 1" in html
    assert "<td>email</td><td>3</td>" in html
    assert "status-open" in html
    assert ">7</a>" in html
