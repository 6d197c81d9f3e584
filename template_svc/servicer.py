"""``notification.v1.TemplateService``: versioned, localised templates, rendered in the sandbox. Every call acts
in the request's application (a template of another application is NOT_FOUND, as if it did not exist), and
every write publishes ``TemplateChanged``; a purge publishes none. Errors are raised as ``common.grpc.errors``
and mapped by the server."""

from __future__ import annotations

import uuid

from grpc.aio import ServicerContext

from common.amqp.events import publish_change
from common.amqp.publisher import Publisher
from common.channels import Channel
from common.grpc.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound
from common.page_tokens import page_size
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from template_svc import validation
from template_svc.locales import fallback_chain
from template_svc.messages import BUILT_IN_CATEGORY, category_message, now, template_message
from template_svc.pagination import decode_page_token, encode_page_token
from template_svc.repository import (
    CategoryMissing,
    Content,
    TemplateKey,
    TemplateRepository,
    TemplateVersion,
    VersionMissing,
)
from templating import (
    Sender,
    TemplateError,
    TemplateRenderer,
    render_context,
    rendered_response,
    variables_from_struct,
)


def _not_found(key: TemplateKey) -> NotFound:
    return NotFound(f"template {key} does not exist")


def _version_not_found(key: TemplateKey, error: VersionMissing) -> NotFound:
    return NotFound(f"template {key} has no version {error.version}")


def _key_of(category: pb.Category) -> str:
    return category.key


def _category_missing(error: CategoryMissing) -> InvalidArgument:
    return InvalidArgument.field(
        "category", f"{error.key!r} does not exist: create it with PUT /v1/categories/{error.key}"
    )


def _invalid(error: TemplateError) -> InvalidArgument:
    return InvalidArgument.field(error.field, error.description)


