"""Public pages of a collectivité (no account): the register of published acts and its open data."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from engine.domain.model import Tenant
from engine.services import publication, tenant_settings
from engine.services.queries import accounts as account_queries
from engine.services.unit_of_work import UnitOfWork
from web.deps import PlatformDep, UowDep
from web.pdf_responses import pdf_response
from web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
KINDS = {"acte": "Actes", "liste_deliberations": "Listes des délibérations"}


def _tenant(unit: UowDep | UnitOfWork, tenant: str) -> Tenant:
    found = (
        account_queries.find_tenant(unit, tenant) if len(tenant) == 9 and tenant.isdigit() else None
    )
    if found is None:
        raise HTTPException(404, "Collectivité introuvable.")
    return found


@router.get("/public/{tenant}/actes")
def old_register_address(tenant: str) -> Response:
    return RedirectResponse(f"/registre/{quote(tenant)}", status_code=301)


@router.get("/registre/{tenant}")
def register(
    request: Request,
    tenant: str,
    unit: UowDep,
    p: PlatformDep,
    type: str | None = None,
    page: int = 1,
) -> Response:
    found = _tenant(unit, tenant)
    kind = type if type in KINDS else None
    page = max(1, min(page, 10_000))
    entries = publication.list_register(
        unit,
        p.settings.publication,
        tenant,
        now=p.clock(),
        kind=kind,
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    return render(
        request,
        "public_register.html",
        {
            "tenant": found,
            "page_settings": tenant_settings.read_settings(unit, tenant).publication,
            "entries": entries[:PAGE_SIZE],
            "kind": kind,
            "kinds": KINDS,
            "page": page,
            "has_next": len(entries) > PAGE_SIZE,
        },
    )


@router.get("/registre/{tenant}/actes/{publication_id}")
def register_entry(
    request: Request, tenant: str, publication_id: uuid.UUID, unit: UowDep, p: PlatformDep
) -> Response:
    found = _tenant(unit, tenant)
    entry = publication.register_entry(
        unit, p.settings.publication, tenant, publication_id, now=p.clock()
    )
    return render(request, "public_entry.html", {"tenant": found, "entry": entry})


@router.get("/registre/{tenant}/actes/{publication_id}/fichier")
def register_file(tenant: str, publication_id: uuid.UUID, unit: UowDep, p: PlatformDep) -> Response:
    _tenant(unit, tenant)
    entry, content = publication.register_file(
        unit, p.settings.publication, tenant, publication_id, now=p.clock()
    )
    name = entry.publication.file_name or "acte.pdf"
    return pdf_response(
        content, name, headers={"Cache-Control": "public, max-age=86400, immutable"}
    )


@router.get("/registre/{tenant}/donnees.json")
def open_data_json(tenant: str, unit: UowDep, p: PlatformDep) -> Response:
    _tenant(unit, tenant)
    body = publication.open_data_json(unit, p.settings.publication, tenant, now=p.clock())
    return Response(body, media_type="application/json; charset=utf-8")


@router.get("/registre/{tenant}/donnees.csv")
def open_data_csv(tenant: str, unit: UowDep, p: PlatformDep) -> Response:
    _tenant(unit, tenant)
    body = publication.open_data_csv(unit, p.settings.publication, tenant, now=p.clock())
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename=registre-{tenant}.csv"},
    )
