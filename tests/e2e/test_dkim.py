"""A template's sender through the whole stack (issue 18 items 2 and 6): the application registers a sending
domain and gets the DKIM record to publish, a template sends from it with a name and a Reply-To, and the
email the real SMTP sink captured carries those headers and a DKIM-Signature that dkimpy verifies against
the published record."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import dkim

from tests.e2e.api import Api, Mailbox, unique


async def test_a_templates_sender_arrives_and_its_dkim_signature_verifies(api: Api, mailbox: Mailbox) -> None:
    domain = f"{unique('dkim')}.example.com"
    registered = await api.http.put(f"/v1/sending-domains/{domain}")
    assert registered.status_code == 201, registered.text
    record = registered.json()["dns_record"]

    slug = unique("sender")
    await api.create_template(
        slug=slug,
        channel="email",
        subject="Hi {{ user.name }}",
        body="Your order has shipped.",
        html_body="<p>Your order has <b>shipped</b>.</p>",
        from_name="Example Shop",
        from_email=f"orders@{domain}",
        reply_to=f"help@{domain}",
    )
    user = await api.create_user(email=f"{unique('signed')}@example.com")
    notification_id = await api.send_queued(user_id=user["id"], channel="email", template=slug)
    assert (await api.wait_for_status(notification_id))["status"] == "delivered"

    [mail] = await mailbox.wait_for(user["email"])
    assert mail["headers"]["From"] == f"Example Shop <orders@{domain}>"
    assert mail["headers"]["Reply-To"] == f"help@{domain}"
    assert mail["mail_from"].startswith(f"b+{notification_id.replace('-', '')}.")  # the return path is unchanged
    signature = mail["headers"]["DKIM-Signature"]
    assert f"d={domain};" in signature
    assert f"s={registered.json()['selector']};" in signature
    signed = set(re.sub(r"\s+", "", re.search(r"h=([^;]+);", signature).group(1)).split(":"))  # type: ignore[union-attr]
    assert {"from", "reply-to", "to", "subject", "date", "message-id", "mime-version", "content-type"} <= signed

    def published(name: bytes, timeout: int = 5) -> bytes | None:
        """The DNS as the operator set it up: the one TXT record the API asked for."""
        return record["value"].encode() if name.decode().rstrip(".") == record["name"] else None

    raw = await asyncio.to_thread(Path(mail["file"]).read_bytes)
    assert dkim.verify(raw, dnsfunc=published)
    assert not dkim.verify(raw.replace(b"shipped", b"lost"), dnsfunc=published)
