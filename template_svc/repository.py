"""The queries of the ``templates`` database. Reads are one statement in autocommit (one round trip, no
BEGIN/COMMIT); writes that touch both tables run in one transaction, the template row locked by its own
UPDATE so concurrent updates number their versions one after the other.

Every query names the application (docs/design.md §3): a template of another application is not found, exactly
as if it did not exist. Versions are reached only through a template of the application."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    Select,
    and_,
    any_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import Boolean, Integer, Text

from template_svc.tables import TRANSACTIONAL, categories, template_versions, templates
from templating import template_parts


class CategoryMissing(Exception):
    """The application has no category of that key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"category {key!r} does not exist")
        self.key = key


class VersionMissing(Exception):
    """The template exists but has no such version."""

    def __init__(self, version: int) -> None:
        super().__init__(f"version {version} does not exist")
        self.version = version


@dataclass(frozen=True)
class TemplateKey:
    """What names one template: slug, channel (``email``/``push``) and canonical locale."""

    slug: str
    channel: str
    locale: str

    def __str__(self) -> str:
        return f"{self.slug}/{self.channel}/{self.locale}"


@dataclass(frozen=True)
class Content:
    """The parts of one version (empty string: the part is not used)."""

    subject: str = ""
    body: str = ""
    html_body: str = ""
    title: str = ""
    data: dict[str, str] = field(default_factory=dict)
    from_name: str = ""
    from_email: str = ""
    reply_to: str = ""
    category: str = TRANSACTIONAL

    def parts(self) -> dict[str, str]:
        """The renderable parts by field name (``data.<key>`` for each data entry), unused ones left out."""
        return template_parts(
            subject=self.subject, body=self.body, html_body=self.html_body, title=self.title, data=self.data
        )


@dataclass(frozen=True)
class TemplateVersion:
    """One version of a template, with the template's active version and creation time."""

    key: TemplateKey
    version: int
    active_version: int
    content: Content
    created_at: datetime
    version_created_at: datetime
    transactional: bool = True
    """Whether the version's category is transactional."""


@dataclass(frozen=True)
class Category:
    """A category of an application (``transactional``: built in, never stored)."""

    key: str
    name: str
    transactional: bool
    created_at: datetime
    updated_at: datetime


_COLUMNS = (
    templates.c.slug,
    templates.c.channel,
    templates.c.locale,
    templates.c.active_version,
    templates.c.created_at,
    template_versions.c.version,
    template_versions.c.subject,
    template_versions.c.body,
    template_versions.c.html_body,
    template_versions.c.title,
    template_versions.c.data,
    template_versions.c.from_name,
    template_versions.c.from_email,
    template_versions.c.reply_to,
    template_versions.c.created_at.label("version_created_at"),
    template_versions.c.category,
    or_(template_versions.c.category == TRANSACTIONAL, categories.c.transactional.is_(true())).label("transactional"),
)


def _record(row: Any) -> TemplateVersion:
    return TemplateVersion(
        key=TemplateKey(row.slug, row.channel, row.locale),
        version=row.version,
        active_version=row.active_version,
        content=Content(
            row.subject,
            row.body,
            row.html_body,
            row.title,
            dict(row.data),
            row.from_name,
            row.from_email,
            row.reply_to,
            row.category,
        ),
        created_at=row.created_at,
        version_created_at=row.version_created_at,
        transactional=row.transactional,
    )


UNIQUE_KEY = "uq_templates_application_id_slug_channel_locale"


def _key(application_id: uuid.UUID, key: TemplateKey) -> dict[str, Any]:
    """The bound parameters that name one template of the application."""
    return {"p_application_id": application_id, "p_slug": key.slug, "p_channel": key.channel, "p_locale": key.locale}


