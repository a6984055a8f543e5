"""Tenant admin (users and roles) and platform operator (tenants, health) screens."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from engine.domain.errors import Conflict, InvalidInput, NotFound
from engine.domain.model import Actor
from engine.services import admin as admin_services
from engine.services import cases as case_services
from web.auth import Principal, TenantAccess, page_access, page_operator
from web.deps import PlatformDep, UowDep
from web.pages.common import FormDep, flash, see_other, tenant_page
from web.queries import platform_health
from web.security import check_csrf
from web.templating import render

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)

TenantAdmin = Annotated[TenantAccess, Depends(page_access("admin"))]
Operator = Annotated[Principal, Depends(page_operator)]


def _operator_actor(principal: Principal) -> Actor:
    return Actor(f"user:{principal.username}", frozenset({"operator"}), principal.display_name)


@router.get("/c/{tenant}/admin/utilisateurs")
def users(request: Request, access: TenantAdmin, unit: UowDep) -> Response:
    context: dict[str, Any] = {"roles": admin_services.ROLES, "values": {}, "error": None}
    return tenant_page(request, access, "admin_users.html", context)


@router.post("/c/{tenant}/admin/utilisateurs")
def create_user(
    request: Request, access: TenantAdmin, unit: UowDep, p: PlatformDep, form: FormDep
) -> Response:
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "mot_de_passe"}
    roles = tuple(r for r in form.getlist("roles") if isinstance(r, str))
    password = form.get("mot_de_passe")
    try:
        if not roles:
            raise InvalidInput("Choisissez au moins un rôle.")
        admin_services.create_user(
            unit,
            username=str(form.get("identifiant", "")),
            display_name=str(form.get("nom", "")).strip() or str(form.get("identifiant", "")),
            email=str(form.get("courriel", "")).strip() or None,
            password=password if isinstance(password, str) and password else None,
            tenant=access.tenant.siren,
            roles=roles,
            actor=access.actor,
            now=p.clock(),
        )
    except (InvalidInput, Conflict, NotFound) as exc:
        context = {
            "roles": admin_services.ROLES,
            "values": values,
            "error": str(exc),
            "chosen": roles,
        }
        return tenant_page(request, access, "admin_users.html", context, status=422)
    unit.commit()
    flash(request, f"Utilisateur « {values.get('identifiant', '')} » créé.")
    return see_other(f"/c/{access.tenant.siren}/admin/utilisateurs")


@router.get("/exploitation")
def tenants(request: Request, principal: Operator, unit: UowDep) -> Response:
    context = {
        "tenants": unit.tenants.all(),
        "error": None,
        "values": {},
        "flash": request.session.pop("flash", None),
    }
    return render(request, "operator_tenants.html", context)


@router.post("/exploitation/collectivites")
def create_tenant(
    request: Request,
    principal: Operator,
    unit: UowDep,
    p: PlatformDep,
    siren: Annotated[str, Form(max_length=20)] = "",
    nom: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        admin_services.create_tenant(
            unit, siren=siren.strip(), name=nom, actor=_operator_actor(principal), now=p.clock()
        )
    except (InvalidInput, Conflict) as exc:
        context = {
            "tenants": unit.tenants.all(),
            "error": str(exc),
            "values": {"siren": siren, "nom": nom},
        }
        return render(request, "operator_tenants.html", context, status=422)
    unit.commit()
    flash(request, f"Collectivité {siren.strip()} créée.")
    return see_other("/exploitation")


@router.get("/exploitation/sante")
def health(request: Request, principal: Operator, unit: UowDep) -> Response:
    return render(
        request,
        "operator_health.html",
        {
            "health": platform_health(unit),
            "cases_in_error": unit.cases.in_error(limit=100),
            "stuck_jobs": unit.jobs.stuck(limit=100),
        },
    )


@router.post("/exploitation/dossiers/{tenant}/{case_id}/relancer")
def retry_case(
    request: Request,
    principal: Operator,
    unit: UowDep,
    p: PlatformDep,
    tenant: str,
    case_id: uuid.UUID,
) -> Response:
    """An operator retries a case in error: each waiting service task gets a new job attempt."""
    try:
        case = case_services.retry_case(
            unit, tenant=tenant, case_id=case_id, actor=_operator_actor(principal), now=p.clock()
        )
    except Conflict as exc:
        flash(request, f"Relance impossible : {exc}")
        return see_other("/exploitation/sante")
    unit.commit()
    flash(request, f"Dossier {case.reference} relancé.")
    return see_other("/exploitation/sante")
