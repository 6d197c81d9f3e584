"""The Redis keys of the login limits: one hash slot per email and per client address, IPv6 by its /64."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from gateway.login_limits import address_key, email_key
from gateway.settings import GatewaySettings

APPLICATION = str(uuid.uuid4())


def test_an_email_is_its_own_hash_tag_whatever_its_case_or_spacing() -> None:
    key = email_key(APPLICATION, " Ada@Example.com ")
    assert key == email_key(APPLICATION, "ada@example.com")
    assert key.startswith("gw:{login:")
    assert key.endswith("}:failures")
    assert "ada" not in key


def test_the_same_email_in_two_applications_has_two_budgets() -> None:
    assert email_key(APPLICATION, "ada@example.com") != email_key(str(uuid.uuid4()), "ada@example.com")


def test_ipv4_addresses_are_kept_apart_and_ipv6_is_limited_by_its_64() -> None:
    assert address_key("203.0.113.7") == "gw:{login-address:203.0.113.7}:failures"
    assert address_key("203.0.113.7") != address_key("203.0.113.8")
    assert address_key("::ffff:203.0.113.7") == address_key("203.0.113.7")
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") == "gw:{login-address:2001:db8:1:2::/64}:failures"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")


def test_a_client_that_is_no_address_gets_a_hashed_key_of_its_own() -> None:
    assert address_key("") != address_key("unix-socket")
    assert "unix-socket" not in address_key("unix-socket")


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    settings = GatewaySettings(trusted_proxies=" 10.0.0.0/8, ,192.0.2.1,2001:db8::/32 ")
    assert settings.trusted_proxy_list() == ["10.0.0.0/8", "192.0.2.1", "2001:db8::/32"]
    assert GatewaySettings().trusted_proxy_list() == []
    with pytest.raises(ValidationError, match=r"'proxy\.internal' is not an IP address or CIDR network"):
        GatewaySettings(trusted_proxies="10.0.0.0/8,proxy.internal")
