"""Records of a tenant's own affairs: members, procedure choices, councillors, public requests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

__all__ = ["Councillor", "Member", "ProcedureChoice", "PublicRequest", "SpecVersion"]


@dataclass(frozen=True)
class Member:
    """A user holding at least one role in the tenant."""

    user_id: uuid.UUID
    username: str
    display_name: str
    email: str | None
    roles: frozenset[str]
    suspended_at: datetime | None
    """Set when the member is deactivated in this tenant (their roles then grant nothing)."""
    suspended_by: str | None
    account_active: bool
    """The account itself (all tenants); only the platform operator changes it."""

    @property
    def active(self) -> bool:
        return self.suspended_at is None and self.account_active


@dataclass(frozen=True)
class ProcedureChoice:
    """A tenant's choice for one procedure (no choice stored: enabled, latest version)."""

    procedure: str
    enabled: bool
    pinned_hash: str | None


@dataclass(frozen=True)
class SpecVersion:
    """One deployed version of a procedure (its definition files are not loaded)."""

    procedure: str
    hash: str
    title: str
    deployed_at: datetime


@dataclass(frozen=True)
class Councillor:
    """One mandate of one member of the council."""

    id: uuid.UUID
    tenant: str
    name: str
    email: str
    role: str
    """maire, adjoint, conseiller_delegue or conseiller (labels in the council service)."""
    mandate_start: date
    mandate_end: date | None
    """None while the mandate runs."""

    def in_mandate(self, day: date) -> bool:
        return self.mandate_start <= day and (self.mandate_end is None or day <= self.mandate_end)


@dataclass(frozen=True)
class PublicRequest:
    """A citizen's online request: which case it started and under which reference."""

    id: uuid.UUID
    tenant: str
    case_id: uuid.UUID
    reference: str
    created_at: datetime
