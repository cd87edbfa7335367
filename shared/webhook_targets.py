"""Where a webhook may be delivered: never inside the network the project runs in, unless an
operator allows it.

A subscription's URL is checked when it is made (the api) and again before every delivery
(alerting), since what a name resolves to can change. Refused, for any address the host resolves
to: loopback, private (RFC 1918, unique-local), link-local (169.254.0.0/16 and fe80::/10; the cloud
metadata service at 169.254.169.254 among them), shared (100.64.0.0/10), unspecified, multicast,
reserved, and the metadata services' names. `WEBHOOK_ALLOWED_TARGETS` lists hosts or networks
allowed anyway (a receiver inside the province's network).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from shared.errors import TargetRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses it resolves to.
Resolver = Callable[[str, int], Awaitable[list[str]]]
RESOLVE_TIMEOUT_SECONDS = 3.0
METADATA_NAMES = frozenset({"metadata", "metadata.google.internal", "metadata.azure.internal"})
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


class Unresolved(Exception):
    """The host does not resolve (now)."""


def kind_of(address: IPAddress) -> str | None:
    """What makes an address internal, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "cloud metadata"
    # The narrowest name first: Python counts most of these as private too.
    for kind, internal in (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    ):
        if internal:
            return kind
    return None if address.is_global else "non-public"


class TargetPolicy:
    def __init__(self, allowed: Iterable[str], resolve: Resolver = system_resolver) -> None:
        self.allowed_hosts: set[str] = set()
        self.allowed_networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in allowed:
            try:
                self.allowed_networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.allowed_hosts.add(entry.lower().rstrip("."))
        self.resolve = resolve

    async def check(self, url: str) -> None:
        """Raise `TargetRefused` if `url` reaches inside the network; `Unresolved` if its host
        does not resolve."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise TargetRefused(f"{url!r} names no host")
        if host in self.allowed_hosts:
            return
        if host in METADATA_NAMES:
            raise TargetRefused(f"{host} is a cloud metadata service: {_HINT}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        for address in await self._addresses(host, port):
            if any(address in network for network in self.allowed_networks):
                continue
            kind = kind_of(address)
            if kind is not None:
                where = host if host == str(address) else f"{host} resolves to {address}, which"
                raise TargetRefused(f"{where} is a {kind} address: {_HINT}")

    async def _addresses(self, host: str, port: int) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
                found = await self.resolve(host, port)
        except (OSError, TimeoutError) as error:
            raise Unresolved(f"{host} does not resolve: {error}") from None
        if not found:
            raise Unresolved(f"{host} does not resolve")
        return [ipaddress.ip_address(address.split("%", 1)[0]) for address in found]


_HINT = (
    "webhooks may not reach inside the network (an operator may allow it with "
    "WEBHOOK_ALLOWED_TARGETS)"
)
