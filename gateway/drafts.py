"""Rendering a template draft (parts not saved yet) in process, with the same sandboxed renderer and limits as
the gateway's sends: the preview of an editor as its author types (``POST /v1/templates/{slug}/render`` with
``draft``)."""

from __future__ import annotations

from typing import Any

from gateway.convert import renderable_variables, rendered_body
from gateway.errors import ProblemError
from gateway.schemas.templates import RenderUser, TemplateDraft
from templating import TemplateError, TemplateRenderer, render_context, rendered_response, template_parts

DRAFT_VERSION = 0
"""The version a rendered draft is answered as: it has none yet."""


async def render_draft(
    renderer: TemplateRenderer,
    channel: str,
    locale: str,
    draft: TemplateDraft,
    variables: dict[str, Any],
    user: RenderUser | None,
) -> dict[str, Any]:
    """The rendered draft as the render route answers it; 422 naming the part that does not compile, the
    variable it misses, or the subject or title that renders with a line break."""
    parts = template_parts(
        subject=draft.subject or "",
        body=draft.body,
        html_body=draft.html_body or "",
        title=draft.title or "",
        data=draft.data,
    )
    recipient = user.model_dump() if user is not None else {"name": "", "email": "", "locale": ""}
    try:
        rendered = await renderer.render(parts, render_context(renderable_variables(variables), recipient))
    except TemplateError as error:
        raise ProblemError.field(error.field, error.description) from None
    response = rendered_response(channel, locale, DRAFT_VERSION, (draft.data or {}).keys(), rendered)
    return rendered_body(channel, response)
