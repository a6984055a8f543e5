"""Tenants (operator), the procedure catalogue and the journal verification of a tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from engine.domain.model import Actor
from engine.services import admin as admin_services
from engine.services import tenant_settings
from engine.services.archives.journal_checks import verify_journal
from engine.services.queries import accounts as account_queries
from web.auth import Principal, TenantAccess, api_access, api_operator
from web.deps import PlatformDep, UowDep

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
    seq: int
    problem: str


class JournalReportOut(BaseModel):
    intact: bool
    entries_checked: int
    head_hash: str
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
    tenant: str, access: Annotated[TenantAccess, Depends(api_access("archiviste"))], unit: UowDep
) -> JournalReportOut:
    report = verify_journal(unit, tenant)
    return JournalReportOut(
        intact=report.intact,
        entries_checked=report.entries_checked,
        head_hash=report.head_hash,
        findings=[FindingOut(seq=f.seq, problem=f.problem) for f in report.findings],
    )
