"""/v1/sending-domains on a real gateway and database, and the template sender fields they gate: a domain is
added with a DKIM key and the record to publish, PUT again changes nothing, another selector rotates the
key, a key of one's own is taken; private keys are stored sealed; templates may send only from the
application's domains."""

from __future__ import annotations

import uuid
from typing import Any

from cryptography.hazmat.primitives import serialization

from common.dkim_keys import KeySealer, dns_record_value, generate_key, private_pem
from tests.integration.gateway.harness import ADMIN_API_KEY, Gateway
from tests.integration.gateway.test_edge import assert_problem
from tests.integration.gateway.test_templates import email_template, slug


def new_domain() -> str:
    return f"m{uuid.uuid4().hex[:10]}.example.com"


async def put_domain(gateway: Gateway, domain: str, expected: int, **body: Any) -> dict[str, Any]:
    response = await gateway.client.put(f"/v1/sending-domains/{domain}", json=body or None)
    assert response.status_code == expected, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_a_domain_gets_a_key_and_the_record_to_publish_and_put_is_idempotent(gateway: Gateway) -> None:
    domain = new_domain()
    added = await put_domain(gateway, domain.upper() + ".", 201)
    assert added["domain"] == domain
    assert added["selector"].startswith("ns")
    assert len(added["selector"]) == 8
    record = added["dns_record"]
    assert record["type"] == "TXT"
    assert record["name"] == f"{added['selector']}._domainkey.{domain}"
    assert record["value"].startswith("v=DKIM1; k=rsa; p=MIIBIjAN")  # an RSA-2048 SubjectPublicKeyInfo

    assert await put_domain(gateway, domain, 200) == added
    assert await put_domain(gateway, domain, 200, selector=added["selector"]) == added
    assert (await gateway.client.get(f"/v1/sending-domains/{domain}")).json() == added
    listed = (await gateway.client.get("/v1/sending-domains")).json()["items"]
    assert added in listed
    assert [item["domain"] for item in listed] == sorted(item["domain"] for item in listed)

    sealed = await gateway.resources.db.fetchval("SELECT private_key FROM sending_domains WHERE domain = $1", domain)
    assert b"PRIVATE KEY" not in sealed
    application_id = await gateway.resources.db.fetchval(
        "SELECT application_id FROM sending_domains WHERE domain = $1", domain
    )
    pem = KeySealer.of(gateway.settings.dkim_key_secret).open(sealed, str(application_id), domain)
    key = serialization.load_pem_private_key(pem, password=None)
    assert dns_record_value(key) == record["value"]  # type: ignore[arg-type]

    removed = await gateway.client.delete(f"/v1/sending-domains/{domain}")
    assert removed.status_code == 204
    assert_problem(await gateway.client.get(f"/v1/sending-domains/{domain}"), 404)
    assert_problem(await gateway.client.delete(f"/v1/sending-domains/{domain}"), 404)


async def test_another_selector_rotates_the_key_and_a_given_key_is_used(gateway: Gateway) -> None:
    domain = new_domain()
    first = await put_domain(gateway, domain, 201)
    rotated = await put_domain(gateway, domain, 200, selector="s2")
    assert rotated["selector"] == "s2"
    assert rotated["dns_record"]["name"] == f"s2._domainkey.{domain}"
    assert rotated["dns_record"]["value"] != first["dns_record"]["value"]
    assert rotated["created_at"] == first["created_at"]

    own = generate_key()
    given = await put_domain(gateway, domain, 200, selector="s2", private_key=private_pem(own).decode())
    assert given["dns_record"]["value"] == dns_record_value(own)
    fresh = await put_domain(gateway, new_domain(), 201, selector="own", private_key=private_pem(own).decode())
    assert fresh["selector"] == "own"
    assert fresh["dns_record"]["value"] == dns_record_value(own)


