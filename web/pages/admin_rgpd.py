"""Tenant admin's RGPD pages: the processing register (from the procedures' declarations) and
the right of access (search a person, read or download everything the platform holds)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from engine.domain.errors import InvalidInput
from engine.services import personal_access
from web.auth import TenantAccess, page_access
from web.deps import PlatformDep, UowDep
from web.pages.common import FormDep, tenant_page
from web.security import check_csrf

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)

TenantAdmin = Annotated[TenantAccess, Depends(page_access("admin"))]


def _register_page(
    request: Request, access: TenantAdmin, unit: UowDep, *, status: int = 200, **context: Any
) -> Response:
    values = {
        "processings": personal_access.processing_register(unit, access.tenant.siren),
        "values": {},
        "error": None,
        **context,
    }
    return tenant_page(request, access, "admin_rgpd.html", values, status=status)


@router.get("/c/{tenant}/admin/rgpd")
def register(request: Request, access: TenantAdmin, unit: UowDep) -> Response:
    return _register_page(request, access, unit)


@router.post("/c/{tenant}/admin/rgpd/acces")
def access_export(
    request: Request, access: TenantAdmin, unit: UowDep, p: PlatformDep, form: FormDep
) -> Response:
    """The search travels in the body (never in a URL or a log); `format=json` downloads."""
    values = {k: str(form.get(k, ""))[:300] for k in ("nom", "courriel", "telephone")}
    try:
        query = personal_access.person_query(values["nom"], values["courriel"], values["telephone"])
    except InvalidInput as exc:
        return _register_page(request, access, unit, status=422, values=values, error=str(exc))
    now = p.clock()
    export = personal_access.person_export(
        unit, access.tenant.siren, query, actor=access.actor, now=now
    )
    unit.commit()
    if form.get("format") == "json":
        body = json.dumps(export, ensure_ascii=False, indent=2, default=str)
        return Response(
            body.encode("utf-8"),
            media_type="application/json",
            headers={
                "Content-Disposition": 'attachment; filename="donnees-personnelles.json"',
                "Cache-Control": "no-store",
            },
        )
    response = tenant_page(
        request,
        access,
        "admin_rgpd_export.html",
        {"export": export, "values": values, "generated": now},
    )
    response.headers["Cache-Control"] = "no-store"
    return response
