"""The setting every service that signs or verifies unsubscribe tokens shares, as a mixin of its settings."""

from __future__ import annotations

from pydantic import BaseModel, field_validator

from common.settings import unsubscribe_signing_keys_field
from unsubscribe.tokens import KeyRing


class UnsubscribeKeySettings(BaseModel):
    """``UNSUBSCRIBE_SIGNING_KEYS``, checked at start-up; each key joins the service's production checks through
    :meth:`KeyRing.named_secrets`."""

    unsubscribe_signing_keys: str = unsubscribe_signing_keys_field()

    @field_validator("unsubscribe_signing_keys")
    @classmethod
    def _ring(cls, value: str) -> str:
        KeyRing.parse(value)
        return value

    @property
    def unsubscribe_keys(self) -> KeyRing:
        """The ring: its first key signs, every key verifies."""
        return KeyRing.parse(self.unsubscribe_signing_keys)
