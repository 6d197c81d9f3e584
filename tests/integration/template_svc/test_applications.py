"""Applications isolate templates (docs/design.md §3): every RPC acts in its request's application, and a
template of another application is NOT_FOUND, exactly as if it did not exist."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aio_pika
import grpc
import pytest
from prometheus_client import REGISTRY

from common.applications import DEFAULT_APPLICATION_ID
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.template_svc.conftest import (
    create_email,
    new_slug,
    next_template_event,
    rpc_error,
    template_events_until,
    violations,
)
from tests.support.purges import REFUSED_PURGES


@dataclass(frozen=True)
class Owned:
    """An email template of application ``application_id`` with two versions (the second active)."""

    application_id: str
    template: pb.Template

    def named(self, application_id: str) -> dict[str, object]:
        """The fields that name this template, in ``application_id``."""
        return {
            "slug": self.template.slug,
            "channel": self.template.channel,
            "locale": self.template.locale,
            "application_id": application_id,
        }


Case = Callable[[pb_grpc.TemplateServiceStub, Owned, str], Awaitable[None]]

OWNED_CATEGORY = "news"
CONTENT = {"subject": "Hello {{ name }}", "body": "Hi {{ name }}"}


async def not_found(call: Awaitable[object]) -> None:
    error = await rpc_error(call)
    assert error.code() == grpc.StatusCode.NOT_FOUND, error.details()


async def get_template(templates: pb_grpc.TemplateServiceStub, owned: Owned, application_id: str) -> None:
    await not_found(templates.GetTemplate(pb.GetTemplateRequest(**owned.named(application_id))))
    await not_found(templates.GetTemplate(pb.GetTemplateRequest(**owned.named(application_id), version=1)))
    await not_found(templates.GetTemplate(pb.GetTemplateRequest(**owned.named(application_id), fallback=True)))


async def list_templates(templates: pb_grpc.TemplateServiceStub, owned: Owned, application_id: str) -> None:
    listed = await templates.ListTemplates(pb.ListTemplatesRequest(page_size=100, application_id=application_id))
    assert list(listed.templates) == []


async def update_template(templates: pb_grpc.TemplateServiceStub, owned: Owned, application_id: str) -> None:
    await not_found(templates.UpdateTemplate(pb.UpdateTemplateRequest(**owned.named(application_id), **CONTENT)))


async def list_versions(templates: pb_grpc.TemplateServiceStub, owned: Owned, application_id: str) -> None:
    await not_found(templates.ListTemplateVersions(pb.ListTemplateVersionsRequest(**owned.named(application_id))))


async def activate_version(templates: pb_grpc.TemplateServiceStub, owned: Owned, application_id: str) -> None:
    request = pb.ActivateTemplateVersionRequest(**owned.named(application_id), version=1)
    await not_found(templates.ActivateTemplateVersion(request))


async def delete_template(templates: pb_grpc.TemplateServiceStub, owned: Owned, application_id: str) -> None:
    await not_found(templates.DeleteTemplate(pb.DeleteTemplateRequest(**owned.named(application_id))))


async def render_template(templates: pb_grpc.TemplateServiceStub, owned: Owned, application_id: str) -> None:
    request = pb.RenderTemplateRequest(
        **owned.named(application_id), user=pb.RenderUser(name="Ada", email="ada@example.com", locale="en")
    )
    await not_found(templates.RenderTemplate(request))


async def purge(templates: pb_grpc.TemplateServiceStub, owned: Owned, application_id: str) -> None:
    request = pb.PurgeApplicationTemplatesRequest(application_id=application_id, limit=10)
    assert (await templates.PurgeApplicationTemplates(request)).deleted == 0


async def create_the_same_template(templates: pb_grpc.TemplateServiceStub, owned: Owned, application_id: str) -> None:
    # Last: from here on the other application has a template with this slug, its own.
    created = await templates.CreateTemplate(
        pb.CreateTemplateRequest(**owned.named(application_id), subject="Theirs", body="Theirs")
    )
    assert (created.template.version, created.template.subject) == (1, "Theirs")


async def list_categories(templates: pb_grpc.TemplateServiceStub, owned: Owned, application_id: str) -> None:
    listed = await templates.ListCategories(pb.ListCategoriesRequest(application_id=application_id))
    assert [category.key for category in listed.categories] == ["transactional"]


async def put_the_same_category(templates: pb_grpc.TemplateServiceStub, owned: Owned, application_id: str) -> None:
    category = pb.Category(key=OWNED_CATEGORY, name="Theirs", transactional=True)
    put = await templates.PutCategory(pb.PutCategoryRequest(application_id=application_id, category=category))
    assert (put.created, put.category.name) == (True, "Theirs")


IN_ANOTHER_APPLICATION: dict[str, Case] = {
    "ListCategories": list_categories,
    "PutCategory": put_the_same_category,
    "GetTemplate": get_template,
    "ListTemplates": list_templates,
    "UpdateTemplate": update_template,
    "ListTemplateVersions": list_versions,
    "ActivateTemplateVersion": activate_version,
    "DeleteTemplate": delete_template,
    "RenderTemplate": render_template,
    "PurgeApplicationTemplates": purge,
    "CreateTemplate": create_the_same_template,
}
"""What each RPC does, called in another application with the slug, channel and locale of the first's."""


