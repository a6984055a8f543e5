"""Procedure diagrams: a version's model (tenant admin, operator) and a case seen by the operator."""

from __future__ import annotations

import uuid
from itertools import groupby
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from engine.domain.errors import NotFound
from engine.services import tenant_settings
from engine.services.queries import cases as case_queries
from engine.services.queries.case_progress import procedure_versions, version_bundle
from web.auth import Principal, TenantAccess, page_access, page_operator
from web.deps import UowDep
from web.diagram import case_diagram, version_diagram
from web.pages.cases import members_by_login
from web.pages.common import tenant_page
from web.security import check_csrf
from web.templating import render

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)

TenantAdmin = Annotated[TenantAccess, Depends(page_access("admin"))]
Operator = Annotated[Principal, Depends(page_operator)]


@router.get("/c/{tenant}/admin/procedures/versions/{digest}")
def tenant_version(request: Request, digest: str, access: TenantAdmin, unit: UowDep) -> Response:
    """A version the tenant's catalogue offers, drawn; any other digest is unknown here."""
    offered = {
        version.hash: version
        for entry in tenant_settings.catalogue(unit, access.tenant.siren)
        for version in entry.versions
    }
    if digest not in offered:
        raise NotFound("version de procédure introuvable")
    bundle = version_bundle(unit, digest)
    context = {
        "bundle": bundle,
        "version": offered[digest],
        "view": version_diagram(bundle),
        "back": (f"/c/{access.tenant.siren}/admin/procedures", "Catalogue des procédures"),
    }
    return tenant_page(request, access, "procedure_version.html", context)


@router.get("/exploitation/procedures")
def operator_catalogue(request: Request, principal: Operator, unit: UowDep) -> Response:
    versions = procedure_versions(unit)
    grouped = [(name, list(rows)) for name, rows in groupby(versions, key=lambda v: v.procedure)]
    return render(request, "operator_procedures.html", {"procedures": grouped})


@router.get("/exploitation/procedures/{digest}")
def operator_version(request: Request, digest: str, principal: Operator, unit: UowDep) -> Response:
    version = next((v for v in procedure_versions(unit) if v.hash == digest), None)
    if version is None:
        raise NotFound("version de procédure introuvable")
    bundle = version_bundle(unit, digest)
    context = {
        "bundle": bundle,
        "version": version,
        "view": version_diagram(bundle),
        "back": ("/exploitation/procedures", "Procédures déployées"),
    }
    return render(request, "procedure_version.html", context)


@router.get("/exploitation/dossiers/{tenant}/{case_id}")
def operator_case(
    request: Request, tenant: str, case_id: uuid.UUID, principal: Operator, unit: UowDep
) -> Response:
    """Where a case stands, for the operator (any tenant's case: the operator runs them all)."""
    folder = case_queries.case_folder(unit, tenant, case_id, with_documents=False)
    people = members_by_login(unit, tenant)
    view = case_diagram(unit, tenant, case_id, people)
    bundle = version_bundle(unit, folder.case.spec_hash)
    context = {"case": folder.case, "bundle": bundle, "view": view}
    return render(request, "operator_case.html", context)
