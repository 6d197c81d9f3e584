"""The gateway's Prometheus metrics (docs/design.md §5)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from common.metrics import LATENCY_BUCKETS

REQUEST_LATENCY = Histogram(
    "gateway_http_request_duration_seconds",
    "Time the gateway spent on one HTTP request, by method, route template and status code.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
NOTIFICATIONS_ACCEPTED = Counter(
    "gateway_notifications_accepted_total", "Notifications queued and published, by channel.", ["channel"]
)
NOTIFICATIONS_SKIPPED = Counter(
    "gateway_notifications_skipped_total",
    "Notifications answered `skipped`, by channel and reason.",
    ["channel", "reason"],
)
NOTIFICATIONS_SCHEDULED = Counter(
    "gateway_notifications_scheduled_total",
    "Notifications answered `scheduled` (a send_at ahead, or deferred past quiet hours), by channel.",
    ["channel"],
)
SCHEDULER_PUBLISHED = Counter(
    "gateway_scheduler_published_total",
    "Scheduled notifications the scheduler moved to queued and published, by channel.",
    ["channel"],
)
SCHEDULER_LATENESS = Histogram(
    "gateway_scheduler_lateness_seconds",
    "How long after its send_at the scheduler had a notification published (a refused publish included: the"
    " reconciler takes it from there).",
    buckets=LATENCY_BUCKETS,
)
PUBLISH_FAILURES = Counter(
    "gateway_publish_failures_total", "Publishes the broker did not confirm (the send answered 503).", ["channel"]
)
LATE_CONFIRMS = Counter(
    "gateway_publish_confirms_late_total",
    "Publishes whose confirm did not come within GATEWAY_PUBLISH_TIMEOUT_SECONDS (the send answered 202; the row"
    " waits for the late confirm or the reconciler).",
    ["channel"],
)
REPUBLISHED = Counter(
    "gateway_reconciler_republished_total",
    "Rows the reconciler published: left unpublished, or sending with a lease that lapsed unclaimed.",
    ["channel"],
)
REQUESTS_SHED = Counter(
    "gateway_requests_shed_total",
    "Requests answered 503 at once because this process had its cap of that kind in progress, by kind: sends"
    " (GATEWAY_MAX_SENDS_IN_FLIGHT), logins (GATEWAY_LOGIN_CONCURRENCY).",
    ["kind"],
)
CLIENTS_CUT_OFF = Counter(
    "gateway_clients_cut_off_total",
    "Requests refused or connections closed for a slow or greedy client, by reason: header_timeout, body_timeout,"
    " headers_too_large, too_many_connections.",
    ["reason"],
)
