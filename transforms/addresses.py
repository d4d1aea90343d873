"""Which addresses a fetch may reach: public ones always; private ones only those the user names.

``--allow-private-hosts`` takes hostnames, addresses and networks (``intranet.example,10.1.0.0/16``), or
``private`` for every loopback and private network (RFC 1918, unique-local IPv6). Link-local addresses,
where clouds serve instance metadata and credentials (169.254.169.254 and its other spellings:
2852039166, 0xa9fea9fe, ::ffff:169.254.169.254), are reached only when named explicitly.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Optional, Union

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

PRIVATE = "private"
METADATA_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32")
)
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0", "")


def allowed_hosts(value: str) -> tuple[str, ...]:
    """The option's value -> its entries, each checked; ``true``/``false`` as schedulers pass flags."""
    if value.strip().lower() in _TRUE:
        return (PRIVATE,)
    if value.strip().lower() in _FALSE:
        return ()
    entries = tuple(entry.strip().lower() for entry in value.split(",") if entry.strip())
    for entry in entries:
        if (
            entry != PRIVATE
            and not _network(entry)
            and not all(part.isalnum() or part == "-" for part in entry.replace(".", "-").split("-"))
        ):
            raise ValueError(f"not a host, address or network: {entry!r}")
    return entries


def _network(entry: str) -> Optional[Network]:
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None


@dataclasses.dataclass(frozen=True)
class HostPolicy:
    names: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()
    private: bool = False

    @classmethod
    def of(cls, allowed: tuple[str, ...]) -> HostPolicy:
        networks = tuple(n for n in map(_network, allowed) if n)
        names = frozenset(e for e in allowed if e != PRIVATE and not _network(e))
        return cls(names, networks, PRIVATE in allowed)

    def refusal(self, hostname: str, address: Address) -> Optional[str]:
        """Why ``hostname`` at ``address`` may not be fetched, or None when it may."""
        address = getattr(address, "ipv4_mapped", None) or address
        if address.is_global and not address.is_multicast and not _in(address, METADATA_NETWORKS):
            return None
        if hostname.lower() in self.names or _in(address, self.networks):
            return None
        if self.private and (address.is_private or address.is_loopback) and not _in(address, METADATA_NETWORKS):
            return None
        what = "link-local (cloud metadata)" if _in(address, METADATA_NETWORKS) else "non-public"
        return f"refused {hostname}: it resolves to the {what} address {address} (name it in --allow-private-hosts to fetch it)"


def _in(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == n.version and address in n for n in networks)
