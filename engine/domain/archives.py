"""Records of the electronic archive: packages and their states, retention, audits, renewals."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

__all__ = [
    "ARCHIVED",
    "DESTROYED",
    "TRANSFERRED",
    "WAITING",
    "ArchivedPackage",
    "AuditRun",
    "PackageState",
    "RetentionDecision",
    "RetentionRuleRow",
    "StoredFinding",
    "TimestampRenewal",
]


class PackageState(enum.StrEnum):
    """Where a case's package stands; the values are the stored (French) words."""

    WAITING = "en_attente"
    """Recorded, not yet sealed and stored (or the last attempt failed)."""
    ARCHIVED = "archive"
    TRANSFERRED = "transfere"
    """Handed to the definitive archives at the end of its retention period."""
    DESTROYED = "elimine"


# The archive services compare with these short names.
WAITING = PackageState.WAITING
ARCHIVED = PackageState.ARCHIVED
TRANSFERRED = PackageState.TRANSFERRED
DESTROYED = PackageState.DESTROYED


@dataclass(frozen=True)
class ArchivedPackage:
    """What the platform knows of one case's package (the proof itself is in the store)."""

    tenant: str
    package_id: str
    case_id: uuid.UUID
    procedure: str
    typologie: str
    title: str
    act_number: str | None
    actes_id: str | None
    closed_at: datetime
    state: PackageState
    dua_rule: str
    dua_end: date
    final_action: str
    frozen: dict[str, Any] = field(default_factory=dict)
    last_error: str | None = None
    attempts: int = 0
    bucket: str | None = None
    seal_sha512: str | None = None
    objects: list[dict[str, Any]] | None = None
    total_bytes: int | None = None
    retain_until: datetime | None = None
    legal_hold: bool = False
    archived_at: datetime | None = None
    destroyed_at: datetime | None = None


@dataclass(frozen=True)
class RetentionRuleRow:
    typologie: str
    rule_id: str
    years: int
    final_action: str
    access_rule: str


@dataclass(frozen=True)
class RetentionDecision:
    id: uuid.UUID
    tenant: str
    package_id: str
    decision: str
    years: int | None
    comment: str
    decided_by: str
    decided_at: datetime
    outcome: str


@dataclass(frozen=True)
class AuditRun:
    id: uuid.UUID
    tenant: str
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    cursor: str | None
    batches: int
    packages_checked: int
    objects_checked: int
    bytes_read: int
    findings_count: int
    error: str | None


@dataclass(frozen=True)
class StoredFinding:
    package_id: str
    kind: str
    path: str
    message: str


@dataclass(frozen=True)
class TimestampRenewal:
    """One renewed copy of an archived signed PDF, stored locked beside its package."""

    id: uuid.UUID
    tenant: str
    package_id: str
    source_key: str
    """Key of the package object (the signed PDF) this copy renews."""
    sequence: int
    """1 for the first renewal of that document, then 2..."""
    object_key: str
    version_id: str
    size: int
    sha256: str
    timestamp_at: datetime
    """Time of the new document timestamp."""
    tsa_not_after: datetime
    """Expiry of the new timestamp's TSA certificate."""
    previous_tsa_not_after: datetime
    """Expiry of the TSA certificate of the timestamp it renewed."""
    retain_until: datetime | None
    renewed_at: datetime
