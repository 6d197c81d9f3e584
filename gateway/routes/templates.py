"""``/v1/templates``: versioned, localised templates through template_svc. Applications only."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from common.channels import Channel
from gateway.auth import Caller
from gateway.convert import rendered_body, template_body, variables_struct
from gateway.deps import ResourcesDep, requires
from gateway.drafts import render_draft
from gateway.errors import ProblemError
from gateway.resources import Resources
from gateway.routes.docs import AUTHENTICATED, WITH_BODY, problems
from gateway.schemas.notifications import LOCALE_PATTERN, SLUG_PATTERN, ChannelName
from gateway.schemas.templates import (
    RenderedTemplate,
    RenderRequest,
    Template,
    TemplateContent,
    TemplateCreate,
    TemplatePage,
    TemplateUpdate,
    TemplateVersions,
)
from gateway.scopes import Scope
from notification.v1 import notification_pb2 as pb

router = APIRouter(prefix="/v1/templates", tags=["templates"])

Slug = Annotated[str, Path(max_length=64, pattern=SLUG_PATTERN, description="The template's slug.")]
ChannelQuery = Annotated[ChannelName, Query(description="The template's channel.")]
LocaleQuery = Annotated[str, Query(max_length=35, pattern=LOCALE_PATTERN, description="The template's locale.")]
Version = Annotated[int, Path(ge=1, le=2_147_483_647)]


@contextlib.contextmanager
def _changing(resources: Resources, caller: Caller, slug: str, channel: str) -> Iterator[None]:
    """Around a template write: this gateway's cached versions of it are forgotten once the write is done (or
    failed: it may have happened all the same), so the next send here renders what was written; other gateways
    learn it from the TemplateChanged event."""
    try:
        yield
    finally:
        resources.templates.evict(str(caller.application_id), slug, channel)


async def _content(resources: Resources, caller: Caller, body: TemplateContent) -> dict[str, Any]:
    """The proto fields of a template's content, in the caller's application; 422 when ``from_email`` is not
    on one of the application's sending domains."""
    if body.from_email:
        domain = body.from_email.rpartition("@")[2].lower()
        if await resources.sending_domains.get(caller.application_id, domain) is None:
            raise ProblemError.field(
                "from_email",
                f"is on {domain}, which is not one of this application's sending domains: "
                f"PUT /v1/sending-domains/{domain} first",
            )
    return {
        "application_id": str(caller.application_id),
        "channel": Channel(body.channel).proto,
        "locale": body.locale,
        "subject": body.subject or "",
        "body": body.body,
        "html_body": body.html_body or "",
        "title": body.title or "",
        "data": body.data or {},
        "from_name": body.from_name or "",
        "from_email": body.from_email or "",
        "reply_to": body.reply_to or "",
        "category": body.category,
    }


@router.post(
    "",
    status_code=201,
    response_model=Template,
    summary="Create a template",
    responses=problems(
        *AUTHENTICATED,
        *WITH_BODY,
        409,
        descriptions={
            409: "The slug + channel + locale exists.",
            422: "A field is wrong or a part does not compile (`errors` gives the line).",
        },
    ),
)
async def create_template(
    body: TemplateCreate, caller: Annotated[Caller, requires(Scope.TEMPLATES_WRITE)], resources: ResourcesDep
) -> dict[str, Any]:
    """Version 1 of a template (email: `subject` + `body`; push: `title` + `body`)."""
    content = await _content(resources, caller, body)
    with _changing(resources, caller, body.slug, body.channel):
        reply = await resources.backends.templates.CreateTemplate(
            pb.CreateTemplateRequest(slug=body.slug, **content), timeout=resources.backends.timeout
        )
    return template_body(reply.template)


@router.get("", response_model=TemplatePage, summary="List templates", responses=problems(*AUTHENTICATED))
async def list_templates(
    caller: Annotated[Caller, requires(Scope.TEMPLATES_READ)],
    resources: ResourcesDep,
    channel: Annotated[ChannelName | None, Query(description="Only templates of this channel.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page.")] = None,
) -> dict[str, Any]:
    """The active version of every template, one page at a time."""
    reply = await resources.backends.templates.ListTemplates(
        pb.ListTemplatesRequest(
            application_id=str(caller.application_id),
            channel=Channel(channel).proto if channel else pb.CHANNEL_UNSPECIFIED,
            page_size=limit,
            page_token=cursor or "",
        ),
        timeout=resources.backends.timeout,
    )
    return {"items": [template_body(t) for t in reply.templates], "next_cursor": reply.next_page_token or None}


@router.get("/{slug}", response_model=Template, summary="Get a template", responses=problems(*AUTHENTICATED, 404))
async def get_template(
    slug: Slug,
    channel: ChannelQuery,
    caller: Annotated[Caller, requires(Scope.TEMPLATES_READ)],
    resources: ResourcesDep,
    locale: LocaleQuery = "en",
    version: Annotated[int | None, Query(ge=1, le=2_147_483_647, description="Default: the active one.")] = None,
) -> dict[str, Any]:
    """The active version of a template, or the version asked for."""
    reply = await resources.backends.templates.GetTemplate(
        pb.GetTemplateRequest(
            application_id=str(caller.application_id),
            slug=slug,
            channel=Channel(channel).proto,
            locale=locale,
            version=version or 0,
        ),
        timeout=resources.backends.timeout,
    )
    return template_body(reply.template)


