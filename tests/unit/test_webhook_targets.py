"""Webhook targets (issue 27, point 4): every spelling of a loopback, private, link-local
or otherwise internal address is refused, the IPv4 inside IPv6 forms (IPv4-mapped,
IPv4-compatible, SIIT, NAT64, 6to4, Teredo) judged like the plain IPv4 address; public
addresses in the same forms pass; URLs that cannot be parsed are refused, not raised."""

from __future__ import annotations

import pytest

from workflow.webhook_admin import target_problem, url_problem

URL = "https://hooks.example/in"

# Addresses DNS could answer (or a URL could name) that reach something internal.
REFUSED = [
    # plain IPv4
    "127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
    "0.0.0.0", "100.64.0.1", "192.0.0.8", "198.18.0.1", "224.0.0.1", "255.255.255.255",
    "240.0.0.1",
    # plain IPv6
    "::1", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "ff02::1",
    "100::1", "2001:db8::1", "3fff::1", "3fff:fff::1", "5f00::1", "5f00:ab:cd::1",
    # IPv4-mapped
    "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1", "::ffff:a9fe:a9fe",
    "::ffff:192.168.0.1",
    # IPv4-compatible (deprecated, still routed by some stacks)
    "::7f00:1", "::127.0.0.1", "::a00:1", "::a9fe:a9fe", "::c0a8:101",
    # SIIT IPv4-translated
    "::ffff:0:7f00:1", "::ffff:0:a9fe:a9fe",
    # NAT64 well-known prefix
    "64:ff9b::7f00:1", "64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b::a00:1",
    "64:ff9b::c0a8:1", "64:ff9b::ac10:1", "64:ff9b::6440:1", "64:ff9b::e000:1",
    # NAT64 local-use prefix (refused whatever it carries)
    "64:ff9b:1::a00:1", "64:ff9b:1:7f00:1::", "64:ff9b:1::808:808", "64:ff9b:1:ffff::1",
    # 6to4
    "2002:7f00:1::", "2002:a9fe:a9fe::", "2002:a00:1::1", "2002:c0a8:101::",
    "2002:ac10:1::", "2002:0:1::",
    # Teredo (server or client inside)
    "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:0:7f00:1::", "2001::1",
]
# Public addresses, also inside the forms that carry a public IPv4 address.
ACCEPTED = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e", "64:ff9b::808:808", "64:ff9b::5db8:d822",
            "2620:fe::fe", "2002:808:808::1"]
# URLs that must be refused before any address is looked at.
BAD_URLS = ["https://[::1", "https://hooks.example:99999/in", "https://hooks.example:-1/",
            "https://hooks.example:abc/", "https://hooks.example:0/", "ftp://hooks.example/",
            "http://hooks.example/", "https:///nohost", "https://u:p@hooks.example/",
            "javascript:alert(1)", "https://[fe80::1%25eth0/", "https://hooks.example:65536/"]


@pytest.mark.parametrize("address", REFUSED)
def test_an_internal_address_is_refused_in_every_spelling(address: str) -> None:
    problem = target_problem(URL, [address], allow_insecure=False, allow_private=False)
    assert problem is not None and "non-public address" in problem, (address, problem)


@pytest.mark.parametrize("address", REFUSED)
def test_one_internal_address_among_public_ones_is_enough(address: str) -> None:
    problem = target_problem(URL, ["93.184.216.34", address], allow_insecure=False,
                             allow_private=False)
    assert problem is not None


@pytest.mark.parametrize("address", ACCEPTED)
def test_public_addresses_pass(address: str) -> None:
    assert target_problem(URL, [address], allow_insecure=False, allow_private=False) is None


@pytest.mark.parametrize("url", BAD_URLS)
def test_urls_that_cannot_be_used_are_refused_with_a_reason(url: str) -> None:
    problem = url_problem(url, allow_insecure=False)
    assert problem, url
    assert target_problem(url, ["93.184.216.34"], allow_insecure=False,
                          allow_private=False) == problem


def test_allow_private_lets_internal_addresses_through_and_the_reason_names_the_ipv4(
        ) -> None:
    assert target_problem(URL, ["::7f00:1"], allow_insecure=False, allow_private=True) is None
    problem = target_problem(URL, ["64:ff9b::a9fe:a9fe"], allow_insecure=False,
                             allow_private=False)
    assert problem is not None and "169.254.169.254" in problem


def test_the_table_holds_at_least_sixty_spellings() -> None:
    assert len(REFUSED) + len(ACCEPTED) + len(BAD_URLS) >= 60
