"""The queries of the ``users`` database. Single-statement reads and writes run in autocommit (one round
trip, no BEGIN/COMMIT); the few that need several statements run in one transaction.

Every write to a user's preferences or devices also moves the user's ``updated_at``, in the same statement.
Every query names the application (docs/design.md §3): a user of another application is not found, exactly as
if it did not exist. Preferences and devices are reached only through a user of the application.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import cache
from typing import Any

from sqlalchemy import Row, bindparam, case, delete, exists, func, insert, literal, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import BindParameter

from user_svc.tables import devices, preferences, users

EMAIL_INDEX = "uq_users_application_id_email_lower"
MAX_DEVICES_PER_USER = 20
"""Registering one more drops the least recently registered: the profile every send reads stays small."""


class EmailTaken(Exception):
    """Another user of the application has this email (compared case-insensitively)."""


@dataclass(frozen=True)
class Device:
    """A push device of a user."""

    token: str
    platform: str
    created_at: datetime


@dataclass(frozen=True)
class QuietHours:
    """When a user wants no low- or normal-priority notifications, in local time; ``end`` before ``start`` spans
    midnight."""

    start: time
    end: time


@dataclass(frozen=True)
class Preferences:
    """A user's channels, timezone (None: UTC) and quiet hours (None: none)."""

    email: bool
    push: bool
    timezone: str | None = None
    quiet_hours: QuietHours | None = None
    categories: dict[str, dict[str, bool]] = field(default_factory=dict)
    """By category key, the channels set for it (``email``/``push``: a channel left out is accepted)."""


@dataclass(frozen=True)
class User:
    """A user with preferences and devices (oldest first); never the password hash."""

    id: uuid.UUID
    name: str
    email: str
    locale: str
    preferences: Preferences
    devices: tuple[Device, ...]
    created_at: datetime
    updated_at: datetime
    pending_email: str | None = None


@dataclass(frozen=True)
class Profile:
    """What addressing a notification to a user needs."""

    user_id: uuid.UUID
    email: str
    name: str
    locale: str
    preferences: Preferences
    device_tokens: tuple[str, ...]
    token_version: int


@dataclass(frozen=True)
class Credentials:
    """A user's id, password hash and token version, for authentication only."""

    user_id: uuid.UUID
    password_hash: str
    token_version: int


@dataclass(frozen=True)
class NewUser:
    """A validated user to create."""

    id: uuid.UUID
    application_id: uuid.UUID
    name: str
    email: str
    locale: str
    password_hash: str
    email_enabled: bool
    push_enabled: bool


_PREFERENCES = (
    preferences.c.email.label("email_enabled"),
    preferences.c.push.label("push_enabled"),
    preferences.c.timezone,
    preferences.c.quiet_start,
    preferences.c.quiet_end,
    preferences.c.categories,
)
"""The preferences as :func:`_preferences_of` reads them from a row."""

_USERS_WITH_PREFERENCES = select(
    users.c.id,
    users.c.name,
    users.c.email,
    users.c.locale,
    users.c.pending_email,
    users.c.created_at,
    users.c.updated_at,
    *_PREFERENCES,
).select_from(users.join(preferences, preferences.c.user_id == users.c.id))

_DEVICE_ORDER = (devices.c.created_at, devices.c.token)

# Statements are built once, with bound parameters: building one per call costs as much as its round trip.
_USER_ID: BindParameter[uuid.UUID] = bindparam("the_user_id", type_=users.c.id.type)
_APPLICATION_ID: BindParameter[uuid.UUID] = bindparam("the_application_id", type_=users.c.application_id.type)
_THE_USER = (users.c.id == _USER_ID) & (users.c.application_id == _APPLICATION_ID)
"""The user named by id, when it belongs to the application named."""
_TOKEN: BindParameter[str] = bindparam("the_token", type_=devices.c.token.type)

_INSERT_USER = insert(users).returning(users.c.created_at, users.c.updated_at)
_INSERT_PREFERENCES = insert(preferences)

