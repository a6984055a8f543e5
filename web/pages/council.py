"""Tenant admin: the council's members (councillors, mandates and roles)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from engine.domain.errors import FormValidationError, NotFound
from engine.services import council
from engine.services.queries import council as council_queries
from web.auth import TenantAccess, page_access
from web.deps import PlatformDep, UowDep
from web.pages.common import FormDep, flash, see_other, tenant_page
from web.security import check_csrf

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)

TenantAdmin = Annotated[TenantAccess, Depends(page_access("admin"))]
FIELDS = ("nom", "courriel", "fonction", "debut_mandat", "fin_mandat")
LIMITS = {"nom": 200, "courriel": 254}
LABELS = {
    "nom": "Prénom et nom",
    "courriel": "Adresse électronique",
    "fonction": "Fonction",
    "debut_mandat": "Début du mandat",
    "fin_mandat": "Fin du mandat",
}


def _page(
    request: Request,
    access: TenantAccess,
    unit: UowDep,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    editing: uuid.UUID | None = None,
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "councillors": council.councillors(unit, access.tenant.siren),
        "roles": council.COUNCIL_ROLES,
        "values": values or {},
        "errors": errors or {},
        "editing": editing,
        "limits": LIMITS,
        "labels": LABELS,
    }
    return tenant_page(request, access, "admin_councillors.html", context, status=status)


@router.get("/c/{tenant}/admin/conseil")
def councillors(
    request: Request, access: TenantAdmin, unit: UowDep, modifier: uuid.UUID | None = None
) -> Response:
    if modifier is None:
        return _page(request, access, unit)
    chosen = council_queries.find_councillor(unit, access.tenant.siren, modifier)
    values = {
        "nom": chosen.name,
        "courriel": chosen.email,
        "fonction": chosen.role,
        "debut_mandat": chosen.mandate_start.isoformat(),
        "fin_mandat": chosen.mandate_end.isoformat() if chosen.mandate_end else "",
    }
    return _page(request, access, unit, values=values, editing=modifier)


@router.post("/c/{tenant}/admin/conseil")
def save(
    request: Request, access: TenantAdmin, unit: UowDep, p: PlatformDep, form: FormDep
) -> Response:
    values = {k: str(form.get(k) or "")[:1000] for k in FIELDS}
    raw_id = str(form.get("conseiller") or "")
    try:
        editing = uuid.UUID(raw_id) if raw_id else None
    except ValueError as exc:
        raise NotFound("Conseiller introuvable.") from exc
    if editing is not None:
        council_queries.find_councillor(unit, access.tenant.siren, editing)  # another tenant's: 404
    given = council.CouncillorInput(
        name=values["nom"],
        email=values["courriel"],
        role=values["fonction"],
        mandate_start=values["debut_mandat"],
        mandate_end=values["fin_mandat"],
    )
    try:
        councillor = council.parse_councillor(access.tenant.siren, given, councillor_id=editing)
        council.save_councillor(unit, councillor, actor=access.actor, now=p.clock())
    except FormValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors:
            errors.setdefault(error.path or "nom", error.message)
        return _page(
            request, access, unit, values=values, errors=errors, editing=editing, status=422
        )
    unit.commit()
    flash(request, f"{councillor.name} : enregistré(e) au conseil municipal.")
    return see_other(f"/c/{access.tenant.siren}/admin/conseil")


@router.post("/c/{tenant}/admin/conseil/{councillor_id}/retirer")
def remove(
    request: Request, councillor_id: uuid.UUID, access: TenantAdmin, unit: UowDep, p: PlatformDep
) -> Response:
    removed = council.remove_councillor(
        unit, access.tenant.siren, councillor_id, actor=access.actor, now=p.clock()
    )
    unit.commit()
    flash(request, f"{removed.name} : retiré(e) de la liste du conseil.")
    return see_other(f"/c/{access.tenant.siren}/admin/conseil")
