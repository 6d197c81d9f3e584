"""Creating, reading, versioning, activating, listing and deleting templates through the real server and the
generated stub, and the ``TemplateChanged`` event after every write."""

from __future__ import annotations

import aio_pika
import grpc
import pytest

from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.template_svc.conftest import (
    create_email,
    create_push,
    new_slug,
    next_template_event,
    rpc_error,
    violations,
)


async def test_create_returns_version_1_active(templates: pb_grpc.TemplateServiceStub) -> None:
    slug = new_slug()
    created = await create_email(templates, slug=slug, html_body="<p>Hi {{ name }}</p>")

    assert (created.slug, created.channel, created.locale) == (slug, pb.CHANNEL_EMAIL, "en")
    assert (created.version, created.active_version) == (1, 1)
    assert (created.subject, created.html_body) == ("Hello {{ name }}", "<p>Hi {{ name }}</p>")
    assert created.created_at.seconds > 0
    assert created.updated_at == created.created_at


async def test_an_empty_locale_means_the_default_and_locales_are_canonical(
    templates: pb_grpc.TemplateServiceStub,
) -> None:
    assert (await create_email(templates, locale="")).locale == "en"
    assert (await create_email(templates, locale="pt_br")).locale == "pt-BR"


async def test_every_update_adds_a_version_and_activates_it(templates: pb_grpc.TemplateServiceStub) -> None:
    created = await create_push(templates, data={"url": "https://x.test/{{ id }}"})
    key = {"slug": created.slug, "channel": pb.CHANNEL_PUSH, "locale": "en"}

    second = (
        await templates.UpdateTemplate(pb.UpdateTemplateRequest(**key, title="v2 {{ user.name }}", body="two"))
    ).template
    third = (await templates.UpdateTemplate(pb.UpdateTemplateRequest(**key, title="v3", body="three"))).template

    assert (second.version, second.active_version, dict(second.data)) == (2, 2, {})
    assert (third.version, third.active_version) == (3, 3)
    assert third.created_at == created.created_at
    versions = (await templates.ListTemplateVersions(pb.ListTemplateVersionsRequest(**key))).versions
    assert [(v.version, v.title, v.active_version) for v in versions] == [
        (1, "Hi {{ user.name }}", 3),
        (2, "v2 {{ user.name }}", 3),
        (3, "v3", 3),
    ]
    assert dict(versions[0].data) == {"url": "https://x.test/{{ id }}"}
    assert (await templates.GetTemplate(pb.GetTemplateRequest(**key))).template.version == 3
    assert (await templates.GetTemplate(pb.GetTemplateRequest(**key, version=1))).template.title == "Hi {{ user.name }}"


async def test_activate_rolls_back_and_forward(templates: pb_grpc.TemplateServiceStub) -> None:
    created = await create_email(templates, subject="one")
    key = {"slug": created.slug, "channel": pb.CHANNEL_EMAIL, "locale": "en"}
    await templates.UpdateTemplate(pb.UpdateTemplateRequest(**key, subject="two", body="b"))

    back = (await templates.ActivateTemplateVersion(pb.ActivateTemplateVersionRequest(**key, version=1))).template
    assert (back.version, back.active_version, back.subject) == (1, 1, "one")
    assert (await templates.GetTemplate(pb.GetTemplateRequest(**key))).template.subject == "one"

    forward = (await templates.ActivateTemplateVersion(pb.ActivateTemplateVersionRequest(**key, version=2))).template
    assert (forward.version, forward.subject) == (2, "two")

    third = await templates.UpdateTemplate(pb.UpdateTemplateRequest(**key, subject="three", body="b"))
    assert third.template.version == 3