def test_every_rpc_has_a_case_in_another_application() -> None:
    rpcs = {method.name for method in pb.DESCRIPTOR.services_by_name["TemplateService"].methods}
    assert set(IN_ANOTHER_APPLICATION) == rpcs


async def new_owned(templates: pb_grpc.TemplateServiceStub) -> Owned:
    application_id = str(uuid.uuid4())
    first = await create_email(templates, application_id=application_id)
    owned = Owned(application_id, first)
    category = pb.Category(key=OWNED_CATEGORY, name="Ours", transactional=False)
    await templates.PutCategory(pb.PutCategoryRequest(application_id=application_id, category=category))
    updated = await templates.UpdateTemplate(
        pb.UpdateTemplateRequest(
            **owned.named(application_id), subject="v2 {{ name }}", body="v2 {{ name }}", category=OWNED_CATEGORY
        )
    )
    return Owned(application_id, updated.template)


async def test_each_rpc_in_another_application_finds_nothing_and_changes_nothing(
    templates: pb_grpc.TemplateServiceStub,
) -> None:
    owned = await new_owned(templates)
    other = str(uuid.uuid4())

    for rpc, case in IN_ANOTHER_APPLICATION.items():
        try:
            await case(templates, owned, other)
        except AssertionError as error:
            raise AssertionError(f"{rpc} in another application: {error}") from error

    in_a = owned.named(owned.application_id)
    versions = await templates.ListTemplateVersions(pb.ListTemplateVersionsRequest(**in_a))
    assert [(version.version, version.active_version) for version in versions.versions] == [(1, 2), (2, 2)]
    assert (await templates.GetTemplate(pb.GetTemplateRequest(**in_a))).template == owned.template
    assert (owned.template.category, owned.template.transactional) == (OWNED_CATEGORY, False)
    ours = await templates.ListCategories(pb.ListCategoriesRequest(application_id=owned.application_id))
    assert [(c.key, c.name, c.transactional) for c in ours.categories] == [
        (OWNED_CATEGORY, "Ours", False),
        ("transactional", "Transactional", True),
    ]


async def test_the_same_calls_succeed_in_the_templates_application(templates: pb_grpc.TemplateServiceStub) -> None:
    owned = await new_owned(templates)
    in_a = owned.named(owned.application_id)

    listed = await templates.ListTemplates(pb.ListTemplatesRequest(page_size=100, application_id=owned.application_id))
    assert [template.slug for template in listed.templates] == [owned.template.slug]
    fallback = pb.GetTemplateRequest(**{**in_a, "locale": "en-GB"}, fallback=True)
    assert (await templates.GetTemplate(fallback)).template.version == 2
    activated = await templates.ActivateTemplateVersion(pb.ActivateTemplateVersionRequest(**in_a, version=1))
    assert activated.template.active_version == 1
    rendered = await templates.RenderTemplate(
        pb.RenderTemplateRequest(**in_a, variables={"name": "Ada"}, user=pb.RenderUser(name="Ada", locale="en"))
    )
    assert rendered.email.subject == "Hello Ada"
    await templates.DeleteTemplate(pb.DeleteTemplateRequest(**in_a))
    await not_found(templates.GetTemplate(pb.GetTemplateRequest(**in_a)))


async def test_one_slug_in_two_applications_is_two_templates(templates: pb_grpc.TemplateServiceStub) -> None:
    slug = new_slug("shared")
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    await create_email(templates, slug=slug, subject="First", application_id=first)
    await create_email(templates, slug=slug, subject="Second", application_id=second)

    taken = await rpc_error(create_email(templates, slug=slug, application_id=first))
    assert taken.code() == grpc.StatusCode.ALREADY_EXISTS
    for application_id, subject in ((first, "First"), (second, "Second")):
        request = pb.GetTemplateRequest(slug=slug, channel=pb.CHANNEL_EMAIL, application_id=application_id)
        assert (await templates.GetTemplate(request)).template.subject == subject


