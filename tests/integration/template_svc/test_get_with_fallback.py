"""GetTemplate with ``fallback``: the template RenderTemplate would render, for callers that render in-process."""

from __future__ import annotations

import grpc

from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.template_svc.conftest import create_email, create_push, new_slug, rpc_error, violations


async def test_the_locale_falls_back_as_a_render_does(templates: pb_grpc.TemplateServiceStub) -> None:
    slug = new_slug("fallback")
    await create_email(templates, slug=slug, locale="en", subject="Hello")
    await create_email(templates, slug=slug, locale="pt", subject="Olá")

    async def found(locale: str) -> tuple[str, str]:
        reply = await templates.GetTemplate(
            pb.GetTemplateRequest(slug=slug, channel=pb.CHANNEL_EMAIL, locale=locale, fallback=True)
        )
        return reply.template.subject, reply.template.locale

    assert await found("pt_br") == ("Olá", "pt")
    assert await found("fr-CA") == ("Hello", "en")
    assert await found("") == ("Hello", "en")
    without = await rpc_error(
        templates.GetTemplate(pb.GetTemplateRequest(slug=slug, channel=pb.CHANNEL_EMAIL, locale="fr"))
    )
    assert without.code() == grpc.StatusCode.NOT_FOUND


async def test_it_returns_the_active_version_with_every_part(templates: pb_grpc.TemplateServiceStub) -> None:
    created = await create_push(templates, data={"url": "https://x/{{ id }}"})
    await templates.UpdateTemplate(
        pb.UpdateTemplateRequest(
            slug=created.slug, channel=pb.CHANNEL_PUSH, locale="en", title="T2", body="B2", data={"url": "{{ id }}"}
        )
    )
    reply = await templates.GetTemplate(
        pb.GetTemplateRequest(slug=created.slug, channel=pb.CHANNEL_PUSH, locale="en-GB", fallback=True)
    )
    assert (reply.template.version, reply.template.title, dict(reply.template.data)) == (2, "T2", {"url": "{{ id }}"})


async def test_unknown_templates_are_not_found_and_bad_locales_invalid(templates: pb_grpc.TemplateServiceStub) -> None:
    missing = await rpc_error(
        templates.GetTemplate(pb.GetTemplateRequest(slug=new_slug("none"), channel=pb.CHANNEL_EMAIL, fallback=True))
    )
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    assert "does not exist in any of the locales en" in (missing.details() or "")
    invalid = await rpc_error(
        templates.GetTemplate(
            pb.GetTemplateRequest(slug=new_slug("x"), channel=pb.CHANNEL_EMAIL, locale="not a locale", fallback=True)
        )
    )
    assert invalid.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "locale" in violations(invalid)
