"""What archiving needs from a signing service: Protocols the engine wires to real adapters.

``archiving`` never imports a signature library; the caller passes objects with these methods
(in the platform, adapters over :mod:`signatures.seal`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = [
    "SealCheck",
    "SealVerifier",
    "Sealer",
    "SealerIdentity",
    "TimestampCheck",
    "TimestampVerifier",
    "Timestamper",
]


@dataclass(frozen=True)
class SealerIdentity:
    """Who seals: the certificate of a seal, as named in configuration and package metadata."""

    fingerprint: str
    """SHA-256 of the seal certificate (DER), lowercase hex."""
    subject: str
    """Subject of the certificate."""
    key_usage: tuple[str, ...] = ()
    """Key usages of the certificate."""


@dataclass(frozen=True)
class SealCheck:
    """Outcome of checking a detached seal."""

    valid: bool
    """True when the data is intact, the signature correct and the sealing certificate trusted."""
    signer: str
    """Name of the sealing certificate's holder ("" when unreadable)."""
    timestamp: datetime | None
    """Time certified by the seal's trusted RFC 3161 timestamp (None when absent or invalid)."""
    problems: tuple[str, ...]
    """Every problem found, in French; empty when valid."""
    sealer: SealerIdentity | None = None
    """The certificate that actually sealed (None when unreadable)."""


@dataclass(frozen=True)
class TimestampCheck:
    """Outcome of checking an RFC 3161 token over some bytes."""

    valid: bool
    """True when the token covers the data and comes from a trusted TSA."""
    time: datetime | None
    """Time stated by the token, when readable."""
    problems: tuple[str, ...]
    """Every problem found, in French; empty when valid."""


class Sealer(Protocol):
    """Seals bytes with the operator's archive seal."""

    def seal(self, data: bytes) -> bytes:
        """A detached CMS SignedData (DER) over ``data`` carrying an RFC 3161 signature timestamp."""
        ...

    def identity(self) -> SealerIdentity:
        """The seal certificate this sealer signs with (named in the package, for information)."""
        ...


class SealVerifier(Protocol):
    """Checks seals made by a :class:`Sealer` against the caller's trust roots and expected
    seal identities (from the verifier's configuration, never from the package)."""

    def verify(self, data: bytes, seal: bytes, *, tenant: str = "") -> SealCheck:
        """Check the detached ``seal`` over ``data`` for ``tenant`` (SIREN, "" when unknown);
        never raises for a bad seal."""
        ...


class Timestamper(Protocol):
    """Obtains RFC 3161 timestamps."""

    def timestamp(self, data: bytes) -> bytes:
        """An RFC 3161 token (DER ContentInfo) over ``data``."""
        ...


class TimestampVerifier(Protocol):
    """Checks RFC 3161 tokens, offline."""

    def verify(self, data: bytes, token: bytes) -> TimestampCheck:
        """Check that ``token`` timestamps ``data``; never raises for a bad token."""
        ...