class TemplateServicer(pb_grpc.TemplateServiceServicer):
    """The TemplateService RPCs over the repository, the renderer and the event publisher."""

    def __init__(
        self, repository: TemplateRepository, renderer: TemplateRenderer, publisher: Publisher, default_locale: str
    ) -> None:
        self._repository = repository
        self._renderer = renderer
        self._publisher = publisher
        self._default_locale = default_locale

    async def _compiled_content(
        self, channel: str, request: pb.CreateTemplateRequest | pb.UpdateTemplateRequest
    ) -> Content:
        content = validation.content(channel, request)
        try:
            errors = await self._renderer.check(content.parts())
        except TemplateError as error:
            raise _invalid(error) from None
        if errors:
            violations = [FieldViolation(error.field, error.description) for error in errors]
            raise InvalidArgument("; ".join(str(error) for error in errors), violations)
        return content

    async def _changed(
        self, application_id: uuid.UUID, key: TemplateKey, active_version: int, kind: pb.ChangeKind
    ) -> None:
        event = pb.TemplateChanged(
            application_id=str(application_id),
            slug=key.slug,
            channel=Channel(key.channel).proto,
            locale=key.locale,
            active_version=active_version,
            kind=kind,
            changed_at=now(),
        )
        await publish_change(self._publisher, event)

    async def CreateTemplate(
        self, request: pb.CreateTemplateRequest, context: ServicerContext
    ) -> pb.CreateTemplateResponse:
        application_id = validation.application_id(request)
        key = validation.template_key(request, self._default_locale)
        content = await self._compiled_content(key.channel, request)
        try:
            created = await self._repository.create(application_id, key, content)
        except CategoryMissing as error:
            raise _category_missing(error) from None
        if created is None:
            raise AlreadyExists(f"template {key} exists already")
        await self._changed(application_id, key, created.active_version, pb.CHANGE_KIND_CREATED)
        return pb.CreateTemplateResponse(template=template_message(created))

    async def GetTemplate(self, request: pb.GetTemplateRequest, context: ServicerContext) -> pb.GetTemplateResponse:
        application_id = validation.application_id(request)
        if request.fallback:
            resolved = await self._resolve(
                application_id,
                validation.slug(request.slug),
                validation.channel(request.channel),
                validation.locale(request.locale, self._default_locale),
                validation.version(request.version),
            )
            return pb.GetTemplateResponse(template=template_message(resolved))
        key = validation.template_key(request, self._default_locale)
        version = validation.version(request.version)
        try:
            found = await self._repository.get(application_id, key, version)
        except VersionMissing as error:
            raise _version_not_found(key, error) from None
        if found is None:
            raise _not_found(key)
        return pb.GetTemplateResponse(template=template_message(found))

    async def ListTemplates(
        self, request: pb.ListTemplatesRequest, context: ServicerContext
    ) -> pb.ListTemplatesResponse:
        application_id = validation.application_id(request)
        channel = validation.optional_channel(request.channel)
        try:
            size = page_size(request.page_size)
        except ValueError as error:
            raise InvalidArgument.field("page_size", str(error)) from None
        try:
            after = decode_page_token(request.page_token)
        except ValueError as error:
            raise InvalidArgument.field("page_token", str(error)) from None
        found = await self._repository.page(application_id, channel, after, size + 1)
        page, more = found[:size], len(found) > size
        return pb.ListTemplatesResponse(
            templates=[template_message(record) for record in page],
            next_page_token=encode_page_token(page[-1].key) if more else "",
        )

    async def UpdateTemplate(
        self, request: pb.UpdateTemplateRequest, context: ServicerContext
    ) -> pb.UpdateTemplateResponse:
        application_id = validation.application_id(request)
        key = validation.template_key(request, self._default_locale)
        content = await self._compiled_content(key.channel, request)
        try:
            updated = await self._repository.update(application_id, key, content)
        except CategoryMissing as error:
            raise _category_missing(error) from None
        if updated is None:
            raise _not_found(key)
        await self._changed(application_id, key, updated.active_version, pb.CHANGE_KIND_UPDATED)
        return pb.UpdateTemplateResponse(template=template_message(updated))

    async def ListTemplateVersions(
        self, request: pb.ListTemplateVersionsRequest, context: ServicerContext
    ) -> pb.ListTemplateVersionsResponse:
        application_id = validation.application_id(request)
        key = validation.template_key(request, self._default_locale)
        versions = await self._repository.versions(application_id, key)
        if versions is None:
            raise _not_found(key)
        return pb.ListTemplateVersionsResponse(versions=[template_message(record) for record in versions])

    async def ActivateTemplateVersion(
        self, request: pb.ActivateTemplateVersionRequest, context: ServicerContext
    ) -> pb.ActivateTemplateVersionResponse:
        application_id = validation.application_id(request)
        key = validation.template_key(request, self._default_locale)
        version = validation.version(request.version, required=True)
        try:
            activated = await self._repository.activate(application_id, key, version)
        except VersionMissing as error:
            raise _version_not_found(key, error) from None
        if activated is None:
            raise _not_found(key)
        await self._changed(application_id, key, activated.active_version, pb.CHANGE_KIND_UPDATED)
        return pb.ActivateTemplateVersionResponse(template=template_message(activated))

    async def DeleteTemplate(
        self, request: pb.DeleteTemplateRequest, context: ServicerContext
    ) -> pb.DeleteTemplateResponse:
        application_id = validation.application_id(request)
        key = validation.template_key(request, self._default_locale)
        if not await self._repository.delete(application_id, key):
            raise _not_found(key)
        await self._changed(application_id, key, 0, pb.CHANGE_KIND_DELETED)
        return pb.DeleteTemplateResponse()

    async def RenderTemplate(
        self, request: pb.RenderTemplateRequest, context: ServicerContext
    ) -> pb.RenderTemplateResponse:
        application_id = validation.application_id(request)
        slug = validation.slug(request.slug)
        channel = validation.channel(request.channel)
        version = validation.version(request.version)
        if request.locale:
            wanted = validation.locale(request.locale, self._default_locale)
        else:
            wanted = validation.locale(request.user.locale, self._default_locale, field="user.locale")
        found = await self._resolve(application_id, slug, channel, wanted, version)
        user = {"name": request.user.name, "email": request.user.email, "locale": request.user.locale}
        try:
            rendered = await self._renderer.render(
                found.content.parts(), render_context(variables_from_struct(request.variables), user)
            )
        except TemplateError as error:
            raise _invalid(error) from None
        return _rendered_message(found, rendered)

    async def PurgeApplicationTemplates(
        self, request: pb.PurgeApplicationTemplatesRequest, context: ServicerContext
    ) -> pb.PurgeApplicationTemplatesResponse:
        application_id = validation.purged_application_id(request.application_id)
        limit = validation.purge_limit(request.limit)
        deleted = await self._repository.purge(application_id, limit)
        return pb.PurgeApplicationTemplatesResponse(deleted=deleted)

    async def PutCategory(self, request: pb.PutCategoryRequest, context: ServicerContext) -> pb.PutCategoryResponse:
        application_id = validation.application_id(request)
        key, name, transactional = validation.category(request.category)
        category, created = await self._repository.put_category(application_id, key, name, transactional)
        return pb.PutCategoryResponse(category=category_message(category), created=created)

    async def ListCategories(
        self, request: pb.ListCategoriesRequest, context: ServicerContext
    ) -> pb.ListCategoriesResponse:
        application_id = validation.application_id(request)
        stored = await self._repository.categories(application_id)
        listed = [BUILT_IN_CATEGORY, *(category_message(record) for record in stored)]
        listed.sort(key=_key_of)
        return pb.ListCategoriesResponse(categories=listed)

    async def _resolve(
        self, application_id: uuid.UUID, slug: str, channel: str, wanted: str, version: int
    ) -> TemplateVersion:
        """The template in the first locale of ``wanted``'s fallback chain that has one; NOT_FOUND otherwise."""
        locales = fallback_chain(wanted, self._default_locale)
        try:
            found = await self._repository.resolve(application_id, slug, channel, locales, version)
        except VersionMissing as error:
            raise NotFound(f"template {slug}/{channel} has no version {error.version}") from None
        if found is None:
            raise NotFound(f"template {slug}/{channel} does not exist in any of the locales {', '.join(locales)}")
        return found


def _rendered_message(found: TemplateVersion, rendered: dict[str, str]) -> pb.RenderTemplateResponse:
    content = found.content
    sender = Sender(content.from_name, content.from_email, content.reply_to)
    response = rendered_response(found.key.channel, found.key.locale, found.version, content.data, rendered, sender)
    response.category = found.content.category
    response.transactional = found.transactional
    return response
