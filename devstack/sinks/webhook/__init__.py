"""The dev webhook receiver (``python -m devstack.sinks.webhook``): an HTTP server that takes every webhook
delivery, checks its Standard Webhooks signature with :func:`notify_client.verify` (clients/python), keeps it,
lists it, and fails or stalls chosen deliveries on request. Listens on ``BIND_HOST``:``WEBHOOK_RECEIVER_PORT``
(127.0.0.1:9098); deliveries are appended to ``WEBHOOK_RECEIVER_DIR`` (``.run/webhooks``) so a restart keeps them.

Deliveries: ``POST /hooks`` or ``POST /hooks/<anything>`` records the request (its path, headers and body) and
answers 204, or what a behaviour says. Point each endpoint at its own path (``http://127.0.0.1:9098/hooks/demo``).

Control (see ``app.py``):
- ``POST /secrets`` ``{"path_prefix": "/hooks/demo", "secret": "whsec_..."}``: check deliveries under that path
  with that secret (register both secrets of a rotation: each delivery records how many of them verify).
  ``GET /secrets`` lists the prefixes; ``DELETE /secrets`` forgets them.
- ``GET /deliveries`` (``?path_prefix=``, ``?webhook_id=``, ``?type=``, ``?limit=`` keeps the newest n): each with
  webhook_id, path, received_at, headers, body, type, event_at, verified, matching_secrets, error and answer.
  ``GET /deliveries/stats`` (``?path_prefix=``): counts, verification failures, duplicates (a webhook-id answered
  2xx more than once), the first and last 2xx arrival (unix seconds) and the lag from the event's
  ``timestamp`` to its arrival (p50, p99, max).
  ``DELETE /deliveries``.
- ``POST /behaviours`` ``{"path_prefix": "/hooks/flaky", "status": 503, "delay_seconds": 2, "times": 3}`` (or
  ``"webhook_id_prefix"``): answer matching deliveries with ``status`` after ``delay_seconds`` (``times``
  omitted: until cleared). ``GET /behaviours``; ``DELETE /behaviours`` (``?path_prefix=``: only that prefix's).
- ``GET /health``.
"""
