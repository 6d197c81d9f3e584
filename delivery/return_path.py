"""The VERP return path (docs/design.md §7 "Mail that comes back"): every email's ``MAIL FROM`` names its
notification, ``b+<notification id hex>.<tag>@{BOUNCE_DOMAIN}``, where the tag is 8 characters of base32
HMAC-SHA256 of the id under ``BOUNCE_SIGNING_KEY``. A bounce then says which notification it is about, and the
inbound service refuses any address whose tag we did not make, so nobody can mark a notification bounced or an
address suppressed by mailing a guessed address. The email worker makes tags, inbound checks them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass

TAG_LENGTH = 8
"""Base32 characters of the HMAC kept: 40 bits, so a forger needs about 2^39 guesses per notification."""
MAX_LOCAL_PART = 64
"""RFC 5321 §4.5.3.1.1: the longest local part (the part before the ``@``) a server must accept."""
FEEDBACK_LOCAL_PART = "fbl"
"""``fbl@{BOUNCE_DOMAIN}``: the address registered with mailbox providers' feedback loops."""
_VERP = re.compile(rf"^b\+(?P<id>[0-9a-f]{{32}})\.(?P<tag>[a-z2-7]{{{TAG_LENGTH}}})$")


@dataclass(frozen=True)
class ReturnPath:
    """Makes and checks the return-path addresses of one deployment (its bounce domain and signing key)."""

    domain: str
    key: bytes

    @classmethod
    def of(cls, domain: str, key: str) -> ReturnPath:
        """The return path for ``BOUNCE_DOMAIN`` and ``BOUNCE_SIGNING_KEY`` as the settings hold them."""
        return cls(domain.lower(), key.encode())

    @property
    def feedback_address(self) -> str:
        """Where feedback-loop (ARF) reports are sent."""
        return f"{FEEDBACK_LOCAL_PART}@{self.domain}"

    def _tag(self, notification_id: uuid.UUID) -> str:
        digest = hmac.new(self.key, notification_id.bytes, hashlib.sha256).digest()
        return base64.b32encode(digest).decode("ascii")[:TAG_LENGTH].lower()

    def address(self, notification_id: str) -> str:
        """The ``MAIL FROM`` of the email of ``notification_id``."""
        parsed = uuid.UUID(notification_id)
        return f"b+{parsed.hex}.{self._tag(parsed)}@{self.domain}"

    def notification_id(self, address: str) -> uuid.UUID | None:
        """The notification whose return path ``address`` is, or None when it is not one we made (another
        domain, a forged or damaged tag, too long). Case does not matter: some systems change it."""
        local, at, domain = address.strip().lower().rpartition("@")
        if not at or domain != self.domain or len(local) > MAX_LOCAL_PART:
            return None
        match = _VERP.match(local)
        if match is None:
            return None
        notification_id = uuid.UUID(hex=match["id"])
        return notification_id if hmac.compare_digest(match["tag"], self._tag(notification_id)) else None

    def is_feedback_address(self, address: str) -> bool:
        """Whether ``address`` is this deployment's feedback-loop address."""
        return address.strip().lower() == self.feedback_address
