"""Public pages of a collectivité (no account): the register of published acts."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from web.deps import UowDep
from web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/public/{tenant}/actes")
def register(request: Request, tenant: str, unit: UowDep) -> Response:
    found = unit.tenants.get(tenant) if len(tenant) == 9 else None
    if found is None:
        raise HTTPException(404, "Collectivité introuvable.")
    return render(request, "public_register.html", {"tenant": found})
