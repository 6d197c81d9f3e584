"""The notifications database as an asyncpg pool: on the send path a statement costs a fraction of the CPU it
costs through SQLAlchemy's async engine. The schema is ``common.notification_tables``, migrated by
``python -m gateway migrate``."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from common.db import plain_url


async def _init_connection(connection: asyncpg.Connection) -> None:
    """JSONB in and out as Python objects, through orjson."""
    await connection.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda value: orjson.dumps(value).decode(),
        decoder=orjson.loads,
        format="text",
    )


async def keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to reset when a connection goes back to the pool: the gateway never sets session state (no SET,
    LISTEN, cursor or advisory lock), and asyncpg still rolls back a transaction left open. asyncpg's default
    reset is a round trip of four statements on every release: as many as the statement itself."""


async def create_pool(url: str, size: int) -> Any:
    """A pool of ``size`` connections to ``url`` (a plain ``postgresql://`` URL), opened now."""
    return await asyncpg.create_pool(
        plain_url(url),
        min_size=min(2, size),
        max_size=size,
        init=_init_connection,
        reset=keep_session,
        command_timeout=10,
    )
