"""Archivist screens. Sealed records arrive with the archiving capability; the journal is here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from engine.services.audit import verify_journal
from web.auth import TenantAccess, page_access
from web.deps import UowDep
from web.pages.common import tenant_page
from web.security import check_csrf

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)

Archivist = Annotated[TenantAccess, Depends(page_access("archiviste"))]


@router.get("/c/{tenant}/archives")
def archives(request: Request, access: Archivist, unit: UowDep) -> Response:
    seq, head = unit.journal.head(access.tenant.siren)
    context = {"seq": seq, "head": head, "report": None}
    return tenant_page(request, access, "archives.html", context)


@router.post("/c/{tenant}/archives/journal/verifier")
def verify(request: Request, access: Archivist, unit: UowDep) -> Response:
    report = verify_journal(unit, access.tenant.siren)
    seq, head = unit.journal.head(access.tenant.siren)
    context = {"seq": seq, "head": head, "report": report}
    return tenant_page(request, access, "archives.html", context)