@router.put(
    "/{slug}",
    response_model=Template,
    summary="Add a version of a template",
    responses=problems(*AUTHENTICATED, *WITH_BODY, 404),
)
async def update_template(
    slug: Slug,
    body: TemplateUpdate,
    caller: Annotated[Caller, requires(Scope.TEMPLATES_WRITE)],
    resources: ResourcesDep,
) -> dict[str, Any]:
    """A new version with this content, made active at once."""
    if body.slug is not None and body.slug != slug:
        raise ProblemError.field("slug", "does not match the slug in the path")
    content = await _content(resources, caller, body)
    with _changing(resources, caller, slug, body.channel):
        reply = await resources.backends.templates.UpdateTemplate(
            pb.UpdateTemplateRequest(slug=slug, **content), timeout=resources.backends.timeout
        )
    return template_body(reply.template)


@router.delete("/{slug}", status_code=204, summary="Delete a template", responses=problems(*AUTHENTICATED, 404))
async def delete_template(
    slug: Slug,
    channel: ChannelQuery,
    caller: Annotated[Caller, requires(Scope.TEMPLATES_WRITE)],
    resources: ResourcesDep,
    locale: LocaleQuery = "en",
) -> Response:
    """Delete every version of a template."""
    with _changing(resources, caller, slug, channel):
        await resources.backends.templates.DeleteTemplate(
            pb.DeleteTemplateRequest(
                application_id=str(caller.application_id), slug=slug, channel=Channel(channel).proto, locale=locale
            ),
            timeout=resources.backends.timeout,
        )
    return Response(status_code=204)


@router.get(
    "/{slug}/versions",
    response_model=TemplateVersions,
    summary="List a template's versions",
    responses=problems(*AUTHENTICATED, 404),
)
async def list_versions(
    slug: Slug,
    channel: ChannelQuery,
    caller: Annotated[Caller, requires(Scope.TEMPLATES_READ)],
    resources: ResourcesDep,
    locale: LocaleQuery = "en",
) -> dict[str, Any]:
    """Every version, oldest first."""
    reply = await resources.backends.templates.ListTemplateVersions(
        pb.ListTemplateVersionsRequest(
            application_id=str(caller.application_id), slug=slug, channel=Channel(channel).proto, locale=locale
        ),
        timeout=resources.backends.timeout,
    )
    return {"items": [template_body(t) for t in reply.versions]}


@router.post(
    "/{slug}/versions/{version}/activate",
    response_model=Template,
    summary="Make a version active",
    responses=problems(*AUTHENTICATED, 404, 409),
)
async def activate_version(
    slug: Slug,
    version: Version,
    channel: ChannelQuery,
    caller: Annotated[Caller, requires(Scope.TEMPLATES_WRITE)],
    resources: ResourcesDep,
    locale: LocaleQuery = "en",
) -> dict[str, Any]:
    """Roll back or forward to an existing version."""
    with _changing(resources, caller, slug, channel):
        reply = await resources.backends.templates.ActivateTemplateVersion(
            pb.ActivateTemplateVersionRequest(
                application_id=str(caller.application_id),
                slug=slug,
                channel=Channel(channel).proto,
                locale=locale,
                version=version,
            ),
            timeout=resources.backends.timeout,
        )
    return template_body(reply.template)


@router.post(
    "/{slug}/render",
    response_model=RenderedTemplate,
    summary="Preview a template",
    responses=problems(
        *AUTHENTICATED,
        *WITH_BODY,
        404,
        descriptions={422: "A variable is missing, or a rendered subject or title contains CR or LF."},
    ),
)
async def render_template(
    slug: Slug, body: RenderRequest, caller: Annotated[Caller, requires(Scope.TEMPLATES_READ)], resources: ResourcesDep
) -> dict[str, Any]:
    """Render with variables for a preview; the locale falls back `pt-BR` → `pt` → `en`. With `draft`, the
    draft's parts are rendered instead of a stored version."""
    if body.draft is not None:
        locale = body.locale or "en"
        return await render_draft(resources.renderer, body.channel, locale, body.draft, body.variables, body.user)
    variables = variables_struct(body.variables)
    user = body.user
    reply = await resources.backends.templates.RenderTemplate(
        pb.RenderTemplateRequest(
            application_id=str(caller.application_id),
            slug=slug,
            channel=Channel(body.channel).proto,
            locale=body.locale or "",
            version=body.version or 0,
            variables=variables,
            user=pb.RenderUser(name=user.name, email=user.email, locale=user.locale) if user else None,
        ),
        timeout=resources.backends.timeout,
    )
    return rendered_body(body.channel, reply)
