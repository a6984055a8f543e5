"""Versement to the SAE from the archive pages: the archivist asks for a transfer or for the SAE
to eliminate what it holds; the tenant's admin sets where its SAE is."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from engine.domain.errors import Conflict, Forbidden, FormValidationError, InvalidInput, NotFound
from engine.services.archives import transfer as transfers
from engine.services.queries import archives as archive_queries
from web.auth import TenantAccess, page_access
from web.deps import PlatformDep, UowDep
from web.pages.common import FormDep, flash, see_other, tenant_page
from web.security import check_csrf

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)

Archivist = Annotated[TenantAccess, Depends(page_access("archiviste"))]
TenantAdmin = Annotated[TenantAccess, Depends(page_access("admin"))]
FIELDS = ("kind", "url", "vitam_tenant", "context_id", "username", "secret_ref")


def _package_url(access: TenantAccess, package_id: str) -> str:
    return f"/c/{access.tenant.siren}/archives/paquets/{package_id}"


def _require_package(unit: UowDep, access: TenantAccess, package_id: str) -> None:
    if archive_queries.find_package(unit, access.tenant.siren, package_id) is None:
        raise NotFound("Paquet d'archives introuvable.")


@router.post("/c/{tenant}/archives/paquets/{package_id}/versement")
def request_transfer(
    request: Request,
    access: Archivist,
    unit: UowDep,
    p: PlatformDep,
    package_id: str,
    commentaire: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Queue the package's versement; the worker sends it and follows the SAE's reply."""
    _require_package(unit, access, package_id)
    try:
        queued = transfers.request_transfer(
            unit, access.tenant.siren, package_id, actor=access.actor, now=p.clock(),
            comment=commentaire,
        )  # fmt: skip
    except (InvalidInput, Conflict, Forbidden) as exc:
        flash(request, f"Versement non demandé : {exc}")
        return see_other(_package_url(access, package_id))
    unit.commit()
    flash(request, queued.outcome)
    return see_other(_package_url(access, package_id))


@router.post("/c/{tenant}/archives/paquets/{package_id}/elimination-sae")
def request_elimination(
    request: Request,
    access: Archivist,
    unit: UowDep,
    p: PlatformDep,
    package_id: str,
    motif: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Ask the SAE holding the package to eliminate it (a named archivist, with the visa)."""
    _require_package(unit, access, package_id)
    try:
        queued = transfers.request_elimination(
            unit, access.tenant.siren, package_id, actor=access.actor, now=p.clock(), reason=motif
        )
    except (InvalidInput, Conflict, Forbidden) as exc:
        flash(request, f"Élimination non demandée : {exc}")
        return see_other(_package_url(access, package_id))
    unit.commit()
    flash(request, queued.outcome)
    return see_other(_package_url(access, package_id))


def _sae_page(
    request: Request,
    access: TenantAccess,
    unit: UowDep,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    endpoint = transfers.read_endpoint(unit, access.tenant.siren)
    if values is None:
        values = {name: str(getattr(endpoint, name, "") or "") for name in FIELDS}
    context = {
        "values": values,
        "errors": errors or {},
        "endpoint": endpoint,
        "kinds": transfers.KINDS,
        "secret_prefix": transfers.SECRET_PREFIX,
        "recent": transfers.recent_transfers(unit, access.tenant.siren),
    }
    return tenant_page(request, access, "admin_sae.html", context, status=status)


@router.get("/c/{tenant}/admin/sae")
def sae_settings(request: Request, access: TenantAdmin, unit: UowDep) -> Response:
    return _sae_page(request, access, unit)


@router.post("/c/{tenant}/admin/sae")
def save_sae_settings(
    request: Request, access: TenantAdmin, unit: UowDep, p: PlatformDep, form: FormDep
) -> Response:
    submitted = {k: v for k, v in form.items() if isinstance(v, str) and k in FIELDS}
    try:
        transfers.save_endpoint_as_admin(
            unit, submitted, tenant=access.tenant.siren, actor=access.actor, now=p.clock(),
            webhooks=p.settings.webhooks,
        )  # fmt: skip
    except FormValidationError as exc:
        errors = {e.path: e.message for e in exc.errors}
        return _sae_page(request, access, unit, values=submitted, errors=errors, status=422)
    unit.commit()
    flash(request, "SAE des Archives départementales enregistré.")
    return see_other(f"/c/{access.tenant.siren}/admin/sae")