# Statements are built once, with bound parameters (``p_`` names: SQLAlchemy keeps column names for the SET
# clause): building one per call costs as much as its round trip.
_APPLICATION_ID = bindparam("p_application_id", type_=UUID(as_uuid=True))
_OF_APPLICATION = templates.c.application_id == _APPLICATION_ID
_SLUG = bindparam("p_slug", type_=Text)
_CHANNEL = bindparam("p_channel", type_=Text)
_VERSION = bindparam("p_version", type_=Integer)
_LOCALES = bindparam("p_locales", type_=ARRAY(Text))
_LOCALE = bindparam("p_locale", type_=Text)
_CATEGORY_OF_VERSION = and_(
    categories.c.application_id == templates.c.application_id, categories.c.key == template_versions.c.category
)
_CATEGORY_TRANSACTIONAL = select(categories.c.transactional).where(
    categories.c.application_id == _APPLICATION_ID, categories.c.key == bindparam("p_category", type_=Text)
)
_CATEGORY_COLUMNS = (
    categories.c.key,
    categories.c.name,
    categories.c.transactional,
    categories.c.created_at,
    categories.c.updated_at,
)
_NEW_CATEGORY = pg_insert(categories).values(
    application_id=_APPLICATION_ID,
    key=bindparam("p_key", type_=Text),
    name=bindparam("p_name", type_=Text),
    transactional=bindparam("p_transactional", type_=Boolean),
)
_PUT_CATEGORY = _NEW_CATEGORY.on_conflict_do_update(
    index_elements=[categories.c.application_id, categories.c.key],
    set_={
        "name": _NEW_CATEGORY.excluded.name,
        "transactional": _NEW_CATEGORY.excluded.transactional,
        "updated_at": func.now(),
    },
).returning(*_CATEGORY_COLUMNS, (literal_column("xmax") == literal_column("'0'")).label("created"))
"""Create or replace a category; ``created`` is true for an insert (PostgreSQL's ``xmax`` of a new row is 0)."""
_CATEGORIES = (
    select(*_CATEGORY_COLUMNS).where(categories.c.application_id == _APPLICATION_ID).order_by(categories.c.key)
)
_PURGE_CATEGORIES = delete(categories).where(categories.c.application_id == _APPLICATION_ID)
_NAMED = and_(
    _OF_APPLICATION, templates.c.slug == _SLUG, templates.c.channel == _CHANNEL, templates.c.locale == _LOCALE
)


def _with_version(active: bool) -> Select[Any]:
    """Templates left-joined to one version each: the active one, or the ``version`` parameter."""
    wanted = templates.c.active_version if active else _VERSION
    joined = templates.outerjoin(
        template_versions,
        and_(template_versions.c.template_id == templates.c.id, template_versions.c.version == wanted),
    ).outerjoin(categories, _CATEGORY_OF_VERSION)
    return select(*_COLUMNS).select_from(joined)


_GET = {active: _with_version(active).where(_NAMED) for active in (True, False)}
_RESOLVE = {
    active: _with_version(active)
    .where(_OF_APPLICATION, templates.c.slug == _SLUG, templates.c.channel == _CHANNEL)
    .where(templates.c.locale == any_(_LOCALES))
    .order_by(func.array_position(_LOCALES, templates.c.locale))
    .limit(1)
    for active in (True, False)
}
_NEXT_VERSION = templates.c.latest_version + 1
_ADD_VERSION = (
    update(templates)
    .where(_NAMED)
    .values(latest_version=_NEXT_VERSION, active_version=_NEXT_VERSION, updated_at=func.now())
    .returning(templates.c.id, templates.c.created_at, templates.c.latest_version)
)
_ACTIVATE = (
    update(templates)
    .where(
        _NAMED,
        exists().where(template_versions.c.template_id == templates.c.id, template_versions.c.version == _VERSION),
    )
    .values(active_version=_VERSION, updated_at=func.now())
    .returning(templates.c.id)
)
_TEMPLATE_ID = select(templates.c.id).where(_NAMED)
_DELETE = delete(templates).where(_NAMED).returning(templates.c.id)
_PURGE = (
    delete(templates)
    .where(templates.c.id.in_(select(templates.c.id).where(_OF_APPLICATION).limit(bindparam("p_limit"))))
    .returning(templates.c.id)
)
_VERSIONS = (
    select(*_COLUMNS)
    .select_from(
        templates.join(template_versions, template_versions.c.template_id == templates.c.id).outerjoin(
            categories, _CATEGORY_OF_VERSION
        )
    )
    .where(_NAMED)
    .order_by(template_versions.c.version)
)


