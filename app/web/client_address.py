"""Who is calling, by network address: the key an anonymous request's rate limit counts under.

One rule decides it, here and nowhere else (`serve` runs uvicorn without its proxy-header
support, so `scope["client"]` is the TCP peer as the socket saw it):

    TRUSTED_PROXIES empty (the default)   the peer address; X-Forwarded-For is never read
    the peer is not a trusted proxy       the peer address
    the peer is a trusted proxy           walking X-Forwarded-For from the right, the first
                                          entry that is not itself a trusted proxy; a malformed
                                          entry stops the walk and the last good address is used
                                          (the proxy's own when the rightmost is malformed)

Entries to the left of the first untrusted one were written by the client or by proxies we
know nothing of, so they are never believed. Requests are then counted per address, except that
an IPv6 address counts for its /64 (one host is usually given a whole /64, so it could otherwise
take a fresh address per request) and an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a
dual-stack socket reports for an IPv4 client) as the IPv4 address it maps.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache

from starlette.types import Scope

from app.settings import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The bucket of a request whose server gave no peer address (a Unix socket, some test clients).
UNKNOWN = "unknown"
_FORWARDED_FOR = b"x-forwarded-for"


class ClientAddresses:
    """The client address of a request under TRUSTED_PROXIES, and the bucket it counts in."""

    def __init__(self, trusted_proxies: Sequence[IPNetwork] = ()) -> None:
        self.trusted_proxies = tuple(trusted_proxies)
        # Parsing and matching an address costs a few microseconds; a gateway sees the same
        # few proxies and clients over and over.
        self._hop = lru_cache(maxsize=4096)(self._read_hop)

    def bucket(self, scope: Scope) -> str:
        """The key the request's anonymous rate limit counts under."""
        client = scope.get("client")
        if client is None:
            return UNKNOWN
        peer: str = client[0]
        if not self.trusted_proxies:
            return bucket_of(peer)
        return bucket_of(self.address(peer, _forwarded_for(scope["headers"])))

    def address(self, peer: str, forwarded_for: Iterable[str]) -> str:
        """The client address: `peer` unless it is a trusted proxy, then the rightmost entry of
        the X-Forwarded-For values (in header order) that is not (see the module docstring)."""
        hop = self._hop(peer)
        if hop is None or not hop[1]:
            return peer
        address = hop[0]
        for entry in reversed(_entries(forwarded_for)):
            hop = self._hop(entry)
            if hop is None:
                break
            address, trusted = hop
            if not trusted:
                break
        return address

    def _read_hop(self, text: str) -> tuple[str, bool] | None:
        """The address `text` names, written canonically, and whether it is a trusted proxy;
        None when it names no address."""
        parsed = _parse(text)
        if parsed is None:
            return None
        return str(parsed), any(parsed in network for network in self.trusted_proxies)


@lru_cache(maxsize=4096)
def bucket_of(address: str) -> str:
    """An IPv4 address as it is; an IPv6 one as its /64, or as the IPv4 address it maps."""
    if ":" not in address:
        return address
    parsed = _parse(address)
    if parsed is None:
        return address
    if isinstance(parsed, ipaddress.IPv4Address):
        return str(parsed)
    return str(ipaddress.IPv6Network((parsed, 64), strict=False))


def _parse(text: str) -> IPAddress | None:
    """An address, an IPv4-mapped IPv6 one as its IPv4 address; None for anything else (a port,
    brackets, a name such as `unknown`: none of them is an address)."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _forwarded_for(headers: Iterable[tuple[bytes, bytes]]) -> Iterator[str]:
    """The X-Forwarded-For values, lazily: an untrusted peer's headers are never scanned."""
    return (value.decode("latin-1") for name, value in headers if name == _FORWARDED_FOR)


def _entries(values: Iterable[str]) -> list[str]:
    """Several X-Forwarded-For headers read as one list, in order (RFC 9110's field combining)."""
    return [entry.strip() for value in values for entry in value.split(",")]
