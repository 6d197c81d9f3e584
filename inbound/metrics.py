"""inbound's metrics on ``/metrics`` (docs/operations.md "Metrics worth alerting on")."""

from __future__ import annotations

from prometheus_client import Counter

REPORTS = Counter(
    "inbound_reports_total",
    "Reports received, by what they did: bounced, suppressed (a bounce of a notification not delivered), delayed,"
    " complained, unmatched (no notification or address to record it on) or malformed (not a report: dropped).",
    ["outcome"],
)
RECIPIENTS_REFUSED = Counter(
    "inbound_recipients_refused_total", "RCPT TO addresses refused: not a return path we made, nor the fbl address."
)
DEFERRED = Counter(
    "inbound_reports_deferred_total",
    "Reports answered 451 (try again later): the database was unreachable or the notification still sending.",
)
