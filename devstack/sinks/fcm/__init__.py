"""A local FCM-compatible server for the dev stack and the tests (``python -m devstack.sinks.fcm``).

It serves the OAuth token endpoint a service account's ``token_uri`` points at and
``POST /v1/projects/{project}/messages:send``, records every accepted message, and answers exactly like FCM
HTTP v1 for tokens told to fail, so firebase-admin's real error mapping is exercised. See ``app.py`` for the
endpoints and ``behaviours.py`` for the token conventions.
"""
