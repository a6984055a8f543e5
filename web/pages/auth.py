"""Login, logout and the choice of a collectivité."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from web.auth import (
    Principal,
    TenantAccess,
    TooManyAttempts,
    authenticate,
    client_address,
    page_access,
    page_principal,
)
from web.deps import UowDep
from web.pages.common import flash, see_other, tenant_page
from web.security import check_csrf
from web.templating import render

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never an absolute URL (open redirection)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/espaces"


@router.get("/")
def home(request: Request) -> Response:
    return see_other("/espaces" if request.session.get("user") else "/connexion")


@router.get("/connexion")
def login_form(request: Request, suivant: str | None = None) -> Response:
    message = request.session.pop("flash", None)
    return render(request, "login.html", {"next": _safe_next(suivant), "flash": message})


@router.post("/connexion")
def login(
    request: Request,
    unit: UowDep,
    identifiant: Annotated[str, Form(max_length=200)] = "",
    mot_de_passe: Annotated[str, Form(max_length=1000)] = "",
    suivant: Annotated[str, Form(max_length=2000)] = "/espaces",
) -> Response:
    context = {"next": _safe_next(suivant), "username": identifiant}
    try:
        principal = authenticate(
            unit,
            request.app.state.login_limiter,
            username=identifiant,
            password=mot_de_passe,
            address=client_address(request),
        )
    except TooManyAttempts as exc:
        minutes = max(1, round(exc.retry_after / 60))
        error = f"Trop de tentatives : réessayez dans {minutes} minute(s)."
        response = render(request, "login.html", {**context, "error": error}, status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if principal is None:
        error = "Identifiant ou mot de passe incorrect."
        return render(request, "login.html", {**context, "error": error}, status=401)
    # A new session on login: nothing chosen before authentication survives it.
    request.session.clear()
    request.session.update(
        user=str(principal.user_id), name=principal.display_name, csrf=secrets.token_urlsafe(32)
    )
    return see_other(_safe_next(suivant))


@router.post("/deconnexion")
def logout(request: Request) -> Response:
    request.session.clear()
    flash(request, "Vous êtes déconnecté.")
    return see_other("/connexion")


@router.get("/espaces")
def spaces(
    request: Request, unit: UowDep, principal: Annotated[Principal, Depends(page_principal)]
) -> Response:
    mine = set(unit.users.tenants_of(principal.user_id))
    tenants = [t for t in unit.tenants.all() if t.siren in mine]
    if len(tenants) == 1 and not principal.is_operator:
        return see_other(f"/c/{tenants[0].siren}")
    context = {
        "tenants": tenants,
        "principal": principal,
        "flash": request.session.pop("flash", None),
    }
    return render(request, "spaces.html", context)


@router.get("/c/{tenant}")
def dashboard(
    request: Request, access: Annotated[TenantAccess, Depends(page_access())]
) -> Response:
    return tenant_page(request, access, "dashboard.html")
