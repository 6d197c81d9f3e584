"""A template's renderable parts and the message its rendering becomes, for every service that renders:
template_svc (``RenderTemplate``) and the gateway (in-process, from cached template versions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class Sender:
    """An email template's sender (not rendered: plain values); empty: the deployment's default sender."""

    name: str = ""
    email: str = ""
    reply_to: str = ""

    @classmethod
    def of(cls, template: pb.Template) -> Sender:
        return cls(template.from_name, template.from_email, template.reply_to)


def rendered_response(
    channel: str,
    locale: str,
    version: int,
    data_keys: Iterable[str],
    rendered: Mapping[str, str],
    sender: Sender = Sender(),
) -> pb.RenderTemplateResponse:
    """The ``RenderTemplateResponse`` of a template of ``channel`` (``email``/``push``) rendered to ``rendered``
    (by part, as :func:`template_parts` names them), an email with its ``sender``."""
    response = pb.RenderTemplateResponse(locale=locale, version=version)
    if channel == Channel.EMAIL:
        response.email.from_name = sender.name
        response.email.from_email = sender.email
        response.email.reply_to = sender.reply_to
        response.email.subject = rendered.get("subject", "")
        response.email.text_body = rendered.get("body", "")
        response.email.html_body = rendered.get("html_body", "")
    else:
        response.push.title = rendered.get("title", "")
        response.push.body = rendered.get("body", "")
        for key in data_keys:
            response.push.data[key] = rendered[f"data.{key}"]
    return response
