"""PostgreSQL: async engines and sessions, creating a service's database when it is missing, and the CHECK
that keeps a text column to the values of one of our enums."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy import CheckConstraint
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def async_url(url: str) -> str:
    """The SQLAlchemy asyncpg URL for a plain ``postgresql://`` URL."""
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def plain_url(url: str) -> str:
    """The libpq URL (what psql and asyncpg accept) for any PostgreSQL URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(url: str, *, pool_size: int = 10, pre_ping: bool = True) -> AsyncEngine:
    """An async engine on ``url`` with a pool that checks connections before use.

    Its errors never quote the statement's parameters (``hide_parameters``): they hold password hashes and
    email addresses, and an unexpected database error is logged whole. ``pre_ping=False`` saves the check (up
    to three round trips per checkout: BEGIN, ping, ROLLBACK) on a hot path; a connection that died with the
    server then fails one call, which invalidates the pool.
    """
    return create_async_engine(
        async_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=pre_ping, hide_parameters=True
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session inside one transaction, committed on success and rolled back on error."""
    async with factory() as session, session.begin():
        yield session


def one_of(column: str, values: Iterable[str], *, name: str) -> CheckConstraint:
    """A CHECK that ``column`` holds one of ``values``: written from the enum the code uses, so both agree."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


async def ensure_database(url: str) -> bool:
    """Create the database that ``url`` names when it does not exist; True when it was created."""
    parsed = make_url(url)
    name = parsed.database
    if not name:
        raise ValueError("the database URL names no database")
    admin = plain_url(url).rsplit("/", 1)[0] + "/postgres"
    connection = await asyncpg.connect(admin)
    try:
        if await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        quoted = '"' + name.replace('"', '""') + '"'
        await connection.execute(f"CREATE DATABASE {quoted}")
        return True
    finally:
        await connection.close()


async def recreate_database(url: str) -> None:
    """Drop the database ``url`` names (closing its connections) and create it empty."""
    admin_url, name = plain_url(url).rsplit("/", 1)
    quoted = '"' + name.replace('"', '""') + '"'
    connection = await asyncpg.connect(f"{admin_url}/postgres")
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        await connection.execute(f"CREATE DATABASE {quoted}")
    finally:
        await connection.close()
