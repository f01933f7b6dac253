"""TRUSTED_PROXIES and the X-Forwarded-For walk that finds the client address (no server)."""

from __future__ import annotations

import ipaddress

import pytest

from app.settings import Settings, SettingsError
from app.web.client_address import UNKNOWN, ClientAddresses, bucket_of


def trusting(value: str) -> ClientAddresses:
    return ClientAddresses(Settings.from_environ({"TRUSTED_PROXIES": value}).trusted_proxies)


def scope(peer: str | None, *forwarded_for: str) -> dict[str, object]:
    return {
        "type": "http",
        "client": None if peer is None else (peer, 40000),
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded_for],
    }


# --- the setting ----------------------------------------------------------------------------------


def test_trusted_proxies_take_addresses_and_networks_of_both_families() -> None:
    # when
    settings = Settings.from_environ({"TRUSTED_PROXIES": " 127.0.0.1, 10.0.0.0/8 ,::1,fd00::/8,,"})
    # then
    assert settings.trusted_proxies == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
        ipaddress.ip_network("fd00::/8"),
    )


@pytest.mark.parametrize("value", [None, "", " , "])
def test_no_trusted_proxies_by_default(value: str | None) -> None:
    # when
    settings = Settings.from_environ({} if value is None else {"TRUSTED_PROXIES": value})
    # then
    assert settings.trusted_proxies == ()


@pytest.mark.parametrize(
    ("value", "entry", "rule"),
    [
        ("127.0.0.1,proxy.internal", "proxy.internal", "IP addresses or CIDR networks"),
        ("10.0.0.0/33", "10.0.0.0/33", "IP addresses or CIDR networks"),
        ("10.0.0.7:8080", "10.0.0.7:8080", "IP addresses or CIDR networks"),
        ("*", "*", "IP addresses or CIDR networks"),
        ("[::1]", "[::1]", "IP addresses or CIDR networks"),
        ("10.0.0.7/8", "10.0.0.7/8", "without host bits set"),
        ("fd00::1/8", "fd00::1/8", "without host bits set"),
    ],
)
def test_a_bad_trusted_proxy_is_refused_naming_the_setting_and_the_entry(
    value: str, entry: str, rule: str
) -> None:
    # when
    with pytest.raises(SettingsError) as refused:
        Settings.from_environ({"TRUSTED_PROXIES": value})
    # then
    message = str(refused.value)
    assert message.startswith("TRUSTED_PROXIES must ")
    assert rule in message
    assert message.endswith(f"got {entry!r}")


# --- the walk -------------------------------------------------------------------------------------


def test_without_trusted_proxies_forwarded_for_is_never_read() -> None:
    # given
    addresses = ClientAddresses()
    # when
    bucket = addresses.bucket(scope("127.0.0.1", "198.51.100.7"))
    # then
    assert bucket == "127.0.0.1"


def test_an_untrusted_peers_forwarded_for_is_ignored() -> None:
    # given
    addresses = trusting("10.0.0.0/8")
    # when
    bucket = addresses.bucket(scope("192.0.2.9", "198.51.100.7"))
    # then
    assert bucket == "192.0.2.9"


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded_for", "client"),
    [
        # one proxy: the entry it appended
        ("127.0.0.1", "127.0.0.1", ["198.51.100.7"], "198.51.100.7"),
        # what the client wrote itself (leftmost) is never believed
        ("127.0.0.1", "127.0.0.1", ["203.0.113.66, 198.51.100.7"], "198.51.100.7"),
        # a chain of trusted proxies is walked through
        ("10.0.0.0/8", "10.0.0.1", ["203.0.113.66, 198.51.100.7, 10.0.0.2"], "198.51.100.7"),
        # several headers read as one list, in order
        ("10.0.0.0/8", "10.0.0.1", ["203.0.113.66", "198.51.100.7, 10.0.0.2"], "198.51.100.7"),
        # a trusted peer without the header: the peer
        ("127.0.0.1", "127.0.0.1", [], "127.0.0.1"),
        # every entry trusted: the leftmost
        ("10.0.0.0/8", "10.0.0.1", ["10.0.0.3, 10.0.0.2"], "10.0.0.3"),
        # IPv6 proxies and clients
        ("::1,fd00::/8", "::1", ["2001:db8::7, fd00::2"], "2001:db8::7"),
        # an IPv4-mapped peer matches an IPv4 network
        ("127.0.0.1", "::ffff:127.0.0.1", ["198.51.100.7"], "198.51.100.7"),
    ],
)
def test_a_trusted_peer_names_the_rightmost_untrusted_forwarded_address(
    trusted: str, peer: str, forwarded_for: list[str], client: str
) -> None:
    # given
    addresses = trusting(trusted)
    # when
    found = addresses.address(peer, forwarded_for)
    # then
    assert found == client


@pytest.mark.parametrize(
    ("forwarded_for", "client"),
    [
        # the rightmost entry malformed: the proxy itself
        (["198.51.100.7, unknown"], "10.0.0.1"),
        (["198.51.100.7, 10.0.0.9:443"], "10.0.0.1"),
        (["198.51.100.7, [2001:db8::1]"], "10.0.0.1"),
        (["198.51.100.7, "], "10.0.0.1"),
        # a malformed entry further left stops the walk at the last good (trusted) hop
        (["198.51.100.7, garbage, 10.0.0.2"], "10.0.0.2"),
        # past the first untrusted entry nothing is read, malformed or not
        (["garbage, 198.51.100.7, 10.0.0.2"], "198.51.100.7"),
    ],
)
def test_a_malformed_entry_stops_the_walk_at_the_last_good_address(
    forwarded_for: list[str], client: str
) -> None:
    # given
    addresses = trusting("10.0.0.0/8")
    # when
    found = addresses.address("10.0.0.1", forwarded_for)
    # then
    assert found == client


def test_a_request_without_a_peer_counts_in_one_shared_bucket() -> None:
    # when
    bucket = trusting("127.0.0.1").bucket(scope(None, "198.51.100.7"))
    # then
    assert bucket == UNKNOWN


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::9", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("::1", "::/64"),
    ],
)
def test_an_ipv6_address_counts_for_its_slash_64_and_a_mapped_one_as_ipv4(
    address: str, bucket: str
) -> None:
    # then
    assert bucket_of(address) == bucket
