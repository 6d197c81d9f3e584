"""The names of the gateway's Redis keys (docs/design.md §7 "Redis keys"), in one place so that the keys one
script call touches always share a Redis Cluster hash slot.

Everything a send touches in one call (its application's limiter, its recipient's limiter, its idempotency
record) carries the application's tag ``{a:<application>}``. Keys that a call touches alone get a tag of their
own, so they spread over the cluster: a user token's limiter here, a login's budgets in
:mod:`gateway.login_limits`.
"""

from __future__ import annotations

RELEASE_1_IDEMPOTENCY_PATTERN = "gw:idem:*"
"""Release 1's idempotency records, ``gw:idem:<API key id>:<Idempotency-Key>``: ``gateway migrate`` copies them."""


def _application_tag(application_id: str) -> str:
    return f"{{a:{application_id}}}"


def application_limiter(application_id: str) -> str:
    """The application's send limiter."""
    return f"gw:{_application_tag(application_id)}:rl"


def recipient_limiter(application_id: str, user_id: str) -> str:
    """The limiter of one recipient of the application: in the application's slot, next to its limiter."""
    return f"gw:{_application_tag(application_id)}:u:{user_id}:rl"


def idempotency_record(application_id: str, idempotency_key: str) -> str:
    """A send's idempotency record, scoped to the application (not to the API key, so a retry made with a
    rotated key still replays)."""
    return f"gw:{_application_tag(application_id)}:idem:{idempotency_key}"


def user_token_limiter(application_id: str, user_id: str) -> str:
    """The limiter of the requests made with one user's token, in a slot of its own."""
    return f"gw:{{a:{application_id}:u:{user_id}}}:tok"
