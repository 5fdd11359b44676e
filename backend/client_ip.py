"""The client's address: from the socket, unless the operator says which proxies to believe.

Every per-address limit (sign-in, registration, password reset, redeeming codes, the web and admin
sign-in pages) keys on this one function. ``X-Forwarded-For`` is written by whoever sends the request,
so believing it as sent lets one client be a new address on every request (the issue-15 finding: 40
sign-ins, each with another made-up header, and no 429). The header is read only when
``TRUSTED_PROXIES`` names the proxies in front of the service:

- a hop count (``TRUSTED_PROXIES=1``: one reverse proxy): the client is the address that many hops
  left of the socket's peer; anything further left was written by the client and is ignored;
- addresses and networks (``TRUSTED_PROXIES=10.0.0.0/8,192.168.1.7``): walking from the socket's peer
  leftwards through the header, the first address that is not a trusted proxy is the client (the
  right-most untrusted hop). A peer that is not a trusted proxy is the client itself, header or not.

Unset (the default), the socket's peer (``REMOTE_ADDR``) is the client and the header is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_trusted_proxies(raw: str) -> int | tuple[Network, ...]:
    """``TRUSTED_PROXIES`` from the environment: empty (trust nobody), a hop count, or a comma list of
    addresses and CIDR networks. A typo fails at start-up rather than trusting the wrong hop."""
    raw = raw.strip()
    if not raw:
        return ()
    if raw.isdigit():
        return int(raw)
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"Configuration error in TRUSTED_PROXIES: {exc}; give a hop count or addresses/CIDR networks"
        ) from None


def _address(raw: str) -> Address | None:
    """One hop as proxies write it: ``1.2.3.4``, ``1.2.3.4:5678``, ``2001:db8::1`` or ``[2001:db8::1]:5678``."""
    raw = raw.strip().strip('"')
    if raw.startswith("["):
        raw = raw[1 : raw.find("]")] if "]" in raw else raw[1:]
    elif raw.count(":") == 1:  # IPv4 with a port
        raw = raw.split(":", 1)[0]
    try:
        return ipaddress.ip_address(raw)
    except ValueError:
        return None


def client_address(remote_addr: str, forwarded_for: str, trusted: int | Sequence[Network]) -> str:
    """The pure rule (tested on its own): the socket's peer, or the right hop of ``X-Forwarded-For``."""
    peer = _address(remote_addr)
    if peer is None:
        return remote_addr or "unknown"
    if not trusted or not forwarded_for:
        return str(peer)
    hops = [_address(h) for h in forwarded_for.split(",")]
    chain: list[Address | None] = [*hops, peer]
    if isinstance(trusted, int):
        index = max(len(chain) - 1 - trusted, 0)
        # a hop the proxies wrote is an address; garbage there means the header was not theirs
        found = chain[index]
        return str(found) if found is not None else str(peer)
    client = peer
    for hop in reversed(chain):
        if hop is None:  # unreadable: stop at the last hop a trusted proxy vouched for
            break
        client = hop
        if not any(hop in net for net in trusted):
            break
    return str(client)


def client_ip(request: Any) -> str:
    """The address of the client of this request (a Django or DRF request)."""
    meta = request.META
    trusted = getattr(settings, "TRUSTED_PROXIES", ())
    return client_address(meta.get("REMOTE_ADDR", ""), meta.get("HTTP_X_FORWARDED_FOR", ""), trusted)


def throttle_ident(request: Any) -> str:
    """What a per-address limit counts: the address, or its /64 for IPv6 (one subscriber is handed a
    whole /64, so counting single IPv6 addresses would give an attacker 2^64 fresh budgets)."""
    address = client_ip(request)
    parsed = _address(address)
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return address
