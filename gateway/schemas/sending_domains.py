"""Bodies of ``/v1/sending-domains``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SELECTOR_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DOMAIN_PATTERN = rf"^{_LABEL}(?:\.{_LABEL})+\.?$"
"""An ASCII domain name of at least two labels (an internationalised one in its `xn--` form); a final dot is
allowed and dropped."""

EXAMPLE_RECORD = "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu5oIUrFDWZK7F4thFxpZ…IDAQAB"
EXAMPLE: dict[str, Any] = {
    "domain": "mail.example.com",
    "selector": "ns202612",
    "dns_record": {"type": "TXT", "name": "ns202612._domainkey.mail.example.com", "value": EXAMPLE_RECORD},
    "created_at": "2026-12-07T09:30:00Z",
    "updated_at": "2026-12-07T09:30:00Z",
}


class SendingDomainPut(BaseModel):
    """Optional: a selector (a new one rotates the key) and a private key of your own (else one is generated)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}, {"selector": "ns202701"}]})

    selector: str | None = Field(
        default=None,
        max_length=63,
        pattern=SELECTOR_PATTERN,
        description="The DKIM selector; default: the current one, or `nsYYYYMM` for a new domain. Another "
        "selector than the current one installs a new key under it.",
    )
    private_key: str | None = Field(
        default=None,
        max_length=16_000,
        description="An unencrypted PEM RSA private key (PKCS#1 or PKCS#8, at least 1024 bits) to sign with "
        "instead of a generated RSA-2048 one. It is stored encrypted and never returned.",
    )


class DnsRecord(BaseModel):
    """The DNS record that publishes the domain's DKIM public key."""

    type: Literal["TXT"]
    name: str = Field(description="`<selector>._domainkey.<domain>`")
    value: str = Field(description="`v=DKIM1; k=rsa; p=<base64 public key>`")


class SendingDomain(BaseModel):
    """A domain the application's templates may send from; its mail is DKIM-signed with the domain's key."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    domain: str = Field(description="Lower-cased.")
    selector: str
    dns_record: DnsRecord
    created_at: datetime
    updated_at: datetime


class SendingDomainList(BaseModel):
    """Every sending domain of the application, by name."""

    items: list[SendingDomain]
