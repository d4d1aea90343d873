"""Which addresses a fetch may reach: public ones always; private ones only those the user names.

``--allow-private-hosts`` takes hostnames, addresses and networks (``intranet.example,10.1.0.0/16``), or
``private`` for every loopback and private network (RFC 1918, unique-local IPv6). Link-local addresses and
the cloud metadata services (169.254.169.254, 168.63.129.16, 100.100.100.200, fd00:ec2::254, ...), where
clouds hand out instance credentials, are reached only when named explicitly, in every spelling: an IPv6
address that embeds an IPv4 one (mapped, translated, compatible, NAT64, 6to4, Teredo) is judged by the
worse of the two. Anything else that is not plainly public (unspecified, multicast, reserved, shared,
documentation, site-local, deprecated translation forms) is refused unless named.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Optional, Union

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

PRIVATE = "private"
PUBLIC, PRIVATE_NETWORK, NON_PUBLIC, METADATA = "public", "private", "non-public", "link-local (cloud metadata)"


def _networks(*spelled: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(n) for n in spelled)


METADATA_NETWORKS = _networks(
    "169.254.0.0/16",  # link-local: AWS, GCP, Azure, OCI, DigitalOcean, OpenStack at .169.254; Tencent .0.23
    "168.63.129.16/32",  # Azure WireServer (a public address)
    "100.100.100.200/32",  # Alibaba Cloud
    "192.0.0.192/32",  # Oracle Cloud Classic
    "fe80::/10",  # IPv6 link-local
    "fd00:ec2::/32",  # AWS over IPv6: metadata fd00:ec2::254, DNS ::23, NTP ::123
    "fd20:ce::254/128",  # Google Cloud over IPv6
)
PRIVATE_NETWORKS = _networks("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "::1/128", "fc00::/7")

# IPv6 forms that stand for exactly one IPv4 address (its last 32 bits). Mapped: the same address to this
# host's own stack, judged as it. Translated (SIIT, NAT64): reached through a translator, so a private one is
# not this network's private address: refused unless named; a public or metadata one is what it embeds.
MAPPED = ipaddress.ip_network("::ffff:0:0/96")
EXACT_V4_FORMS = (MAPPED, *_networks("::ffff:0:0:0/96", "64:ff9b::/96"))
# Forms that carry an IPv4 address but are never public themselves: IPv4-compatible (deprecated), local-use
# NAT64 (its embedding depends on the operator's prefix), Teredo; site-local is deprecated too.
NEVER_PUBLIC = _networks("::/96", "64:ff9b:1::/48", "2001::/32", "fec0::/10")
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")  # public only when the IPv4 address it embeds is

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


def embedded_v4(address: Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries, in any of the mapped or translated forms."""
    if address.version == 4:
        return ()
    low = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if _in(address, EXACT_V4_FORMS) or _in(address, NEVER_PUBLIC[:2]):
        return (low,)
    if address.sixtofour:
        return (address.sixtofour,)
    if address.teredo:
        return address.teredo  # (server, client), the client's bits already un-inverted
    return ()


def kind(address: Address) -> str:
    """PUBLIC, PRIVATE_NETWORK, NON_PUBLIC or METADATA; the worse of the address and what it embeds."""
    inner = embedded_v4(address)
    if _in(address, METADATA_NETWORKS) or any(_in(v4, METADATA_NETWORKS) for v4 in inner):
        return METADATA
    if _in(address, EXACT_V4_FORMS):
        embedded = kind(inner[0])
        return NON_PUBLIC if embedded == PRIVATE_NETWORK and address not in MAPPED else embedded
    if _in(address, PRIVATE_NETWORKS):  # before NEVER_PUBLIC, whose ::/96 holds ::1
        return PRIVATE_NETWORK
    if _in(address, NEVER_PUBLIC):
        return NON_PUBLIC
    if _in(address, (SIX_TO_FOUR,)):
        return PUBLIC if kind(inner[0]) == PUBLIC else NON_PUBLIC
    plain = address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)
    return PUBLIC if plain else NON_PUBLIC


@dataclasses.dataclass(frozen=True)
class HostPolicy:
    names: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()
    private: bool = False

    @classmethod
    def of(cls, allowed: tuple[str, ...]) -> HostPolicy:
        networks = tuple(n for n in map(_network, allowed) if n)
        names = frozenset(e.rstrip(".") for e in allowed if e != PRIVATE and not _network(e))
        return cls(names, networks, PRIVATE in allowed)

    def refusal(self, hostname: str, address: Address) -> Optional[str]:
        """Why ``hostname`` at ``address`` may not be fetched, or None when it may."""
        what = kind(address)
        if what == PUBLIC or (what == PRIVATE_NETWORK and self.private) or self._named(hostname, address):
            return None
        spelled = f"{address} (= {embedded_v4(address)[0]})" if _in(address, EXACT_V4_FORMS) else str(address)
        what = METADATA if what == METADATA else NON_PUBLIC
        return f"refused {hostname}: it resolves to the {what} address {spelled} (name it in --allow-private-hosts to fetch it)"

    def _named(self, hostname: str, address: Address) -> bool:
        """The host by name, or the address in a named network; an exact IPv4 form counts as its IPv4 address."""
        if hostname.lower().rstrip(".") in self.names or _in(address, self.networks):
            return True
        return _in(address, EXACT_V4_FORMS) and _in(embedded_v4(address)[0], self.networks)


def _in(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == n.version and address in n for n in networks)
