"""What the archivist's pages read: packages, their decisions, audit runs, the journal head."""

from __future__ import annotations

import uuid

from engine.domain.archives import ArchivedPackage, AuditRun, RetentionDecision, StoredFinding
from engine.persistence.uow import UnitOfWork

__all__ = [
    "audit_findings",
    "audit_run",
    "find_package",
    "journal_head",
    "package_counts",
    "package_decisions",
    "recent_audits",
]


def find_package(uow: UnitOfWork, tenant: str, package_id: str) -> ArchivedPackage | None:
    return uow.archives.get(tenant, package_id)


def package_decisions(uow: UnitOfWork, tenant: str, package_id: str) -> list[RetentionDecision]:
    return uow.archives.decisions(tenant, package_id)


def package_counts(uow: UnitOfWork, tenant: str, *, cap: int) -> dict[str, int]:
    """Packages per state, each counted up to `cap + 1` only."""
    return uow.archives.count_by_state(tenant, cap=cap)


def journal_head(uow: UnitOfWork, tenant: str) -> tuple[int, str]:
    """(last sequence number, its hash) of the tenant's journal."""
    return uow.journal.head(tenant)


def recent_audits(uow: UnitOfWork, tenant: str, *, limit: int = 10) -> list[AuditRun]:
    return uow.archives.runs(tenant, limit=limit)


def audit_run(uow: UnitOfWork, tenant: str, run_id: uuid.UUID) -> AuditRun | None:
    return uow.archives.run(tenant, run_id)


def audit_findings(uow: UnitOfWork, tenant: str, run_id: uuid.UUID) -> list[StoredFinding]:
    return uow.archives.findings(tenant, run_id)
