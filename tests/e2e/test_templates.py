"""Template versions through the whole stack: a new version changes what the next send renders, and
activating the old one rolls it back."""

from __future__ import annotations

from tests.e2e.api import Api, Mailbox, unique


async def test_a_rollback_changes_what_the_next_send_renders(api: Api, mailbox: Mailbox) -> None:
    slug = unique("digest")
    first = await api.create_template(slug=slug, channel="email", subject="Digest v1 for {{ name }}", body="one")
    assert (first["version"], first["active_version"]) == (1, 1)
    updated = await api.http.put(
        f"/v1/templates/{slug}", json={"channel": "email", "subject": "Digest v2 for {{ name }}", "body": "two"}
    )
    assert updated.status_code == 200, updated.text
    assert (updated.json()["version"], updated.json()["active_version"]) == (2, 2)
    user = await api.create_user()
    send = {"user_id": user["id"], "channel": "email", "template": slug, "variables": {"name": "Ada"}}

    newer = await api.send_queued(**send)
    await api.wait_for_status(newer, "delivered")
    rolled_back = await api.http.post(f"/v1/templates/{slug}/versions/1/activate", params={"channel": "email"})
    older = await api.send_queued(**send)
    await api.wait_for_status(older, "delivered")

    assert rolled_back.status_code == 200, rolled_back.text
    assert rolled_back.json()["active_version"] == 1
    emails = await mailbox.wait_for(user["email"], 2)
    by_id = {email["message_id"]: email for email in emails}
    assert by_id[f"<{newer}@notifications.local>"]["subject"] == "Digest v2 for Ada"
    assert by_id[f"<{newer}@notifications.local>"]["text"].strip() == "two"
    assert by_id[f"<{older}@notifications.local>"]["subject"] == "Digest v1 for Ada"
    assert by_id[f"<{older}@notifications.local>"]["text"].strip() == "one"
    assert (await api.status(newer))["template_version"] == 2
    assert (await api.status(older))["template_version"] == 1
    versions = await api.http.get(f"/v1/templates/{slug}/versions", params={"channel": "email"})
    assert [item["version"] for item in versions.json()["items"]] == [1, 2]


async def test_the_render_preview_matches_what_is_sent(api: Api) -> None:
    slug = unique("preview")
    await api.create_template(slug=slug, channel="push", title="Hi {{ user.name }}", body="{{ count }} new")
    await api.create_template(
        slug=slug, channel="push", locale="pt-BR", title="Olá {{ user.name }}", body="{{ count }}"
    )

    preview = await api.http.post(
        f"/v1/templates/{slug}/render",
        json={"channel": "push", "locale": "pt-BR", "variables": {"count": 3}, "user": {"name": "Ada"}},
    )

    assert preview.status_code == 200, preview.text
    assert preview.json()["push"]["title"] == "Olá Ada"
    assert preview.json()["push"]["body"] == "3"
