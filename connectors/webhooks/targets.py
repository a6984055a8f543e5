"""Webhook target checks: only public addresses, checked when validating AND when connecting."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx

from connectors.errors import UnsafeTargetError

__all__ = [
    "GuardedTransport",
    "Resolver",
    "TargetPolicy",
    "check_target_url",
    "embedded_ipv4",
    "resolve_host",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


@dataclass(frozen=True)
class TargetPolicy:
    """Which webhook targets are acceptable."""

    allowed_networks: tuple[str, ...] = ()
    """Networks allowed although not public (e.g. ``"127.0.0.1/32"`` in tests)."""
    allowed_schemes: tuple[str, ...] = ("https",)
    """URL schemes allowed (add ``"http"`` only for tests or an internal relay)."""

    def allows(self, address: IPAddress) -> bool:
        if any(address in ipaddress.ip_network(n, strict=False) for n in self.allowed_networks):
            return True
        if isinstance(address, ipaddress.IPv6Address):
            embedded = embedded_ipv4(address)
            if embedded:  # the IPv4 address the packets really reach must be allowed too
                if address.ipv4_mapped is not None:
                    return self.allows(address.ipv4_mapped)
                if not all(self.allows(inner) for inner in embedded):
                    return False
        return _public(address)


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
"""Well-known NAT64 prefix (RFC 6052): the last 32 bits are the IPv4 destination."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address leads to: IPv4-mapped (::ffff:0:0/96), 6to4
    (2002::/16), Teredo (2001::/32: server and de-obfuscated client) and NAT64 (64:ff9b::/96)."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    if address in _NAT64:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    return []


def _public(address: IPAddress) -> bool:
    return address.is_global and not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def resolve_host(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for a host."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _checked_addresses(host: str, port: int, policy: TargetPolicy, resolver: Resolver) -> list[str]:
    try:
        addresses = resolver(host, port)
    except OSError as exc:
        raise UnsafeTargetError(
            f"L'adresse du webhook « {host} » ne se résout pas.",
            action="Vérifier le nom d'hôte de l'URL du webhook.",
            code="webhook_unresolvable",
        ) from exc
    if not addresses:
        raise UnsafeTargetError(f"L'adresse du webhook « {host} » ne se résout pas.")
    refused = [a for a in addresses if not policy.allows(ipaddress.ip_address(a.split("%")[0]))]
    if refused:
        raise UnsafeTargetError(
            f"L'adresse du webhook « {host} » mène à une adresse interdite ({', '.join(refused)}).",
            action="Utiliser une URL publique ; les adresses locales, privées ou réservées sont "
            "refusées.",
            code="webhook_forbidden_address",
        )
    return addresses


def check_target_url(
    url: str, *, policy: TargetPolicy, resolver: Resolver = resolve_host
) -> list[str]:
    """Validate a webhook URL; returns the resolved addresses, every one of them allowed."""
    parts = urlsplit(url)
    if parts.scheme not in policy.allowed_schemes or not parts.hostname:
        raise UnsafeTargetError(
            f"URL de webhook refusée : « {url} ».",
            action=f"Utiliser une URL {' ou '.join(policy.allowed_schemes)} complète.",
            code="webhook_bad_url",
        )
    if parts.username or parts.password:
        raise UnsafeTargetError(
            "URL de webhook refusée : elle contient des identifiants.",
            action="Retirer l'identifiant et le mot de passe de l'URL.",
            code="webhook_bad_url",
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return _checked_addresses(parts.hostname, port, policy, resolver)


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolves again at connect time and connects only to an address just checked."""

    def __init__(self, policy: TargetPolicy, resolver: Resolver) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = _checked_addresses(host, port, self._policy, self._resolver)
        return self._inner.connect_tcp(addresses[0], port, timeout, local_address, socket_options)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise UnsafeTargetError("Les sockets Unix sont interdits pour les webhooks.")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport whose every connection goes through the address check (anti-rebinding)."""

    def __init__(self, policy: TargetPolicy, *, resolver: Resolver = resolve_host) -> None:
        super().__init__(retries=0)
        # TLS still checks the certificate against the host name: only the socket's address is ours
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl.create_default_context(),
            network_backend=_GuardedBackend(policy, resolver),
        )
