"""A template's renderable parts and the message its rendering becomes, for every service that renders:
template_svc (``RenderTemplate``) and the gateway (in-process, from cached template versions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from common.channels import Channel
from notification.v1 import notification_pb2 as pb


def template_parts(
    *, subject: str = "", body: str = "", html_body: str = "", title: str = "", data: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The renderable parts by field name (``data.<key>`` for each data entry), unused (empty) ones left out."""
    named = {"subject": subject, "body": body, "html_body": html_body, "title": title}
    parts = {name: source for name, source in named.items() if source}
    parts.update({f"data.{key}": source for key, source in (data or {}).items()})
    return parts


def rendered_response(
    channel: str, locale: str, version: int, data_keys: Iterable[str], rendered: Mapping[str, str]
) -> pb.RenderTemplateResponse:
    """The ``RenderTemplateResponse`` of a template of ``channel`` (``email``/``push``) rendered to ``rendered``
    (by part, as :func:`template_parts` names them)."""
    response = pb.RenderTemplateResponse(locale=locale, version=version)
    if channel == Channel.EMAIL:
        response.email.subject = rendered.get("subject", "")
        response.email.text_body = rendered.get("body", "")
        response.email.html_body = rendered.get("html_body", "")
    else:
        response.push.title = rendered.get("title", "")
        response.push.body = rendered.get("body", "")
        for key in data_keys:
            response.push.data[key] = rendered[f"data.{key}"]
    return response
