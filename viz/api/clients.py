"""Who is on the other end: the socket peer, or the client a trusted proxy names.

``X-Forwarded-For`` is anyone's to write, so it is believed only when the peer is one of the
configured proxies (``AQUAWATCH_TRUSTED_PROXIES``). Each proxy appends the address it saw, so
the list is read from the right, skipping trusted proxies; the first address that is not one
is the client. Login throttling and the audit trail key on this address.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from starlette.requests import HTTPConnection

__all__ = ["Network", "client_address", "parse_networks"]

Network = IPv4Network | IPv6Network
UNKNOWN = "unknown"


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR blocks as networks (an address is a /32 or /128).

    Raises:
        ValueError: An entry is neither.
    """
    return tuple(ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in proxies)


def _forwarded(values: Iterable[str]) -> list[str]:
    return [hop.strip() for value in values for hop in value.split(",") if hop.strip()]


def client_address(connection: HTTPConnection, proxies: Sequence[Network]) -> str:
    """The client's address: the peer's, or the right-most untrusted one a trusted peer forwards.

    Args:
        connection: The request (its socket peer and headers).
        proxies: The proxies whose ``X-Forwarded-For`` is believed.
    """
    peer = connection.client.host if connection.client else UNKNOWN
    if not _trusted(peer, proxies):
        return peer
    nearest = peer
    for hop in reversed(_forwarded(connection.headers.getlist("x-forwarded-for"))):
        try:
            ip_address(hop)
        except ValueError:
            # A trusted proxy wrote something that is no address: believe only that proxy.
            return nearest
        if not _trusted(hop, proxies):
            return hop
        nearest = hop
    return nearest
