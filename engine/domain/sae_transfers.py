"""Transfers to the tenant's SAE (versements) and elimination requests, as the platform records them."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

__all__ = ["SaeEndpoint", "SaeTransfer", "TransferKind", "TransferState"]


class TransferKind(enum.StrEnum):
    TRANSFER = "versement"
    """The package goes to the SAE (SEDA ArchiveTransfer)."""
    ELIMINATION = "elimination"
    """The SAE is asked to eliminate the units it holds for the package."""


class TransferState(enum.StrEnum):
    """Where one exchange with the SAE stands; the values are the stored (French) words."""

    QUEUED = "a_envoyer"
    """Asked for; the next run sends it (again, after a passing failure)."""
    SENT = "envoye"
    """The SAE took it; its reply is awaited."""
    ACCEPTED = "accepte"
    REJECTED = "rejete"
    """The SAE refused: its reasons wait for the archivist."""
    FAILED = "erreur"
    """Could not be sent (permanent error, or retries exhausted)."""

    @property
    def open(self) -> bool:
        return self in {TransferState.QUEUED, TransferState.SENT}

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {
    TransferState.QUEUED: "À envoyer",
    TransferState.SENT: "Envoyé, réponse du SAE attendue",
    TransferState.ACCEPTED: "Accepté par le SAE",
    TransferState.REJECTED: "Refusé par le SAE",
    TransferState.FAILED: "Envoi impossible",
}


@dataclass(frozen=True)
class SaeEndpoint:
    """How a tenant reaches its Archives départementales' SAE."""

    tenant: str
    kind: str
    """``vitam`` or ``asalae``."""
    url: str
    vitam_tenant: str = "0"
    """Vitam's ``X-Tenant-Id``."""
    context_id: str = "DEFAULT_WORKFLOW"
    """Vitam's ingest contract/workflow (``X-Context-Id``)."""
    username: str = ""
    """As@lae web service account."""
    secret_ref: str = ""
    """Name of the environment variable holding the account's password (never the password)."""
    tls_cert: str = ""
    """Operator only: client certificate (PEM) path, for Vitam."""
    tls_key: str = ""
    tls_ca: str = ""
    updated_by: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True)
class SaeTransfer:
    """One exchange with the SAE about one package."""

    id: uuid.UUID
    tenant: str
    package_id: str
    kind: TransferKind
    state: TransferState
    protocol: str
    message_identifier: str
    requested_by: str
    requested_at: datetime
    updated_at: datetime
    reference: str | None = None
    """The SAE's reference of the exchange (Vitam operation id, As@lae message id)."""
    sae_ids: tuple[str, ...] = ()
    """The SAE's identifiers of the archive units (accepted transfer) or eliminated units."""
    reasons: tuple[str, ...] = ()
    """The SAE's reasons (rejection) or the platform's error."""
    reply_code: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    answered_at: datetime | None = None
    comment: str = ""

    @property
    def outcome(self) -> str:
        """Where it stands, in one French sentence (decisions, pages, CLI)."""
        what = "Versement" if self.kind == TransferKind.TRANSFER else "Demande d'élimination"
        if self.state == TransferState.QUEUED:
            return f"{what} demandé au SAE ; le paquet changera d'état à son acceptation."
        if self.state == TransferState.SENT:
            return f"{what} envoyé au SAE ; sa réponse est attendue."
        if self.state == TransferState.ACCEPTED:
            return f"{what} accepté par le SAE (identifiants : {', '.join(self.sae_ids[:5])})."
        return f"{what} : {self.state.label.lower()} — " + " ; ".join(self.reasons[:5])