async def test_a_listing_pages_through_its_own_application_only(templates: pb_grpc.TemplateServiceStub) -> None:
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    slugs = sorted(new_slug(f"page{n}") for n in range(3))
    for slug in slugs:
        await create_email(templates, slug=slug, application_id=mine)
        await create_email(templates, slug=slug, application_id=theirs)

    seen: list[str] = []
    token = ""
    while True:
        page = await templates.ListTemplates(
            pb.ListTemplatesRequest(page_size=2, page_token=token, application_id=mine)
        )
        seen += [template.slug for template in page.templates]
        token = page.next_page_token
        if not token:
            break
    assert seen == slugs


def without_application(rpc: str) -> float:
    return REGISTRY.get_sample_value("template_svc_requests_without_application_total", {"rpc": rpc}) or 0.0


async def test_a_request_without_application_acts_in_the_default_one_and_is_counted(
    templates: pb_grpc.TemplateServiceStub,
) -> None:
    before = without_application("CreateTemplate"), without_application("GetTemplate")
    created = await create_email(templates)
    named = {"slug": created.slug, "channel": pb.CHANNEL_EMAIL}
    await templates.GetTemplate(pb.GetTemplateRequest(**named, application_id=str(DEFAULT_APPLICATION_ID)))
    assert (without_application("CreateTemplate"), without_application("GetTemplate")) == (before[0] + 1, before[1])
    await templates.GetTemplate(pb.GetTemplateRequest(**named))
    assert without_application("GetTemplate") == before[1] + 1


async def test_an_application_id_that_is_not_a_uuid_is_invalid(templates: pb_grpc.TemplateServiceStub) -> None:
    request = pb.GetTemplateRequest(slug="welcome", channel=pb.CHANNEL_EMAIL, application_id="acme")
    error = await rpc_error(templates.GetTemplate(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(error) == {"application_id": "must be a UUID"}


async def test_events_name_the_application(
    templates: pb_grpc.TemplateServiceStub, events: aio_pika.abc.AbstractQueue
) -> None:
    application_id = str(uuid.uuid4())
    mine = await create_email(templates, application_id=application_id)
    assert (await next_template_event(events, mine.slug)).application_id == application_id
    in_default = await create_email(templates)
    assert (await next_template_event(events, in_default.slug)).application_id == str(DEFAULT_APPLICATION_ID)


async def test_a_purge_deletes_the_applications_templates_in_batches_without_events(
    templates: pb_grpc.TemplateServiceStub, events: aio_pika.abc.AbstractQueue
) -> None:
    purged, kept = str(uuid.uuid4()), str(uuid.uuid4())
    doomed = [await create_email(templates, application_id=purged) for _ in range(3)]
    survivor = await create_email(templates, slug=doomed[0].slug, application_id=kept)
    await template_events_until(events, survivor.slug)
    await template_events_until(events, survivor.slug)  # the second with this slug: the survivor's

    counts = [
        (
            await templates.PurgeApplicationTemplates(
                pb.PurgeApplicationTemplatesRequest(application_id=purged, limit=2)
            )
        ).deleted
        for _ in range(3)
    ]

    assert counts == [2, 1, 0]
    for template in doomed:
        await not_found(
            templates.GetTemplate(
                pb.GetTemplateRequest(slug=template.slug, channel=pb.CHANNEL_EMAIL, application_id=purged)
            )
        )
    kept_request = pb.GetTemplateRequest(slug=survivor.slug, channel=pb.CHANNEL_EMAIL, application_id=kept)
    assert (await templates.GetTemplate(kept_request)).template == survivor
    marker = await create_email(templates, application_id=kept)
    published = await template_events_until(events, marker.slug)
    assert [(event.slug, event.kind) for event in published] == [(marker.slug, pb.CHANGE_KIND_CREATED)]


@pytest.mark.parametrize(("application_id", "limit", "field"), REFUSED_PURGES)
async def test_a_purge_names_an_application_other_than_the_default_and_a_sane_limit(
    templates: pb_grpc.TemplateServiceStub, application_id: str, limit: int, field: str
) -> None:
    request = pb.PurgeApplicationTemplatesRequest(application_id=application_id, limit=limit)
    error = await rpc_error(templates.PurgeApplicationTemplates(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(violations(error)) == [field]
