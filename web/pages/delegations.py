"""Delegation screen: the delegations I gave and received, giving one, revoking one.

Dates are whole days in Europe/Paris: a delegation "du 3 au 7 mars" runs from the start of
3 March to the end of 7 March (the service stores the exclusive end, midnight on 8 March).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from engine.domain.errors import Forbidden, InvalidInput, NotFound
from engine.domain.french import PARIS
from engine.services import delegations as delegation_services
from engine.services.admin import list_members
from web.auth import TenantAccess, page_access
from web.deps import PlatformDep, UowDep
from web.pages.common import FormDep, flash, see_other, tenant_page
from web.security import check_csrf

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)

Member = Annotated[TenantAccess, Depends(page_access())]
FIELDS = ("delegataire", "debut", "fin", "motif")


def _day(value: str, label: str, errors: dict[str, str], name: str) -> date | None:
    if not value:
        errors[name] = f"indiquez la date de {label}"
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = f"date de {label} invalide (format attendu : AAAA-MM-JJ)"
        return None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=PARIS)


def _read(
    form: dict[str, str], deputies: dict[str, str], today: date
) -> tuple[dict[str, Any], dict[str, str]]:
    """The submitted delegation, or French errors by field (nothing is written on error)."""
    errors: dict[str, str] = {}
    deputy = form.get("delegataire", "")
    if not deputy:
        errors["delegataire"] = "choisissez la personne qui vous remplace"
    elif deputy not in deputies:
        errors["delegataire"] = "cette personne n'est pas un membre actif de la collectivité"
    starts = _day(form.get("debut", ""), "début", errors, "debut")
    ends = _day(form.get("fin", ""), "fin", errors, "fin")
    if starts and starts < today:
        errors["debut"] = "la délégation ne peut pas commencer dans le passé"
    if starts and ends and ends < starts:
        errors["fin"] = "la fin doit être le jour du début ou après"
    elif starts and ends and (ends - starts).days >= 366:
        errors["fin"] = "une délégation dure un an au plus"
    reason = form.get("motif", "").strip()
    if len(reason) > delegation_services.MAX_REASON:
        errors["motif"] = f"{delegation_services.MAX_REASON} caractères au plus"
    values = {"deputy": deputy, "starts": starts, "ends": ends, "reason": reason}
    return values, errors


def _page(
    request: Request,
    access: TenantAccess,
    unit: UowDep,
    now: datetime,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    general: list[str] | None = None,
    status: int = 200,
) -> Response:
    login = access.principal.username
    members = list_members(unit, access.tenant.siren)
    deputies = {m.username: m.display_name for m in members if m.active and m.username != login}
    mine = delegation_services.delegations_of(
        unit, tenant=access.tenant.siren, login=login, now=now
    )
    today = now.astimezone(PARIS).date()
    context = {
        "given": [d for d in mine if d.delegator == login],
        "received": [d for d in mine if d.deputy == login],
        "names": {m.username: m.display_name for m in members},
        "deputies": deputies,
        "now": now,
        "tick": timedelta(microseconds=1),
        "values": values or {"debut": today.isoformat()},
        "errors": errors or {},
        "general": general or [],
        "labels": {
            "delegataire": "Délégataire",
            "debut": "Début de l'absence",
            "fin": "Fin de l'absence",
            "motif": "Motif",
        },
    }
    return tenant_page(request, access, "delegations.html", context, status=status)


@router.get("/c/{tenant}/delegations")
def delegations(request: Request, access: Member, unit: UowDep, p: PlatformDep) -> Response:
    return _page(request, access, unit, p.clock())


@router.post("/c/{tenant}/delegations")
def create(
    request: Request, access: Member, unit: UowDep, p: PlatformDep, form: FormDep
) -> Response:
    now = p.clock()
    submitted = {k: v for k, v in form.items() if k in FIELDS and isinstance(v, str)}
    deputies = {
        m.username: m.display_name
        for m in list_members(unit, access.tenant.siren)
        if m.active and m.username != access.principal.username
    }
    values, errors = _read(submitted, deputies, now.astimezone(PARIS).date())
    if errors:
        return _page(request, access, unit, now, values=submitted, errors=errors, status=422)
    starts, ends = values["starts"], values["ends"]
    try:
        delegation = delegation_services.create_delegation(
            unit,
            tenant=access.tenant.siren,
            delegator=access.principal.username,
            deputy=values["deputy"],
            # Starting today means starting now: the moment it is recorded.
            starts=max(_start_of(starts), now),
            ends=_start_of(ends + timedelta(days=1)),
            reason=values["reason"],
            actor=access.actor,
            now=now,
        )
    except (InvalidInput, Forbidden) as exc:
        return _page(request, access, unit, now, values=submitted, general=[str(exc)], status=422)
    unit.commit()
    name = deputies[delegation.deputy]
    flash(request, f"Délégation à {name} enregistrée jusqu'au {ends:%d/%m/%Y} inclus.")
    return see_other(f"/c/{access.tenant.siren}/delegations")


@router.post("/c/{tenant}/delegations/revocation")
def revoke(
    request: Request, access: Member, unit: UowDep, p: PlatformDep, form: FormDep
) -> Response:
    now = p.clock()
    try:
        delegation_id = uuid.UUID(str(form.get("delegation", "")))
        delegation_services.revoke_delegation(
            unit,
            tenant=access.tenant.siren,
            delegation_id=delegation_id,
            actor=access.actor,
            now=now,
        )
    except (ValueError, NotFound):
        general = ["Cette délégation n'existe pas : rechargez la page."]
        return _page(request, access, unit, now, general=general, status=404)
    except Forbidden as exc:
        return _page(request, access, unit, now, general=[str(exc)], status=403)
    unit.commit()
    flash(request, "Délégation révoquée.")
    return see_other(f"/c/{access.tenant.siren}/delegations")