async def test_activating_a_version_that_does_not_exist_is_not_found(templates: pb_grpc.TemplateServiceStub) -> None:
    created = await create_email(templates)
    key = {"slug": created.slug, "channel": pb.CHANNEL_EMAIL, "locale": "en"}

    error = await rpc_error(templates.ActivateTemplateVersion(pb.ActivateTemplateVersionRequest(**key, version=7)))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "no version 7" in (error.details() or "")
    error = await rpc_error(templates.ActivateTemplateVersion(pb.ActivateTemplateVersionRequest(**key, version=0)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "version" in violations(error)
    error = await rpc_error(templates.GetTemplate(pb.GetTemplateRequest(**key, version=9)))
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_delete_removes_every_version(templates: pb_grpc.TemplateServiceStub) -> None:
    created = await create_email(templates)
    key = {"slug": created.slug, "channel": pb.CHANNEL_EMAIL, "locale": "en"}
    await templates.UpdateTemplate(pb.UpdateTemplateRequest(**key, subject="two", body="b"))

    await templates.DeleteTemplate(pb.DeleteTemplateRequest(**key))

    for call in (
        templates.GetTemplate(pb.GetTemplateRequest(**key)),
        templates.GetTemplate(pb.GetTemplateRequest(**key, version=1)),
        templates.ListTemplateVersions(pb.ListTemplateVersionsRequest(**key)),
        templates.DeleteTemplate(pb.DeleteTemplateRequest(**key)),
        templates.UpdateTemplate(pb.UpdateTemplateRequest(**key, subject="s", body="b")),
    ):
        assert (await rpc_error(call)).code() == grpc.StatusCode.NOT_FOUND
    recreated = await create_email(templates, slug=created.slug)
    assert recreated.version == 1


async def test_the_same_slug_may_exist_per_channel_and_locale_but_not_twice(
    templates: pb_grpc.TemplateServiceStub,
) -> None:
    slug = new_slug()
    await create_email(templates, slug=slug)
    await create_email(templates, slug=slug, locale="pt-BR")
    await create_push(templates, slug=slug)

    error = await rpc_error(create_email(templates, slug=slug, locale="EN"))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert slug in (error.details() or "")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"slug": ""}, {"slug": "is required"}),
        ({"slug": "Welcome Mail"}, {"slug": "must be 1-64 lowercase"}),
        ({"slug": "-welcome"}, {"slug": "must be 1-64 lowercase"}),
        ({"slug": "x" * 65}, {"slug": "must be 1-64 lowercase"}),
        ({"channel": pb.CHANNEL_UNSPECIFIED}, {"channel": "must be CHANNEL_EMAIL or CHANNEL_PUSH"}),
        ({"locale": "english!"}, {"locale": "must be a locale tag"}),
        ({"subject": ""}, {"subject": "is required for email templates"}),
        ({"body": "  "}, {"body": "is required for email templates"}),
        ({"title": "t", "data": {"k": "v"}}, {"title": "is not used by email", "data": "is not used by email"}),
        ({"body": "x" * 70000}, {"body": "must be at most 65536 characters"}),
    ],
)
async def test_invalid_email_fields_name_the_field(
    templates: pb_grpc.TemplateServiceStub, fields: dict[str, object], expected: dict[str, str]
) -> None:
    error = await rpc_error(create_email(templates, **fields))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    found = violations(error)
    assert set(found) == set(expected)
    for field, start in expected.items():
        assert found[field].startswith(start), found


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"title": ""}, {"title": "is required for push templates"}),
        ({"body": ""}, {"body": "is required for push templates"}),
        ({"subject": "s", "html_body": "<p>"}, {"subject": "is not used by push", "html_body": "is not used by push"}),
        ({"data": {"google.x": "v", "from": "v", "bad key": "v"}}, {"data.google.x", "data.from", "data.bad key"}),
    ],
)
async def test_a_push_template_needs_a_title_and_a_body(
    templates: pb_grpc.TemplateServiceStub, fields: dict[str, object], expected: dict[str, str] | set[str]
) -> None:
    error = await rpc_error(create_push(templates, **fields))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(error)) == set(expected)


@pytest.mark.parametrize(
    ("fields", "field", "description"),
    [
        ({"body": "line one\n{% if %}"}, "body", "line 2: Expected an expression"),
        ({"subject": "{{ name "}, "subject", "line 1: unexpected end of template"),
        ({"html_body": "<p>\n\n{% for x in y %}"}, "html_body", "line 3: Unexpected end of template"),
        ({"body": "{{ x | no_such_filter }}"}, "body", "line 1: No filter named 'no_such_filter'"),
    ],
)
async def test_a_template_that_does_not_compile_is_refused_with_the_line_and_never_stored(
    templates: pb_grpc.TemplateServiceStub, fields: dict[str, object], field: str, description: str
) -> None:
    slug = new_slug()
    error = await rpc_error(create_email(templates, slug=slug, **fields))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    found = violations(error)
    assert list(found) == [field]
    assert found[field].startswith(description), found
    key = {"slug": slug, "channel": pb.CHANNEL_EMAIL, "locale": "en"}
    assert (await rpc_error(templates.GetTemplate(pb.GetTemplateRequest(**key)))).code() == grpc.StatusCode.NOT_FOUND


