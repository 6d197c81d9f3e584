"""One-click unsubscribe (RFC 8058) behind ``/u/{token}``: the token (signed by the email worker, see
:mod:`unsubscribe.tokens`) names an application, a user and a category; using it opts that user out of the
category's email through user_svc, at once (this gateway's cached profile is dropped; the others drop theirs on
the ``UserChanged`` event). It is a category opt-out, never a suppression: transactional mail still flows.

The ``email.unsubscribed`` webhook event is written when the opt-out changed something, after user_svc has
recorded it (they live in different databases, so not in one transaction): a repeated POST changes nothing and
emits nothing."""

from __future__ import annotations

import logging
from typing import Any

import grpc

from gateway.errors import ProblemError
from gateway.profiles import ProfileCache
from gateway.schemas.categories import TRANSACTIONAL
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from unsubscribe.tokens import InvalidToken, KeyRing, Unsubscription

logger = logging.getLogger(__name__)

UNSUBSCRIBED_EVENT = "email.unsubscribed"
UNSUBSCRIBED = f"""
INSERT INTO webhook_outbox (application_id, event_type, data)
SELECT $1, '{UNSUBSCRIBED_EVENT}', $2::jsonb
WHERE EXISTS (
    SELECT 1 FROM webhook_endpoints AS w
    WHERE w.application_id = $1 AND w.enabled
      AND (w.events @> ARRAY['{UNSUBSCRIBED_EVENT}'] OR w.events @> ARRAY['*'])
)
"""  # noqa: S608 - constants only
"""The ``email.unsubscribed`` event, only when an enabled endpoint of the application subscribes to it."""


def opted_out(profile: pb.NotificationProfile, category: str) -> bool:
    """Whether the profile's user already gets no email of ``category``."""
    choices = profile.preferences.categories
    return category in choices and choices[category].HasField("email") and not choices[category].email


class Unsubscriber:
    """Reads tokens and applies them."""

    def __init__(
        self, keys: KeyRing, users: pb_grpc.UserServiceStub, profiles: ProfileCache, db: Any, timeout: float
    ) -> None:
        self._keys = keys
        self._users = users
        self._profiles = profiles
        self._db = db
        self._timeout = timeout

    def read(self, token: str) -> Unsubscription:
        """What ``token`` names; a 404 problem for a malformed, forged or retired one."""
        try:
            found = self._keys.verify(token)
        except InvalidToken as error:
            logger.info("refused an unsubscribe token: %s", error)
            raise ProblemError(404, "this unsubscribe link is not valid (or no longer is)") from None
        if found.category == TRANSACTIONAL:
            raise ProblemError(404, "this unsubscribe link is not valid (or no longer is)")
        return found

    async def apply(self, unsubscription: Unsubscription) -> bool:
        """Opt the user out of the category's email; True when that changed anything (False too for a user who
        is gone: nobody is left to email)."""
        application, user = str(unsubscription.application_id), str(unsubscription.user_id)
        try:
            profile = await self._profiles.get(application, user)
            if opted_out(profile, unsubscription.category):
                return False
            wanted = pb.Preferences()
            wanted.categories[unsubscription.category].email = False
            await self._users.UpdatePreferences(
                pb.UpdatePreferencesRequest(
                    application_id=application,
                    user_id=user,
                    preferences=wanted,
                    update_mask={"paths": [f"categories.{unsubscription.category}"]},
                ),
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return False
            raise
        finally:
            self._profiles.evict(application, user)
        data = {"user_id": user, "category": unsubscription.category, "notification_id": None}
        await self._db.execute(UNSUBSCRIBED, unsubscription.application_id, data)
        return True
