"""Adapters giving :mod:`archiving` its seal/timestamp Protocols over :mod:`signatures.seal`,
and the platform's designated seal identities (from configuration, never from a package)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from archiving.seals import SealCheck, SealerIdentity, TimestampCheck
from engine.settings import Settings
from signatures.keys import KeySource
from signatures.seal import (
    SealIdentity,
    normalise_fingerprint,
    seal_detached,
    seal_identity,
    timestamp_bytes,
    verify_detached_seal,
    verify_timestamp,
)

__all__ = [
    "SealIdentities",
    "SignaturesSealVerifier",
    "SignaturesSealer",
    "SignaturesTimestampVerifier",
    "SignaturesTimestamper",
    "configured_seal_identities",
]


@functools.cache
def _key_identity(key: KeySource) -> SealIdentity:
    return seal_identity(key)


def _sealer_identity(identity: SealIdentity) -> SealerIdentity:
    return SealerIdentity(identity.fingerprint, identity.subject, identity.key_usage)


@dataclass(frozen=True)
class SignaturesSealer:
    """Seals with the operator's archive seal key and a timestamp from ``timestamp_url``."""

    key: KeySource
    """Key store of the archive seal (PKCS#12 or PKCS#11)."""
    timestamp_url: str
    """RFC 3161 TSA endpoint."""
    trust_roots: Sequence[bytes] = ()
    """DER roots: when given, the seal certificate's revocation status is checked online
    (a revoked certificate refuses to seal) and embedded in the seal."""

    def seal(self, data: bytes) -> bytes:
        return seal_detached(
            data, key=self.key, timestamp_url=self.timestamp_url, trust_roots=self.trust_roots
        )

    def identity(self) -> SealerIdentity:
        return _sealer_identity(_key_identity(self.key))


@dataclass(frozen=True)
class SealIdentities:
    """Which seal certificates may seal: the platform's, and those of tenants with their own."""

    platform: tuple[SealIdentity, ...] = ()
    """Seals accepted for every tenant without a seal of its own."""
    tenants: Mapping[str, tuple[SealIdentity, ...]] = field(default_factory=dict)
    """Tenant SIREN → the only seals accepted for that tenant's packages."""

    def for_tenant(self, tenant: str) -> tuple[SealIdentity, ...]:
        return self.tenants.get(tenant, self.platform)


def configured_seal_identities(
    settings: Settings, *, seal_key: KeySource | None, published: Sequence[str] = ()
) -> SealIdentities:
    """The expected seal identities: fingerprints ``published`` by the verifier (command line)
    if any, else the configured platform fingerprints (``pki.seal_fingerprints``, or that of
    the configured seal key's certificate) and the tenants' own (``pki.tenant_seal_fingerprints``).

    Raises ValueError (French) for a malformed fingerprint.
    """
    if published:
        return SealIdentities(platform=_identities(published))
    pki = settings.pki
    platform: tuple[SealIdentity, ...] = ()
    if pki.seal_fingerprints:
        platform = _identities(pki.seal_fingerprints)
    elif seal_key is not None:
        platform = (_key_identity(seal_key),)
    tenants = {siren: _identities(texts) for siren, texts in pki.tenant_seal_fingerprints.items()}
    return SealIdentities(platform=platform, tenants=tenants)


def _identities(texts: Sequence[str]) -> tuple[SealIdentity, ...]:
    return tuple(SealIdentity(normalise_fingerprint(text)) for text in texts)


@dataclass(frozen=True)
class SignaturesSealVerifier:
    """Checks seals against DER trust roots and the expected seal identities."""

    trust_roots: Sequence[bytes]
    """DER certificates trusted as roots."""
    identities: SealIdentities
    """Who may seal (from configuration or the verifier, never from the package)."""
    online: bool = False
    """Fetch the seal certificate's revocation status now instead of using the embedded data."""

    def verify(self, data: bytes, seal: bytes, *, tenant: str = "") -> SealCheck:
        verdict = verify_detached_seal(
            data,
            seal,
            trust_roots=self.trust_roots,
            expected=self.identities.for_tenant(tenant),
            online=self.online,
        )
        return SealCheck(
            valid=verdict.valid,
            signer=verdict.signer,
            timestamp=verdict.timestamp,
            problems=verdict.problems,
            sealer=_sealer_identity(verdict.sealer) if verdict.sealer else None,
        )


@dataclass(frozen=True)
class SignaturesTimestamper:
    """Obtains RFC 3161 tokens from ``tsa_url``."""

    tsa_url: str
    """RFC 3161 TSA endpoint."""

    def timestamp(self, data: bytes) -> bytes:
        return timestamp_bytes(data, tsa_url=self.tsa_url)


@dataclass(frozen=True)
class SignaturesTimestampVerifier:
    """Checks RFC 3161 tokens offline against DER trust roots."""

    trust_roots: Sequence[bytes]
    """DER certificates trusted as roots."""

    def verify(self, data: bytes, token: bytes) -> TimestampCheck:
        verdict = verify_timestamp(data, token, trust_roots=self.trust_roots)
        return TimestampCheck(valid=verdict.valid, time=verdict.time, problems=verdict.problems)
