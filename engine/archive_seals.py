"""Adapters giving :mod:`archiving` its seal/timestamp Protocols over :mod:`signatures.seal`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from archiving.seals import SealCheck, TimestampCheck
from signatures.keys import KeySource
from signatures.seal import seal_detached, timestamp_bytes, verify_detached_seal, verify_timestamp

__all__ = [
    "SignaturesSealVerifier",
    "SignaturesSealer",
    "SignaturesTimestampVerifier",
    "SignaturesTimestamper",
]


@dataclass(frozen=True)
class SignaturesSealer:
    """Seals with the operator's archive seal key and a timestamp from ``timestamp_url``."""

    key: KeySource
    """Key store of the archive seal (PKCS#12 or PKCS#11)."""
    timestamp_url: str
    """RFC 3161 TSA endpoint."""

    def seal(self, data: bytes) -> bytes:
        return seal_detached(data, key=self.key, timestamp_url=self.timestamp_url)


@dataclass(frozen=True)
class SignaturesSealVerifier:
    """Checks seals offline against DER trust roots."""

    trust_roots: Sequence[bytes]
    """DER certificates trusted as roots."""

    def verify(self, data: bytes, seal: bytes) -> SealCheck:
        verdict = verify_detached_seal(data, seal, trust_roots=self.trust_roots)
        return SealCheck(
            valid=verdict.valid,
            signer=verdict.signer,
            timestamp=verdict.timestamp,
            problems=verdict.problems,
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