_GET_USER = _USERS_WITH_PREFERENCES.where(_THE_USER)
_FIRST_PAGE = (
    _USERS_WITH_PREFERENCES.where(users.c.application_id == _APPLICATION_ID)
    .order_by(users.c.id)
    .limit(bindparam("limit"))
)
_NEXT_PAGE = _FIRST_PAGE.where(users.c.id > bindparam("after"))
_DEVICES_OF = (
    select(devices.c.user_id, devices.c.token, devices.c.platform, devices.c.created_at)
    .where(devices.c.user_id.in_(bindparam("user_ids", expanding=True)))
    .order_by(*_DEVICE_ORDER)
)
_DELETE_USER = delete(users).where(_THE_USER).returning(users.c.id)
_CREDENTIALS = select(users.c.id, users.c.password_hash, users.c.token_version).where(
    users.c.application_id == _APPLICATION_ID, func.lower(users.c.email) == func.lower(bindparam("the_email"))
)
_PASSWORD_HASH = select(users.c.password_hash).where(_THE_USER)
PROFILES = select(
    users.c.id,
    users.c.email,
    users.c.name,
    users.c.locale,
    users.c.token_version,
    *_PREFERENCES,
    func.array(
        select(devices.c.token).where(devices.c.user_id == users.c.id).order_by(*_DEVICE_ORDER).scalar_subquery()
    ).label("device_tokens"),
).select_from(users.join(preferences, preferences.c.user_id == users.c.id))
"""The notification profiles of users, one row each for :func:`profile_of`: callers add which users."""
_PROFILE = PROFILES.where(_THE_USER)
_PROFILES_OF = PROFILES.where(
    users.c.application_id == _APPLICATION_ID,
    users.c.id == func.any(bindparam("user_ids", type_=ARRAY(users.c.id.type))),
)
"""The profiles of the users among ``user_ids`` (one array parameter: one statement whatever their number)."""
_PURGE = (
    delete(users)
    .where(
        users.c.id.in_(
            select(users.c.id)
            .where(users.c.application_id == _APPLICATION_ID)
            .order_by(users.c.id)
            .limit(bindparam("limit"))
        )
    )
    .returning(users.c.id)
)
_PING = select(literal(1))


def _touched() -> Any:
    """A CTE that moves the user's ``updated_at`` and yields its id, or nothing when the user is missing (or
    another application's)."""
    touch = update(users).where(_THE_USER).values(updated_at=func.now())
    return touch.returning(users.c.id).cte("touched")


def _merged_categories() -> Any:
    """The stored category choices with the ``new_categories`` patch merged in, in the statement (so two
    concurrent patches of different categories both stay): each key of the patch merges its channels into
    the stored ones, a JSON null forgets the key or the channel."""
    patch = func.jsonb_each(bindparam("new_categories", type_=JSONB)).table_valued("key", "value").alias("e")
    stored = preferences.c.categories
    merged_entry = case(
        (func.jsonb_typeof(patch.c.value) == "null", patch.c.value),
        else_=func.coalesce(stored.op("->")(patch.c.key), text("'{}'::jsonb")).op("||")(patch.c.value),
    )
    entries = select(func.coalesce(func.jsonb_object_agg(patch.c.key, merged_entry), text("'{}'::jsonb")))
    return func.jsonb_strip_nulls(stored.op("||")(entries.select_from(patch).scalar_subquery()))


_MERGED_CATEGORIES = _merged_categories()


@cache
def _set_preferences_statement(columns: frozenset[str]) -> Any:
    """The update of ``columns`` (each bound to ``new_<column>``), built once per set of columns."""
    touched = _touched()
    return (
        update(preferences)
        .where(preferences.c.user_id == touched.c.id)
        .values(
            {
                **{column: bindparam(f"new_{column}") for column in columns},
                **({"categories": _MERGED_CATEGORIES} if "categories" in columns else {}),
                "updated_at": func.now(),
            }
        )
        .returning(*_PREFERENCES)
        .add_cte(touched)
    )


def _preferences_of(row: Any) -> Preferences:
    """The preferences of a row with the columns of :data:`_PREFERENCES`."""
    quiet_hours = None if row.quiet_start is None else QuietHours(row.quiet_start, row.quiet_end)
    return Preferences(row.email_enabled, row.push_enabled, row.timezone, quiet_hours, row.categories)


def _add_device_statement() -> Any:
    touched = _touched()
    upsert = pg_insert(devices).from_select(
        ["user_id", "token", "platform"], select(touched.c.id, _TOKEN, bindparam("the_platform"))
    )
    return (
        upsert.on_conflict_do_update(
            index_elements=[devices.c.user_id, devices.c.token],
            set_={"platform": upsert.excluded.platform, "updated_at": func.now()},
        )
        .returning(
            devices.c.token,
            devices.c.platform,
            devices.c.created_at,
            (literal_column("xmax") == literal_column("0")).label("created"),  # inserted, not updated
        )
        .add_cte(touched)
    )


def _remove_device_statement() -> Any:
    removed = (
        delete(devices)
        .where(
            devices.c.user_id == _USER_ID,
            devices.c.token == _TOKEN,
            exists().where(_THE_USER),  # never a device of another application's user
        )
        .returning(devices.c.user_id)
        .cte("removed")
    )
    touched = (
        update(users)
        .where(users.c.id.in_(select(removed.c.user_id)))
        .values(updated_at=func.now())
        .returning(users.c.id)
        .cte("touched")
    )
    return select(
        exists().where(_THE_USER).label("user_exists"),
        exists(select(touched.c.id)).label("removed"),
    )