def _category(row: Any) -> Category:
    return Category(row.key, row.name, row.transactional, row.created_at, row.updated_at)


async def _category_transactional(connection: AsyncConnection, application_id: uuid.UUID, key: str) -> bool:
    """Whether the application's category ``key`` is transactional; :class:`CategoryMissing` when it has none."""
    if key == TRANSACTIONAL:
        return True
    parameters = {"p_application_id": application_id, "p_category": key}
    found = (await connection.execute(_CATEGORY_TRANSACTIONAL, parameters)).first()
    if found is None:
        raise CategoryMissing(key)
    return bool(found.transactional)


def _found(row: Row[Any] | None, version: int) -> TemplateVersion | None:
    if row is None:
        return None
    if row.version is None:
        raise VersionMissing(version)
    return _record(row)


def _version_values(template_id: int, version: int, content: Content) -> dict[str, Any]:
    return {
        "template_id": template_id,
        "version": version,
        "subject": content.subject,
        "body": content.body,
        "html_body": content.html_body,
        "title": content.title,
        "data": content.data,
        "from_name": content.from_name,
        "from_email": content.from_email,
        "reply_to": content.reply_to,
        "category": content.category,
    }


class TemplateRepository:
    """Reads and writes templates and their versions."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def ping(self) -> None:
        """Raise when the database does not answer."""
        async with self._autocommit.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def create(self, application_id: uuid.UUID, key: TemplateKey, content: Content) -> TemplateVersion | None:
        """Version 1 of a new template of the application; None when the template exists already."""
        async with self._engine.begin() as connection:
            transactional = await _category_transactional(connection, application_id, content.category)
            inserted = pg_insert(templates).values(
                application_id=application_id,
                slug=key.slug,
                channel=key.channel,
                locale=key.locale,
                active_version=1,
                latest_version=1,
            )
            template = (
                await connection.execute(
                    inserted.on_conflict_do_nothing(constraint=UNIQUE_KEY).returning(
                        templates.c.id, templates.c.created_at
                    )
                )
            ).first()
            if template is None:
                return None
            return await self._add_version(connection, key, template, 1, content, transactional)

    async def update(self, application_id: uuid.UUID, key: TemplateKey, content: Content) -> TemplateVersion | None:
        """A new version, made active; None when the template does not exist."""
        async with self._engine.begin() as connection:
            template = (await connection.execute(_ADD_VERSION, _key(application_id, key))).first()
            if template is None:
                return None
            transactional = await _category_transactional(connection, application_id, content.category)
            return await self._add_version(connection, key, template, template.latest_version, content, transactional)

    @staticmethod
    async def _add_version(
        connection: AsyncConnection,
        key: TemplateKey,
        template: Row[Any],
        version: int,
        content: Content,
        transactional: bool,
    ) -> TemplateVersion:
        """Insert ``version`` of ``template`` (a row with its id and created_at); it is the active one."""
        added = await connection.execute(
            insert(template_versions)
            .values(_version_values(template.id, version, content))
            .returning(template_versions.c.created_at)
        )
        return TemplateVersion(key, version, version, content, template.created_at, added.scalar_one(), transactional)

    async def get(self, application_id: uuid.UUID, key: TemplateKey, version: int) -> TemplateVersion | None:
        """The version asked for (0: the active one); None when the template does not exist, and
        :class:`VersionMissing` when the version does not."""
        async with self._autocommit.connect() as connection:
            return await self._get(connection, application_id, key, version)

    @staticmethod
    async def _get(
        connection: AsyncConnection, application_id: uuid.UUID, key: TemplateKey, version: int
    ) -> TemplateVersion | None:
        parameters = {**_key(application_id, key), "p_version": version}
        row = (await connection.execute(_GET[not version], parameters)).first()
        return _found(row, version)

    async def resolve(
        self, application_id: uuid.UUID, slug: str, channel: str, locales: Sequence[str], version: int
    ) -> TemplateVersion | None:
        """In one query: the template of the first of ``locales`` that has one, at ``version`` (0: active);
        None when no locale has the template, :class:`VersionMissing` when the chosen one lacks the version."""
        parameters = {
            "p_application_id": application_id,
            "p_slug": slug,
            "p_channel": channel,
            "p_locales": list(locales),
            "p_version": version,
        }
        async with self._autocommit.connect() as connection:
            row = (await connection.execute(_RESOLVE[not version], parameters)).first()
        return _found(row, version)

    async def activate(self, application_id: uuid.UUID, key: TemplateKey, version: int) -> TemplateVersion | None:
        """Make ``version`` the active one; None when the template does not exist, :class:`VersionMissing`
        when the version does not."""
        named = _key(application_id, key)
        async with self._engine.begin() as connection:
            changed = await connection.execute(_ACTIVATE, {**named, "p_version": version})
            if changed.first() is None:
                template = (await connection.execute(_TEMPLATE_ID, named)).first()
                if template is None:
                    return None
                raise VersionMissing(version)
            return await self._get(connection, application_id, key, version)

    async def delete(self, application_id: uuid.UUID, key: TemplateKey) -> bool:
        """Delete the template with every version; False when it does not exist."""
        async with self._autocommit.connect() as connection:
            deleted = await connection.execute(_DELETE, _key(application_id, key))
            return deleted.first() is not None

    async def purge(self, application_id: uuid.UUID, limit: int) -> int:
        """Delete up to ``limit`` of the application's templates with every version; how many went."""
        async with self._autocommit.connect() as connection:
            deleted = len(
                (await connection.execute(_PURGE, {"p_application_id": application_id, "p_limit": limit})).all()
            )
            if deleted < limit:
                await connection.execute(_PURGE_CATEGORIES, {"p_application_id": application_id})
            return deleted

    async def put_category(
        self, application_id: uuid.UUID, key: str, name: str, transactional: bool
    ) -> tuple[Category, bool]:
        """Create or replace the application's category ``key``; it and whether it was created."""
        parameters = {
            "p_application_id": application_id,
            "p_key": key,
            "p_name": name,
            "p_transactional": transactional,
        }
        async with self._autocommit.connect() as connection:
            row = (await connection.execute(_PUT_CATEGORY, parameters)).one()
        return _category(row), row.created

    async def categories(self, application_id: uuid.UUID) -> list[Category]:
        """The application's stored categories by key (``transactional``, built in, is not among them)."""
        async with self._autocommit.connect() as connection:
            rows = (await connection.execute(_CATEGORIES, {"p_application_id": application_id})).all()
        return [_category(row) for row in rows]

    async def versions(self, application_id: uuid.UUID, key: TemplateKey) -> list[TemplateVersion] | None:
        """Every version, oldest first; None when the template does not exist."""
        async with self._autocommit.connect() as connection:
            rows = (await connection.execute(_VERSIONS, _key(application_id, key))).all()
        return [_record(row) for row in rows] or None

    async def page(
        self, application_id: uuid.UUID, channel: str | None, after: TemplateKey | None, size: int
    ) -> list[TemplateVersion]:
        """Up to ``size`` of the application's templates at their active version, in (slug, channel, locale)
        order, after ``after``."""
        query = _with_version(active=True).where(templates.c.application_id == application_id)
        if channel is not None:
            query = query.where(templates.c.channel == channel)
        if after is not None:
            query = query.where(
                tuple_(templates.c.slug, templates.c.channel, templates.c.locale)
                > tuple_(literal(after.slug), literal(after.channel), literal(after.locale))
            )
        query = query.order_by(templates.c.slug, templates.c.channel, templates.c.locale).limit(size)
        async with self._autocommit.connect() as connection:
            return [_record(row) for row in (await connection.execute(query)).all()]
