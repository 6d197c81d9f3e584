"""RenderTemplate through the real server: variables and the recipient, escaping, locale fallback, versions,
the sandbox refusing escapes and runaway work, and the compile-once cache."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.template_svc.conftest import (
    RENDER_THREADS,
    RENDER_TIMEOUT_SECONDS,
    create_email,
    create_push,
    new_slug,
    rpc_error,
    violations,
)
from tests.support.template_service import RunningTemplateService

ADA = pb.RenderUser(name="Ada", email="ada@example.com", locale="en")


def struct(values: dict[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(values)
    return result


async def render(
    templates: pb_grpc.TemplateServiceStub,
    slug: str,
    channel: int = pb.CHANNEL_EMAIL,
    variables: dict[str, Any] | None = None,
    **fields: Any,
) -> pb.RenderTemplateResponse:
    """Render with ``variables`` (default: just ``name``, which the default subject uses)."""
    fields.setdefault("user", ADA)
    values = {"name": "Ada"} if variables is None else variables
    request = pb.RenderTemplateRequest(slug=slug, channel=channel, variables=struct(values), **fields)  # type: ignore[arg-type]
    return await templates.RenderTemplate(request)


async def test_render_an_email_with_variables_and_the_recipient(templates: pb_grpc.TemplateServiceStub) -> None:
    created = await create_email(
        templates,
        subject="Welcome, {{ user.name }}!",
        body="Hi {{ name }}, you have {{ count }} items: {% for i in items %}{{ i.sku }} {% endfor %}"
        "({{ user.email }})",
        html_body="<p>{{ name }} in {{ user.locale }}</p>",
    )

    rendered = await render(
        templates, created.slug, variables={"name": "Ada", "count": 3, "items": [{"sku": "a1"}, {"sku": "b2"}]}
    )

    assert rendered.WhichOneof("content") == "email"
    assert rendered.email.subject == "Welcome, Ada!"
    assert rendered.email.text_body == "Hi Ada, you have 3 items: a1 b2 (ada@example.com)"
    assert rendered.email.html_body == "<p>Ada in en</p>"
    assert (rendered.locale, rendered.version) == ("en", 1)


async def test_render_a_push_with_data(templates: pb_grpc.TemplateServiceStub) -> None:
    created = await create_push(templates, data={"url": "https://app.test/m/{{ id }}", "kind": "message"})

    rendered = await render(templates, created.slug, pb.CHANNEL_PUSH, {"count": 2, "id": 42})

    assert rendered.WhichOneof("content") == "push"
    assert (rendered.push.title, rendered.push.body) == ("Hi Ada", "You have 2 new messages")
    assert dict(rendered.push.data) == {"url": "https://app.test/m/42", "kind": "message"}


async def test_html_bodies_are_autoescaped_and_text_parts_are_not(templates: pb_grpc.TemplateServiceStub) -> None:
    created = await create_email(
        templates, subject="{{ name }}", body="{{ name }}", html_body="<b>{{ name }}</b>{{ note|safe }}"
    )
    name = "<script>alert('x')</script> & co"

    rendered = await render(templates, created.slug, variables={"name": name, "note": "<i>ok</i>"})

    assert rendered.email.text_body == name
    assert rendered.email.subject == name
    assert rendered.email.html_body == ("<b>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co</b><i>ok</i>")


@pytest.mark.parametrize(
    ("body", "variables", "field"),
    [
        ("Hi {{ name }}", {}, "variables.name"),
        ("Hi\n{{ order.total }}", {"order": {"id": 1}}, "variables.order.total"),
        ("{% for i in items %}{{ i.sku }}{% endfor %}", {"items": [{"sku": 1}, {}]}, "variables.items[1].sku"),
        ("{{ user.nickname }}", {}, "user.nickname"),
    ],
)
async def test_a_missing_variable_is_invalid_argument_naming_it(
    templates: pb_grpc.TemplateServiceStub, body: str, variables: dict[str, Any], field: str
) -> None:
    created = await create_email(templates, body=body, subject="s")

    error = await rpc_error(render(templates, created.slug, variables=variables))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(violations(error)) == [field]
    assert "body line" in violations(error)[field]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{{ ''.__class__.__mro__ }}", "access to attribute '__class__' of 'str' object is unsafe"),
        ("{{ ''.__class__.__subclasses__() }}", "access to attribute '__class__' of 'str' object is unsafe"),
        ("{{ cycler.__init__.__globals__ }}", "access to attribute '__init__' of 'type' object is unsafe"),
        ("{{ name.__class__.__base__.__subclasses__() }}", "unsafe"),
        ("{{ [].append(1) }}", "unsafe"),
        ("{{ 'a' * 100000000 }}", "repeating a sequence with * would produce 100000000 characters"),
        ("{{ 9 ** (9 ** 9) }}", "the power would have more than"),
        ("{{ '%0999999999d' % 1 }}", "% formatting would produce"),
        ("{{ '{:>999999999}'.format(1) }}", "str.format would produce"),
        ("{{ 'x'.center(999999999) }}", "center() would produce"),
        ("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", "~"),
    ],
)
async def test_sandbox_escapes_and_bombs_are_refused(
    templates: pb_grpc.TemplateServiceStub, body: str, message: str
) -> None:
    created = await create_email(templates, body=body)

    started = time.perf_counter()
    error = await rpc_error(render(templates, created.slug, variables={"name": "Ada"}))

    assert time.perf_counter() - started < RENDER_TIMEOUT_SECONDS
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(violations(error)) == ["body"]
    description = violations(error)["body"]
    assert description.startswith("line 1: ")
    assert message in description


async def test_jinja_powers_associate_left_so_9_9_9_is_a_small_number(
    templates: pb_grpc.TemplateServiceStub,
) -> None:
    created = await create_email(templates, body="{{ 9 ** 9 ** 9 }}")
    rendered = await render(templates, created.slug)
    assert rendered.email.text_body == str((9**9) ** 9)


async def test_output_past_the_cap_is_refused(
    templates: pb_grpc.TemplateServiceStub, template_service: RunningTemplateService
) -> None:
    created = await create_email(templates, body="{% for i in range(100000) %}{{ 'xxxxxxxxxx' }}{% endfor %}")

    error = await rpc_error(render(templates, created.slug))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    limit = template_service.settings.max_output_chars
    assert violations(error) == {"body": f"renders more than {limit} characters"}


RUNAWAY_LOOPS = [
    # the sandbox's own deadline check stops this one (range() is a call it sees)
    "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    # this one calls nothing the sandbox sees: the exception injected into the render thread stops it
    "{% for a in xs %}{% for b in xs %}{% for c in xs %}{% endfor %}{% endfor %}{% endfor %}",
]


@pytest.mark.parametrize("body", RUNAWAY_LOOPS)
async def test_a_runaway_loop_is_stopped_and_the_server_stays_responsive(
    templates: pb_grpc.TemplateServiceStub, template_service: RunningTemplateService, body: str
) -> None:
    quick = await create_email(templates)
    slow = await create_email(templates, body=body)
    health = health_pb2_grpc.HealthStub(grpc.aio.insecure_channel(template_service.target))

    started = time.perf_counter()
    runaways = [asyncio.create_task(render_error(templates, slow.slug)) for _ in range(RENDER_THREADS + 1)]
    await asyncio.sleep(0.05)
    for _ in range(3):
        before = time.perf_counter()
        assert (await health.Check(health_pb2.HealthCheckRequest())).status == health_pb2.HealthCheckResponse.SERVING
        assert (await templates.GetTemplate(pb.GetTemplateRequest(slug=quick.slug, channel=pb.CHANNEL_EMAIL))).template
        assert time.perf_counter() - before < 0.2
    errors = await asyncio.gather(*runaways)

    assert time.perf_counter() - started < RENDER_TIMEOUT_SECONDS + 0.5
    for error in errors:
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert violations(error) == {
            "body": f"took longer than the time limit of {RENDER_TIMEOUT_SECONDS:g}s and was stopped"
        }
    # every render thread is free again: renders that need them all succeed at once
    before = time.perf_counter()
    results = await asyncio.gather(*(render(templates, quick.slug, variables={"name": "x"}) for _ in range(4)))
    assert {r.email.subject for r in results} == {"Hello x"}
    assert time.perf_counter() - before < RENDER_TIMEOUT_SECONDS


async def render_error(templates: pb_grpc.TemplateServiceStub, slug: str) -> grpc.aio.AioRpcError:
    return await rpc_error(render(templates, slug, variables={"name": "Ada", "xs": list(range(1000))}))


@pytest.mark.parametrize("name", ["Ada\r\nBcc: victim@example.com", "Ada\nX", "Ada\rX"])
async def test_a_subject_or_title_with_cr_or_lf_is_refused(templates: pb_grpc.TemplateServiceStub, name: str) -> None:
    email = await create_email(templates, subject="Hello {{ name }}")
    push = await create_push(templates, title="Hi {{ name }}")

    email_error = await rpc_error(render(templates, email.slug, variables={"name": name}))
    push_error = await rpc_error(render(templates, push.slug, pb.CHANNEL_PUSH, {"name": name, "count": 1}))

    assert email_error.code() == push_error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(violations(email_error)) == ["subject"]
    assert list(violations(push_error)) == ["title"]
    assert "line break" in violations(email_error)["subject"]


async def test_a_trailing_newline_in_the_subject_source_is_not_a_line_break(
    templates: pb_grpc.TemplateServiceStub,
) -> None:
    created = await create_email(templates, subject="Hello {{ name }}\n", body="a\nb\n")
    rendered = await render(templates, created.slug, variables={"name": "Ada"})
    assert (rendered.email.subject, rendered.email.text_body) == ("Hello Ada", "a\nb")


async def test_locale_falls_back_from_region_to_language_to_the_default(
    templates: pb_grpc.TemplateServiceStub,
) -> None:
    slug = new_slug("locale")
    await create_email(templates, slug=slug, locale="en", subject="Hello")
    await create_email(templates, slug=slug, locale="pt", subject="Olá")
    await create_email(templates, slug=slug, locale="pt-BR", subject="Oi")

    async def subject_and_locale(**fields: Any) -> tuple[str, str]:
        rendered = await render(templates, slug, variables={"name": "x"}, **fields)
        return rendered.email.subject, rendered.locale

    assert await subject_and_locale(locale="pt-BR") == ("Oi", "pt-BR")
    assert await subject_and_locale(locale="pt_br") == ("Oi", "pt-BR")
    assert await subject_and_locale(locale="pt-PT") == ("Olá", "pt")
    assert await subject_and_locale(locale="pt") == ("Olá", "pt")
    assert await subject_and_locale(locale="fr-CA") == ("Hello", "en")
    assert await subject_and_locale(locale="") == ("Hello", "en")
    assert await subject_and_locale(locale="", user=pb.RenderUser(name="A", locale="pt-BR")) == ("Oi", "pt-BR")


async def test_no_locale_in_the_chain_or_an_unknown_slug_is_not_found(templates: pb_grpc.TemplateServiceStub) -> None:
    created = await create_email(templates, locale="de")

    for slug, locale in ((created.slug, "fr"), (created.slug, "de-AT-x"), (new_slug(), "en")):
        if locale == "de-AT-x":
            rendered = await render(templates, slug, variables={"name": "x"}, locale=locale)
            assert rendered.locale == "de"
            continue
        error = await rpc_error(render(templates, slug, variables={"name": "x"}, locale=locale))
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert "en" in (error.details() or "")


async def test_render_a_given_version_or_the_active_one(templates: pb_grpc.TemplateServiceStub) -> None:
    created = await create_email(templates, subject="v1 {{ name }}")
    key = {"slug": created.slug, "channel": pb.CHANNEL_EMAIL, "locale": "en"}
    await templates.UpdateTemplate(pb.UpdateTemplateRequest(**key, subject="v2 {{ name }}", body="b"))

    async def subject(version: int) -> tuple[str, int]:
        rendered = await render(templates, created.slug, variables={"name": "x"}, version=version)
        return rendered.email.subject, rendered.version

    assert await subject(0) == ("v2 x", 2)
    assert await subject(1) == ("v1 x", 1)
    await templates.ActivateTemplateVersion(pb.ActivateTemplateVersionRequest(**key, version=1))
    assert await subject(0) == ("v1 x", 1)
    error = await rpc_error(render(templates, created.slug, version=3))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "no version 3" in (error.details() or "")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"channel": pb.CHANNEL_UNSPECIFIED}, "channel"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"locale": "??"}, "locale"),
        ({"user": pb.RenderUser(locale="!!")}, "user.locale"),
        ({"version": -1}, "version"),
    ],
)
async def test_render_refuses_bad_fields(
    templates: pb_grpc.TemplateServiceStub, fields: dict[str, Any], field: str
) -> None:
    values: dict[str, Any] = {"slug": new_slug(), "channel": pb.CHANNEL_EMAIL, **fields}
    error = await rpc_error(templates.RenderTemplate(pb.RenderTemplateRequest(**values)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(violations(error)) == [field]


async def test_rendering_the_same_version_again_compiles_nothing(
    templates: pb_grpc.TemplateServiceStub, template_service: RunningTemplateService
) -> None:
    renderer = template_service.service.renderer
    unique = new_slug()  # compiled templates are cached by content: use content no other test has
    created = await create_email(
        templates, slug=unique, subject="c {{ name }}" + unique, body="{{ name }}" + unique, html_body="<p>" + unique
    )
    key = {"slug": created.slug, "channel": pb.CHANNEL_EMAIL, "locale": "en"}

    compiles = renderer.compiles
    for name in ("a", "b", "c"):
        assert (await render(templates, created.slug, variables={"name": name})).email.subject == f"c {name}{unique}"
    assert renderer.compiles == compiles

    await templates.UpdateTemplate(pb.UpdateTemplateRequest(**key, subject="v2" + unique, body="v2 body" + unique))
    assert renderer.compiles == compiles + 2
    for version in (0, 2, 0):
        await render(templates, created.slug, variables={"name": "x"}, version=version)
    assert renderer.compiles == compiles + 2
