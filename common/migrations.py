"""Alembic, run from code: each service keeps its history inside its own package (``user_svc:migrations``).

A service's ``migrations/env.py`` calls :func:`run_env`; its ``__main__`` calls :func:`migrate`.
"""

from __future__ import annotations

import asyncio

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from common.db import create_engine, ensure_database


def alembic_config(script_location: str, url: str) -> Config:
    """An Alembic config for the history at ``script_location`` against the database at ``url``."""
    config = Config()
    config.set_main_option("script_location", script_location)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(script_location: str, url: str, revision: str = "head") -> None:
    """Create the database if it is missing, then upgrade it to ``revision``."""
    asyncio.run(ensure_database(url))
    command.upgrade(alembic_config(script_location, url), revision)


def downgrade(script_location: str, url: str, revision: str = "base") -> None:
    """Downgrade the database at ``url`` to ``revision``."""
    command.downgrade(alembic_config(script_location, url), revision)


def run_env(target_metadata: MetaData | None = None) -> None:
    """The body of every ``migrations/env.py``: run the migrations online over asyncpg."""
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not set")

    def run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(run)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(run_async())
