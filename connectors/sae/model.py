"""What the engine hands an SAE and what it gets back: plain, protocol-neutral values."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

__all__ = [
    "Accepted",
    "EliminationRequest",
    "Outcome",
    "Pending",
    "Rejected",
    "SaeClient",
    "SaeConfig",
    "SaeKind",
    "SaeTls",
    "Submitted",
    "TransferPackage",
]

DEFAULT_MAX_REPLY_BYTES = 2 * 1024 * 1024


class SaeKind(enum.StrEnum):
    """The protocol the tenant's electronic archiving system speaks."""

    VITAM = "vitam"
    """Vitam (and its distributions): the ``ingest-external`` REST API, SIP as a zip."""
    ASALAE = "asalae"
    """As@lae (Libriciel): the SEDA message exchange (``restservices/sedaMessages``)."""


@dataclass(frozen=True)
class SaeTls:
    """Client certificate (Vitam's personal or application certificate) and server trust."""

    certfile: Path
    """Client certificate chain (PEM)."""
    keyfile: Path
    """Its private key (PEM)."""
    ca_bundle: Path
    """CA certificates (PEM) trusted for the SAE's server certificate."""


@dataclass(frozen=True)
class SaeConfig:
    """Where and how to reach one tenant's SAE."""

    kind: SaeKind
    """Vitam or As@lae."""
    base_url: str
    """Root URL, e.g. ``https://sae.archives34.fr``."""
    tenant: str = "0"
    """Vitam: the ``X-Tenant-Id`` header (a number); ignored by As@lae."""
    context_id: str = "DEFAULT_WORKFLOW"
    """Vitam: the ``X-Context-Id`` (ingest workflow); ignored by As@lae."""
    application_id: str = ""
    """Vitam: the ``X-Application-Id`` (traces the calling application); optional."""
    username: str = ""
    """As@lae: the web service account (HTTP Basic); empty for Vitam."""
    password: str = field(default="", repr=False)
    """As@lae: its password, resolved by the caller from a secret reference (never stored)."""
    tls: SaeTls | None = None
    """Client certificate and trust; None only for a plain-HTTP local simulator."""
    timeout_seconds: float = 30.0
    """Connect and read timeout of one HTTP request."""
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES
    """Longest reply read from the SAE; a longer one is refused before it is parsed."""


@dataclass(frozen=True)
class TransferPackage:
    """A package to transfer: its SEDA ``ArchiveTransfer`` and the objects it references."""

    message_identifier: str
    """The manifest's ``MessageIdentifier``: the SAE's replies refer to it."""
    transferring_agency: str
    """Identifier of the transferring agency (the tenant), as in the manifest."""
    manifest: bytes
    """The SEDA 2.3 ``ArchiveTransfer`` XML."""
    objects: Mapping[str, bytes]
    """Each ``BinaryDataObject``'s ``Uri`` -> its bytes."""


@dataclass(frozen=True)
class EliminationRequest:
    """The tenant asks the SAE holding its archives to eliminate them (end of DUA)."""

    message_identifier: str
    """Identifier of the request message, unique for the tenant."""
    requester: str
    """The tenant's identifier (originating agency)."""
    requester_name: str
    """Its name."""
    archival_agency: str
    """The SAE's service identifier (e.g. ``FR-AD034``)."""
    unit_ids: tuple[str, ...]
    """The SAE's identifiers of the archive units to eliminate (from its transfer reply)."""
    reason: str
    """Why (e.g. the DUA rule and the visa of the Archives départementales)."""
    requested_at: datetime
    """When the archivist asked."""


@dataclass(frozen=True)
class Submitted:
    """The SAE took the message for processing; poll with ``reference``."""

    reference: str
    """Vitam: the operation id (``X-Request-Id``); As@lae: the message identifier."""
    message_identifier: str
    """Identifier of the message sent (the SAE's reply refers to it)."""
    sender: str
    """Identifier of the agency that sent it (the tenant)."""


@dataclass(frozen=True)
class Accepted:
    """The SAE accepted the transfer (or eliminated the units)."""

    sae_ids: tuple[str, ...]
    """The SAE's identifiers of the archive units (transfer) or of the eliminated units."""
    reply_code: str
    """The SAE's reply code (``OK``/``WARNING`` for Vitam, ``000`` for As@lae)."""
    reply_identifier: str
    """Identifier of the reply message (or operation)."""
    detail: str = ""
    """Warnings the SAE gave with its acceptance, in its words."""


@dataclass(frozen=True)
class Rejected:
    """The SAE refused; ``reasons`` are its own words, for the archivist."""

    reasons: tuple[str, ...]
    reply_code: str
    reply_identifier: str


@dataclass(frozen=True)
class Pending:
    """No final answer yet."""

    stage: str
    """Where it stands, in French (« en cours de traitement », « accusé de réception reçu »)."""


Outcome = Accepted | Rejected | Pending


class SaeClient(Protocol):
    """One SAE, whatever its protocol; every method raises only ``ConnectorError``s."""

    def submit_transfer(self, package: TransferPackage) -> Submitted:
        """Send the package; the SAE answers later (poll :meth:`transfer_outcome`)."""
        ...

    def transfer_outcome(self, submitted: Submitted) -> Outcome:
        """The SAE's answer to a transfer sent earlier."""
        ...

    def request_elimination(self, request: EliminationRequest) -> Submitted:
        """Ask the SAE to eliminate units it holds."""
        ...

    def elimination_outcome(self, submitted: Submitted) -> Outcome:
        """The SAE's answer to an elimination request."""
        ...

    def close(self) -> None: ...
