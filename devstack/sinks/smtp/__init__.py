"""The dev SMTP sink (``python -m devstack.sinks.smtp``): an SMTP server that accepts everything, keeps every
message as an ``.eml`` file, lists them over HTTP, and refuses chosen recipients with the code you ask for.

SMTP on ``BIND_HOST``:``SMTP_SINK_PORT`` (127.0.0.1:1025), HTTP on ``SMTP_SINK_HTTP_PORT`` (1080), messages in
``SMTP_SINK_DIR`` (``.run/mail``). No TLS; AUTH is advertised and any credentials are accepted.

HTTP (see ``http.py``):
- ``GET /messages`` (``?recipient=`` filters by envelope recipient, ``?limit=`` keeps the newest n): each with
  id, received_at, mail_from, recipients, authenticated_as, subject, message_id, headers, text and html.
  ``GET /messages/count`` (cheap, for polling). ``DELETE /messages``.
- ``POST /failures`` ``{"recipient": "ada@example.com", "code": 451, "times": 2}``: refuse that recipient at
  RCPT with ``code`` for the next ``times`` attempts (omitted: until cleared; recipient ``*``: everyone), then
  accept. ``GET /failures`` lists the rules with what is left of them; ``DELETE /failures`` clears them.
- ``GET /health``.

Address convention (no set-up needed): a recipient whose local part is ``bounce-<code>``, optionally followed by
``+`` or ``.`` and anything (``bounce-550@example.com``, ``bounce-451+x@example.com``), is always refused with
that code (400-599).

Mail that comes back (``reports.py``): the sink accepts ``bounce-…@`` (anything but a code after the dash),
``softbounce-…@`` and ``complain-…@`` recipients and then mails the message's return path a 5.1.1 DSN, a 4.2.2
delay warning, or (to ``fbl@`` its domain) an ARF complaint, at ``SMTP_SINK_REPORTS_TO`` (the inbound service).
"""