async def test_bad_domains_selectors_and_keys_are_422(gateway: Gateway) -> None:
    for domain in ("localhost", "-bad.example.com", "a..example.com", "ex_ample.com", "bücher.example"):
        assert_problem(await gateway.client.put(f"/v1/sending-domains/{domain}"), 422)
    domain = new_domain()
    for body in ({"selector": "Bad_Selector"}, {"selector": ""}, {"nope": 1}):
        assert_problem(await gateway.client.put(f"/v1/sending-domains/{domain}", json=body), 422)
    problem = assert_problem(
        await gateway.client.put(f"/v1/sending-domains/{domain}", json={"private_key": "-----BEGIN nothing"}), 422
    )
    assert problem["errors"][0]["field"] == "private_key"
    assert_problem(await gateway.client.get(f"/v1/sending-domains/{domain}"), 404)


async def test_another_applications_domains_are_unseen_and_unusable(
    gateway: Gateway, other_application: uuid.UUID
) -> None:
    domain = new_domain()
    await put_domain(gateway, domain, 201)
    theirs = {"X-API-Key": ADMIN_API_KEY, "X-Application-Id": str(other_application)}
    assert (await gateway.client.get("/v1/sending-domains", headers=theirs)).json() == {"items": []}
    assert_problem(await gateway.client.get(f"/v1/sending-domains/{domain}", headers=theirs), 404)
    assert_problem(await gateway.client.delete(f"/v1/sending-domains/{domain}", headers=theirs), 404)
    template = email_template(slug(), from_email=f"hello@{domain}")
    problem = assert_problem(await gateway.client.post("/v1/templates", json=template, headers=theirs), 422)
    assert problem["errors"][0]["field"] == "from_email"
    # They may register the same domain for themselves, with a key of their own.
    response = await gateway.client.put(f"/v1/sending-domains/{domain}", headers=theirs)
    assert response.status_code == 201, response.text


async def test_a_template_sends_only_from_the_applications_domains(gateway: Gateway) -> None:
    domain = new_domain()
    name = slug()
    sender = {"from_name": "Example Shop", "from_email": f"shop@{domain}", "reply_to": "help@example.org"}
    problem = assert_problem(await gateway.client.post("/v1/templates", json=email_template(name, **sender)), 422)
    assert problem["errors"] == [
        {
            "field": "from_email",
            "message": f"is on {domain}, which is not one of this application's sending domains: "
            f"PUT /v1/sending-domains/{domain} first",
        }
    ]

    await put_domain(gateway, domain, 201)
    created = await gateway.client.post("/v1/templates", json=email_template(name, **sender))
    assert created.status_code == 201, created.text
    assert {key: created.json()[key] for key in sender} == sender
    fetched = (await gateway.client.get(f"/v1/templates/{name}", params={"channel": "email"})).json()
    assert {key: fetched[key] for key in sender} == sender

    elsewhere = {"channel": "email", "subject": "Hi", "body": "Hello", "from_email": "shop@elsewhere.example.org"}
    assert_problem(await gateway.client.put(f"/v1/templates/{name}", json=elsewhere), 422)
    plain = (await gateway.client.put(f"/v1/templates/{name}", json={**elsewhere, "from_email": None})).json()
    assert (plain["version"], plain["from_name"], plain["from_email"], plain["reply_to"]) == (2, None, None, None)


async def test_bad_sender_fields_are_422(gateway: Gateway) -> None:
    domain = new_domain()
    await put_domain(gateway, domain, 201)
    for fields in (
        {"from_email": "not-an-address"},
        {"reply_to": "nobody"},
        {"from_name": "Shop"},  # a name needs an address
        {"from_name": "Shop\r\nBcc: x@example.com", "from_email": f"a@{domain}"},
    ):
        assert_problem(await gateway.client.post("/v1/templates", json=email_template(slug(), **fields)), 422)
    push = {"slug": slug(), "channel": "push", "title": "Hi", "body": "Hello", "from_email": f"a@{domain}"}
    assert_problem(await gateway.client.post("/v1/templates", json=push), 422)