async def test_an_update_that_does_not_compile_keeps_the_active_version(
    templates: pb_grpc.TemplateServiceStub,
) -> None:
    created = await create_push(templates)
    key = {"slug": created.slug, "channel": pb.CHANNEL_PUSH, "locale": "en"}

    error = await rpc_error(
        templates.UpdateTemplate(pb.UpdateTemplateRequest(**key, title="ok", body="b", data={"url": "{{ x }"}))
    )

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(violations(error)) == ["data.url"]
    versions = (await templates.ListTemplateVersions(pb.ListTemplateVersionsRequest(**key))).versions
    assert [v.version for v in versions] == [1]


async def test_unknown_templates_are_not_found(templates: pb_grpc.TemplateServiceStub) -> None:
    key = {"slug": new_slug(), "channel": pb.CHANNEL_EMAIL, "locale": "en"}
    for call in (
        templates.GetTemplate(pb.GetTemplateRequest(**key)),
        templates.ListTemplateVersions(pb.ListTemplateVersionsRequest(**key)),
        templates.ActivateTemplateVersion(pb.ActivateTemplateVersionRequest(**key, version=1)),
        templates.DeleteTemplate(pb.DeleteTemplateRequest(**key)),
    ):
        error = await rpc_error(call)
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert key["slug"] in (error.details() or "")


async def test_listing_pages_through_every_template_filtered_by_channel(
    templates: pb_grpc.TemplateServiceStub,
) -> None:
    prefix = new_slug("list")
    for index in range(5):
        await create_email(templates, slug=f"{prefix}-{index}")
        await create_push(templates, slug=f"{prefix}-{index}")
    await templates.UpdateTemplate(
        pb.UpdateTemplateRequest(slug=f"{prefix}-2", channel=pb.CHANNEL_PUSH, locale="en", title="v2", body="b")
    )

    async def collect(channel: int) -> list[pb.Template]:
        seen: list[pb.Template] = []
        token = ""
        while True:
            page = await templates.ListTemplates(
                pb.ListTemplatesRequest(channel=channel, page_size=3, page_token=token)  # type: ignore[arg-type]
            )
            assert len(page.templates) <= 3
            seen.extend(page.templates)
            if not page.next_page_token:
                return [t for t in seen if t.slug.startswith(prefix)]
            token = page.next_page_token

    pushes = await collect(pb.CHANNEL_PUSH)
    assert [t.slug for t in pushes] == [f"{prefix}-{index}" for index in range(5)]
    assert {t.channel for t in pushes} == {pb.CHANNEL_PUSH}
    assert [(t.version, t.title) for t in pushes if t.slug.endswith("-2")] == [(2, "v2")]
    everything = await collect(pb.CHANNEL_UNSPECIFIED)
    assert len(everything) == 10
    keys = [(t.slug, t.channel, t.locale) for t in everything]
    assert keys == sorted(keys, key=lambda k: (k[0], "email" if k[1] == pb.CHANNEL_EMAIL else "push", k[2]))


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"page_token": "garbage!"}, "page_token"),
        ({"page_token": "WyJ4Il0"}, "page_token"),
        ({"page_size": -1}, "page_size"),
    ],
)
async def test_listing_refuses_a_bad_page_token_or_size(
    templates: pb_grpc.TemplateServiceStub, request_fields: dict[str, object], field: str
) -> None:
    error = await rpc_error(templates.ListTemplates(pb.ListTemplatesRequest(**request_fields)))  # type: ignore[arg-type]
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(violations(error)) == [field]


async def test_every_write_publishes_template_changed(
    templates: pb_grpc.TemplateServiceStub, events: aio_pika.abc.AbstractQueue
) -> None:
    created = await create_email(templates, locale="pt-BR")
    key = {"slug": created.slug, "channel": pb.CHANNEL_EMAIL, "locale": "pt-BR"}
    await templates.UpdateTemplate(pb.UpdateTemplateRequest(**key, subject="s", body="b"))
    await templates.ActivateTemplateVersion(pb.ActivateTemplateVersionRequest(**key, version=1))
    await templates.DeleteTemplate(pb.DeleteTemplateRequest(**key))

    seen = [await next_template_event(events, created.slug) for _ in range(4)]

    assert [(e.kind, e.active_version) for e in seen] == [
        (pb.CHANGE_KIND_CREATED, 1),
        (pb.CHANGE_KIND_UPDATED, 2),
        (pb.CHANGE_KIND_UPDATED, 1),
        (pb.CHANGE_KIND_DELETED, 0),
    ]
    assert {(e.channel, e.locale) for e in seen} == {(pb.CHANNEL_EMAIL, "pt-BR")}
    assert all(e.changed_at.seconds > 0 for e in seen)
