"""What both purge RPCs refuse with INVALID_ARGUMENT, and the field each refusal names."""

from __future__ import annotations

import uuid

from common.applications import DEFAULT_APPLICATION_ID

REFUSED_PURGES = [
    ("", 10, "application_id"),
    (str(DEFAULT_APPLICATION_ID), 10, "application_id"),
    ("acme", 10, "application_id"),
    (str(uuid.UUID(int=7)), 0, "limit"),
    (str(uuid.UUID(int=7)), 10_001, "limit"),
]
"""(application id, limit, the field named): no application, the default one, not a UUID, limits out of 1-10000."""
