"""Tenants (operator), the procedure catalogue and the journal verification of a tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from archiving import ArchivingError
from engine.domain.model import Actor
from engine.services import admin as admin_services
from engine.services import tenant_settings
from engine.services.archives.journal_checks import check_journal_completeness, verify_journal
from engine.services.archives.setup import ArchiveUnavailable
from engine.services.queries import accounts as account_queries
from web.auth import Principal, TenantAccess, api_access, api_operator
from web.deps import PlatformDep, UowDep, archive_setup_of

router = APIRouter(prefix="/api", tags=["collectivités"])

Operator = Annotated[Principal, Depends(api_operator)]


class TenantOut(BaseModel):
    siren: str
    name: str


class NewTenant(BaseModel):
    siren: str = Field(min_length=9, max_length=9)
    name: str = Field(min_length=1, max_length=200)


class ProcedureOut(BaseModel):
    procedure: str
    title: str
    hash: str


class FindingOut(BaseModel):
    seq: int | None = None
    """The entry concerned, when the finding is about one entry."""
    problem: str


class JournalReportOut(BaseModel):
    intact: bool
    """The full verification found nothing: chain, Merkle seals and their timestamps read from
    the locked store, head extending the last seal, records against the journal. False when
    the seals could not be verified (`complete`), even if the chain holds."""
    complete: bool
    """The seals were read from the locked store and verified (else: chain alone)."""
    entries_checked: int
    head_hash: str
    seals_verified: int
    unsealed_entries: int
    """Entries written since the last seal (checked against the records they describe)."""
    unavailable: str | None = None
    """Why the seals could not be verified, when `complete` is false."""
    findings: list[FindingOut]


@router.get("/tenants", response_model=list[TenantOut])
def list_tenants(principal: Operator, unit: UowDep) -> list[TenantOut]:
    return [TenantOut(siren=t.siren, name=t.name) for t in account_queries.all_tenants(unit)]


@router.post("/tenants", response_model=TenantOut, status_code=status.HTTP_201_CREATED)
def create_tenant(body: NewTenant, principal: Operator, unit: UowDep, p: PlatformDep) -> TenantOut:
    actor = Actor(f"user:{principal.username}", frozenset({"operator"}), principal.display_name)
    tenant = admin_services.create_tenant(
        unit, siren=body.siren, name=body.name, actor=actor, now=p.clock()
    )
    unit.commit()
    return TenantOut(siren=tenant.siren, name=tenant.name)


@router.get("/tenants/{tenant}/procedures", response_model=list[ProcedureOut])
def catalogue(
    tenant: str, access: Annotated[TenantAccess, Depends(api_access())], unit: UowDep
) -> list[ProcedureOut]:
    return [
        ProcedureOut(procedure=r.procedure, title=r.title, hash=r.hash)
        for r in tenant_settings.enabled_procedures(unit, access.tenant.siren)
    ]


@router.post("/tenants/{tenant}/journal/verify", response_model=JournalReportOut)
def verify(
    tenant: str,
    access: Annotated[TenantAccess, Depends(api_access("archiviste"))],
    unit: UowDep,
    p: PlatformDep,
) -> JournalReportOut:
    """The full check of `dematflow audit verify` (the archivist's journal page runs the same)."""
    try:
        full = check_journal_completeness(unit, archive_setup_of(p), tenant)
    except (ArchiveUnavailable, ArchivingError) as exc:
        chain = verify_journal(unit, tenant)
        return JournalReportOut(
            intact=False,
            complete=False,
            entries_checked=chain.entries_checked,
            head_hash=chain.head_hash,
            seals_verified=0,
            unsealed_entries=0,
            unavailable=str(exc),
            findings=[FindingOut(seq=f.seq, problem=f.problem) for f in chain.findings],
        )
    return JournalReportOut(
        intact=full.intact,
        complete=True,
        entries_checked=full.entries,
        head_hash=full.head_hash,
        seals_verified=full.seals,
        unsealed_entries=full.unsealed,
        findings=[FindingOut(problem=finding) for finding in full.findings],
    )
