"""firebase-admin, configured once: the app built from the service-account file, and the one place that points
the SDK's FCM calls at ``FCM_ENDPOINT`` (docs/design.md §3).

firebase-admin 7.x (pinned in pyproject) has no public setting for the FCM base URL. The messaging service of
an app keeps its whole send URL in ``_fcm_url``, which ``send``, ``send_each`` and ``send_each_async`` all use;
OAuth already honours the service account's ``token_uri``. Nothing else in the code base touches the SDK's
internals for the URL.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import firebase_admin
import google.auth.transport.requests
from firebase_admin import credentials, messaging

GOOGLE_FCM_ENDPOINT = "https://fcm.googleapis.com"
MAX_BATCH = 500
"""firebase-admin's limit on messages per ``send_each_async`` call."""

_app_names = itertools.count(1)


def fcm_send_url(endpoint: str, project_id: str) -> str:
    """The FCM HTTP v1 send URL of ``project_id`` at ``endpoint`` (``https://fcm.googleapis.com`` for Google)."""
    return f"{endpoint.rstrip('/')}/v1/projects/{project_id}/messages:send"


class FcmClient:
    """A firebase-admin app of its own, sending batches of messages with ``send_each_async``."""

    def __init__(self, credentials_path: str, endpoint: str | None = None) -> None:
        """Load the service account at ``credentials_path``; send to ``endpoint`` instead of Google when given."""
        certificate = credentials.Certificate(credentials_path)
        self._app = firebase_admin.initialize_app(certificate, name=f"push-worker-{next(_app_names)}")
        self._credential: Any = certificate.get_credential()
        self._service: Any = messaging._get_messaging_service(self._app)
        if endpoint:
            self._service._fcm_url = fcm_send_url(endpoint, self._app.project_id)
        self._refresh_lock = asyncio.Lock()

    @property
    def project_id(self) -> str:
        """The Firebase project the service account belongs to."""
        return str(self._app.project_id)

    @property
    def send_url(self) -> str:
        """Where messages are sent."""
        return str(self._service._fcm_url)

    async def refresh_access_token(self) -> None:
        """Fetch a new OAuth access token when the current one is missing or about to expire.

        google-auth refreshes with a blocking HTTP call; doing it here, in a thread, keeps the event loop free
        (the SDK then finds a valid token and does not refresh by itself). Raises google-auth's errors.
        """
        if self._credential.valid:
            return
        async with self._refresh_lock:
            if not self._credential.valid:
                await asyncio.to_thread(self._credential.refresh, google.auth.transport.requests.Request())

    async def send_each(self, messages: list[messaging.Message]) -> list[messaging.SendResponse]:
        """Send ``messages`` concurrently, in batches of at most 500; one response per message, in order."""
        await self.refresh_access_token()
        responses: list[messaging.SendResponse] = []
        for start in range(0, len(messages), MAX_BATCH):
            batch = await messaging.send_each_async(messages[start : start + MAX_BATCH], app=self._app)
            responses.extend(batch.responses)
        return responses

    async def close(self) -> None:
        """Close the SDK's HTTP client on this loop, then delete the app.

        ``delete_app`` closes the async client with ``asyncio.run``, which cannot run inside a loop: closing it
        here first leaves that a no-op, run in a thread.
        """
        await self._service._async_client.aclose()
        await asyncio.to_thread(firebase_admin.delete_app, self._app)
