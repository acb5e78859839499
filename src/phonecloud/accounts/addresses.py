"""The client address that sign-in throttling counts against, safe behind reverse proxies.

X-Forwarded-For is written by whoever sends the request, so it is believed only as far as the operator
says proxies sit in front of the server (setting `trusted_proxies`, default 0: never). With N proxies,
each appends the address it received the request from, so the client is the N-th entry from the right;
everything left of it may be made up by the client. Anything that is not an IP address falls back to the
connection's own address.
"""

from __future__ import annotations

import ipaddress

UNKNOWN = "unknown"
# One IPv6 subscriber gets a /64 (at least): counting single addresses would give an attacker 2^64 of them.
IPV6_PREFIX = 64


def client_address(peer: str | None, forwarded_for: list[str], trusted_proxies: int) -> str:
    """The address (an IPv6 one as its /64 network) of the client, for throttling."""
    candidate = peer
    if trusted_proxies > 0:
        hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
        if hops:
            # Fewer entries than proxies: the request skipped an outer proxy; the leftmost is the nearest truth.
            candidate = hops[-trusted_proxies] if len(hops) >= trusted_proxies else hops[0]
    return _normalise(candidate) or _normalise(peer) or UNKNOWN


def _normalise(text: str | None) -> str | None:
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)
