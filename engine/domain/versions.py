"""Procedure versions as the operator sees them, and the record of a case's migration."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ProcedureVersion:
    """One deployed definition of a procedure, with its number and who it is deployed for."""

    procedure: str
    hash: str
    number: int | None
    """None for a definition stored without a number (by a direct save, in tests)."""
    title: str
    deployed_at: datetime
    tenants: tuple[str, ...] | None
    """None: deployed for every tenant; else the tenants it was deployed for."""

    @property
    def label(self) -> str:
        return f"v{self.number}" if self.number is not None else self.hash[:12]

    def visible_to(self, tenant: str) -> bool:
        return self.tenants is None or tenant in self.tenants


@dataclass(frozen=True)
class CaseMigration:
    """A case moved from one version to another (rolled back or not)."""

    id: uuid.UUID
    case_id: uuid.UUID
    tenant: str
    from_hash: str
    to_hash: str
    previous_version: int
    migrated_version: int
    migrated_by: str
    migrated_at: datetime
    rolled_back_by: str | None = None
    rolled_back_at: datetime | None = None
    reference: str = ""
    """The case's reference (filled when listed for people)."""


@dataclass(frozen=True)
class KeptState:
    """A case's state as it was before a migration (restored exactly by a rollback)."""

    status: str
    format: str
    header: str
    tasks: dict[str, tuple[str, str]]
