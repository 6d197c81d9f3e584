"""Applications, the unit of isolation of release 2 (docs/design.md). Until they exist there is one, the
``default`` application, whose id is fixed so every database and every token can name it without asking."""

from __future__ import annotations

import uuid

DEFAULT_APPLICATION_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
"""The ``default`` application: the owner of everything made before applications, and of ``GATEWAY_API_KEYS``."""
