"""The shared worker runtime: everything a delivery worker does except talking to its provider.

A worker brings three things: a settings class, a :class:`~delivery.outcome.Deliverer`, and (optionally)
extra HTTP routes. The runtime does the rest: consuming, status rows and history, retries, dead letters, the
circuit breaker, the shared rate ceiling, metrics, the HTTP side and a graceful shutdown (DESIGN §1, §3).

Plugging a worker in (the push worker, say)::

    # push_worker/settings.py
    from pydantic import Field
    from delivery.settings import WorkerSettings, worker_config

    class PushWorkerSettings(WorkerSettings):
        model_config = worker_config("PUSH_WORKER_")   # knobs read as PUSH_WORKER_PREFETCH, ..._MAX_PER_SECOND
        port: int = Field(default=8081, ge=0, le=65535) # PUSH_WORKER_PORT
        fcm_endpoint: str | None = Field(default=None, validation_alias="FCM_ENDPOINT")  # own names: aliases

    # push_worker/deliverer.py
    from delivery.outcome import Delivered, PermanentError, TransientError

    class PushDeliverer:
        channel = "push"                                # consumes push.queue; the metrics' channel label
        async def deliver(self, envelope) -> Delivered:
            ...                                         # send; classify the provider's answer:
            raise TransientError("UNAVAILABLE", retry_after=30, detail={...})  # retried on the ladder
            raise PermanentError("INVALID_ARGUMENT", reason="fcm_invalid_argument", detail={...})  # dead-lettered
            return Delivered(provider_message_id="projects/p/messages/1", detail={"tokens": {...}})
        async def close(self) -> None: ...

    # push_worker/__main__.py
    from common.cli import service_main
    from delivery.service import run_worker

    def serve(settings):
        run_worker(settings, PushDeliverer(settings), service="push_worker", routers=[])  # routers: APIRouter list

    if __name__ == "__main__":
        service_main("push_worker", PushWorkerSettings, serve=serve)

The contract with the deliverer:

- ``deliver`` is called once per attempt with the decoded, unexpired envelope, after the row was marked
  ``sending``, the breaker allowed the call and the rate ceiling gave a slot. It may run concurrently (up to
  ``<PREFIX>CONCURRENCY`` calls), so it must be safe to call from several tasks.
- ``Delivered.detail``, ``TransientError.detail`` and ``PermanentError.detail`` are JSON objects appended to the
  notification's history (``notification_events.detail``): put the provider's reply there (per-token outcomes).
- ``TransientError`` is an attempt that failed: it counts towards ``<PREFIX>BREAKER_THRESHOLD`` and
  ``<PREFIX>MAX_ATTEMPTS``; ``retry_after`` moves the retry up the ladder to a step at least that long.
- ``PermanentError`` fails the notification with ``reason`` (stored on the row and sent as ``x-failure-reason``)
  and proves the provider is up (the breaker resets). ``suppress_address`` adds an email address to
  ``email_suppressions``.
- Any other exception is a bug: logged with its traceback, retried like a transient error, but not counted
  against the breaker.
- Side effects of the provider's answer that are the worker's own business (removing a dead device through
  user_svc) belong in ``deliver`` before it returns or raises.
- ``close`` is called once at shutdown, after the last ``deliver`` has returned.

Modules: :mod:`.outcome` (the contract), :mod:`.settings` (the knobs), :mod:`.runtime` (the per-message
pipeline, :class:`~delivery.runtime.WorkerRuntime` for in-process use and tests), :mod:`.service`
(``run_worker``: runtime + HTTP side in one process), :mod:`.status_store`, :mod:`.retry`, :mod:`.breaker`,
:mod:`.rate_limit`, :mod:`.batching`, :mod:`.metrics`. The HTTP side is :mod:`delivery.http`.

Metrics (label ``channel``): ``notifications_delivered_total``, ``notifications_failed_total{reason}``,
``notifications_retried_total``, ``notifications_deferred_total`` (breaker),
``notifications_dropped_missing_row_total``, ``notifications_duplicates_skipped_total``,
``notification_provider_latency_seconds{outcome}``,
``notifications_in_flight``, ``notification_circuit_breaker_state`` (0 closed, 1 half-open, 2 open),
``notification_rate_limit_wait_seconds_total``.
"""