_ADD_DEVICE = _add_device_statement()
_REMOVE_DEVICE = _remove_device_statement()
_NEWEST_DEVICES = (
    select(devices.c.token)
    .where(devices.c.user_id == _USER_ID)
    # The device just registered first: a registration that waited for the lock has an older now() than one
    # committed meanwhile, yet it is the newest.
    .order_by(
        (devices.c.token == _TOKEN).desc(),
        devices.c.updated_at.desc(),
        devices.c.created_at.desc(),
        devices.c.token.desc(),
    )
    .limit(MAX_DEVICES_PER_USER)
)
_DROP_OLDEST_DEVICES = delete(devices).where(devices.c.user_id == _USER_ID, devices.c.token.not_in(_NEWEST_DEVICES))


def _named(application_id: uuid.UUID, user_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """The bound parameters of :data:`_THE_USER`."""
    return {"the_application_id": application_id, "the_user_id": user_id}


def profile_of(row: Any) -> Profile:
    """The profile of a row of :data:`PROFILES`."""
    return Profile(
        user_id=row.id,
        email=row.email,
        name=row.name,
        locale=row.locale,
        preferences=_preferences_of(row),
        device_tokens=tuple(row.device_tokens),
        token_version=row.token_version,
    )


def _is_email_conflict(error: IntegrityError) -> bool:
    cause = error.orig.__cause__ if error.orig is not None else None
    return getattr(cause, "constraint_name", None) == EMAIL_INDEX


class UserRepository:
    """Reads and writes users, preferences and devices."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def create(self, new: NewUser) -> User:
        """Insert the user and their preferences; :class:`EmailTaken` when the email is in use."""
        async with self._engine.begin() as connection:
            try:
                row = (
                    await connection.execute(
                        _INSERT_USER,
                        {
                            "id": new.id,
                            "application_id": new.application_id,
                            "name": new.name,
                            "email": new.email,
                            "locale": new.locale,
                            "password_hash": new.password_hash,
                        },
                    )
                ).one()
            except IntegrityError as error:
                if _is_email_conflict(error):
                    raise EmailTaken(new.email) from None
                raise
            await connection.execute(
                _INSERT_PREFERENCES, {"user_id": new.id, "email": new.email_enabled, "push": new.push_enabled}
            )
        return User(
            id=new.id,
            name=new.name,
            email=new.email,
            locale=new.locale,
            preferences=Preferences(new.email_enabled, new.push_enabled),
            devices=(),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    async def get(self, application_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
        """The application's user, or None."""
        async with self._autocommit.connect() as connection:
            found = await self._load(connection, _GET_USER, _named(application_id, user_id))
        return found[0] if found else None

    async def list_after(self, application_id: uuid.UUID, after: uuid.UUID | None, limit: int) -> list[User]:
        """Up to ``limit`` of the application's users in id order (creation order: ids are UUIDv7), after
        ``after`` when given."""
        parameters: dict[str, Any] = {"the_application_id": application_id, "limit": limit}
        async with self._autocommit.connect() as connection:
            if after is None:
                return await self._load(connection, _FIRST_PAGE, parameters)
            return await self._load(connection, _NEXT_PAGE, {**parameters, "after": after})

    async def update(
        self, application_id: uuid.UUID, user_id: uuid.UUID, changes: dict[str, str], *, revoke_tokens: bool = False
    ) -> User | None:
        """Set the columns in ``changes`` (setting ``email`` clears ``pending_email``), and move the token version
        on when ``revoke_tokens``; the user after the change, or None when missing."""
        values: dict[str, Any] = {**changes, "updated_at": func.now()}
        if "email" in changes:
            values["pending_email"] = None
        if revoke_tokens:
            values["token_version"] = users.c.token_version + 1
        async with self._engine.begin() as connection:
            try:
                changed = await connection.execute(
                    update(users).where(_THE_USER).values(**values).returning(users.c.id),
                    _named(application_id, user_id),
                )
            except IntegrityError as error:
                if _is_email_conflict(error):
                    raise EmailTaken(changes.get("email", "")) from None
                raise
            if changed.first() is None:
                return None
            return (await self._load(connection, _GET_USER, _named(application_id, user_id)))[0]

    async def delete(self, application_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        """Delete the user, their preferences and devices (cascade); False when missing."""
        async with self._autocommit.connect() as connection:
            return (await connection.execute(_DELETE_USER, _named(application_id, user_id))).first() is not None

    async def purge(self, application_id: uuid.UUID, limit: int) -> list[uuid.UUID]:
        """Delete up to ``limit`` of the application's users with their preferences and devices; their ids."""
        async with self._autocommit.connect() as connection:
            deleted = await connection.execute(_PURGE, {"the_application_id": application_id, "limit": limit})
            return list(deleted.scalars())

    async def set_preferences(
        self, application_id: uuid.UUID, user_id: uuid.UUID, changes: dict[str, Any]
    ) -> Preferences | None:
        """Set the ``preferences`` columns named in ``changes`` (the others stay); the preferences after the
        change, or None when the user is missing."""
        statement = _set_preferences_statement(frozenset(changes))
        values = {f"new_{column}": value for column, value in changes.items()}
        async with self._autocommit.connect() as connection:
            row = (await connection.execute(statement, {**_named(application_id, user_id), **values})).first()
        return None if row is None else _preferences_of(row)

    async def add_device(
        self, application_id: uuid.UUID, user_id: uuid.UUID, token: str, platform: str
    ) -> tuple[Device, bool] | None:
        """Register ``token`` (again: its platform is updated) and drop the least recently registered devices past
        :data:`MAX_DEVICES_PER_USER`; the device and whether it is new, or None when the user is missing.

        One transaction: the first statement locks the user's row, so concurrent registrations take turns and
        the second sees every device they added."""
        parameters = {**_named(application_id, user_id), "the_token": token, "the_platform": platform}
        async with self._engine.begin() as connection:
            row = (await connection.execute(_ADD_DEVICE, parameters)).first()
            if row is None:
                return None
            await connection.execute(_DROP_OLDEST_DEVICES, {"the_user_id": user_id, "the_token": token})
        return Device(row.token, row.platform, row.created_at), bool(row.created)

    async def remove_device(self, application_id: uuid.UUID, user_id: uuid.UUID, token: str) -> tuple[bool, bool]:
        """Remove ``token`` from the user: (whether the user exists, whether the token was removed)."""
        parameters = {**_named(application_id, user_id), "the_token": token}
        async with self._autocommit.connect() as connection:
            row = (await connection.execute(_REMOVE_DEVICE, parameters)).one()
        return bool(row.user_exists), bool(row.removed)

    async def credentials(self, application_id: uuid.UUID, email: str) -> Credentials | None:
        """The id and password hash of the application's user with ``email`` (case-insensitively), or None."""
        parameters = {"the_application_id": application_id, "the_email": email}
        async with self._autocommit.connect() as connection:
            row = (await connection.execute(_CREDENTIALS, parameters)).first()
        return Credentials(row.id, row.password_hash, row.token_version) if row else None

    async def password_hash(self, application_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
        """The user's password hash, or None when the user is missing."""
        async with self._autocommit.connect() as connection:
            found: str | None = (await connection.execute(_PASSWORD_HASH, _named(application_id, user_id))).scalar()
        return found

    async def profile(self, application_id: uuid.UUID, user_id: uuid.UUID) -> Profile | None:
        """The user's notification profile in one query, or None."""
        async with self._autocommit.connect() as connection:
            row = (await connection.execute(_PROFILE, _named(application_id, user_id))).first()
        return profile_of(row) if row else None

    async def profiles(self, application_id: uuid.UUID, user_ids: Sequence[uuid.UUID]) -> list[Profile]:
        """The notification profiles of the users of ``application_id`` among ``user_ids``, in one query."""
        parameters = {"the_application_id": application_id, "user_ids": list(user_ids)}
        async with self._autocommit.connect() as connection:
            rows = (await connection.execute(_PROFILES_OF, parameters)).all()
        return [profile_of(row) for row in rows]

    async def ping(self) -> None:
        """One round trip to the database (``SELECT 1``); raises when it does not answer."""
        async with self._autocommit.connect() as connection:
            await connection.execute(_PING)

    @staticmethod
    async def _load(connection: AsyncConnection, query: Any, parameters: dict[str, Any]) -> list[User]:
        rows: Sequence[Row[Any]] = (await connection.execute(query, parameters)).all()
        if not rows:
            return []
        owned: dict[uuid.UUID, list[Device]] = {row.id: [] for row in rows}
        device_rows = await connection.execute(_DEVICES_OF, {"user_ids": list(owned)})
        for device in device_rows:
            owned[device.user_id].append(Device(device.token, device.platform, device.created_at))
        return [
            User(
                id=row.id,
                name=row.name,
                email=row.email,
                locale=row.locale,
                preferences=_preferences_of(row),
                devices=tuple(owned[row.id]),
                created_at=row.created_at,
                updated_at=row.updated_at,
                pending_email=row.pending_email,
            )
            for row in rows
        ]
