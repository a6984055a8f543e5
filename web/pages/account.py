"""« Mon compte » : the second factor (TOTP) — enrolment with a QR code, recovery codes shown
once, disabling with the password and a code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from engine.domain.errors import Conflict, InvalidInput
from engine.services import second_factor
from engine.services.admin import check_password
from engine.services.queries import accounts as account_queries
from engine.services.unit_of_work import UnitOfWork
from web.auth import (
    SECOND_FACTOR_PATH,
    SETUP_NOTICE,
    Principal,
    client_address,
    open_session,
    session_principal,
    wait_message,
)
from web.deps import PlatformDep, UowDep
from web.pages.common import flash, see_other
from web.security import check_csrf
from web.templating import render

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)

SessionUser = Annotated[Principal, Depends(session_principal)]


def _page(
    request: Request,
    unit: UnitOfWork,
    principal: Principal,
    *,
    status: int = 200,
    **context: Any,
) -> Response:
    row = account_queries.user_by_id(unit, principal.user_id)
    found = second_factor.status(unit, principal.user_id)
    values = {
        "principal": principal,
        "factor": found,
        "has_password": row is not None and bool(row.password_hash),
        "required_notice": SETUP_NOTICE if found.required and not found.enrolled else None,
        "flash": request.session.pop("flash", None),
        "error": None,
        "enrolment": None,
        "codes": None,
        **context,
    }
    return render(request, "account_second_factor.html", values, status=status)


def _reopen(request: Request, unit: UnitOfWork, principal: Principal) -> None:
    """Every other session and token of the account ends; this one goes on."""
    account_queries.end_sessions(unit, principal.user_id)
    unit.commit()
    row = account_queries.user_by_id(unit, principal.user_id)
    assert row is not None
    extra = {k: v for k, v in request.session.items() if k == "oidc_id_token"}
    open_session(request, row.id, row.display_name, int(row.credential_version), **extra)


@router.get(SECOND_FACTOR_PATH)
def second_factor_page(
    request: Request, unit: UowDep, p: PlatformDep, principal: SessionUser
) -> Response:
    enrolment = second_factor.pending_enrolment(
        unit, principal.user_id, username=principal.username, secret_key=p.settings.secret_key
    )
    return _page(request, unit, principal, enrolment=enrolment)


@router.post(SECOND_FACTOR_PATH + "/activer")
def start_enrolment(
    request: Request, unit: UowDep, p: PlatformDep, principal: SessionUser
) -> Response:
    try:
        enrolment = second_factor.begin_enrolment(
            unit,
            principal.user_id,
            username=principal.username,
            secret_key=p.settings.secret_key,
            now=p.clock(),
        )
    except Conflict as exc:
        return _page(request, unit, principal, status=409, error=str(exc))
    unit.commit()
    return _page(request, unit, principal, enrolment=enrolment)


@router.post(SECOND_FACTOR_PATH + "/confirmer")
def confirm_enrolment(
    request: Request,
    unit: UowDep,
    p: PlatformDep,
    principal: SessionUser,
    code: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """The first code confirms the secret; the recovery codes are shown this once. The other
    sessions and tokens of the account end (they were opened without the second factor)."""
    key = p.settings.secret_key
    try:
        codes = second_factor.confirm_enrolment(
            unit, principal.user_id, code, secret_key=key, now=p.clock()
        )
    except (InvalidInput, Conflict) as exc:
        enrolment = second_factor.pending_enrolment(
            unit, principal.user_id, username=principal.username, secret_key=key
        )
        status = 409 if isinstance(exc, Conflict) else 422
        return _page(request, unit, principal, status=status, error=str(exc), enrolment=enrolment)
    _reopen(request, unit, principal)
    principal = session_principal(request, unit)
    return _page(request, unit, principal, codes=codes)


@router.post(SECOND_FACTOR_PATH + "/desactiver")
def disable(
    request: Request,
    unit: UowDep,
    p: PlatformDep,
    principal: SessionUser,
    mot_de_passe: Annotated[str, Form(max_length=1000)] = "",
    code: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """The password (when the account has one) and a valid code; failures count as failed
    logins."""
    limiter = request.app.state.login_limiter
    address = client_address(request)
    wait = limiter.retry_after(unit, principal.username, address)
    if wait:
        return _page(request, unit, principal, status=429, error=wait_message(wait))
    row = account_queries.user_by_id(unit, principal.user_id)
    assert row is not None
    password_ok = not row.password_hash or check_password(row.password_hash, mot_de_passe)
    try:
        second_factor.disable(
            unit,
            principal.user_id,
            password_ok=password_ok,
            code=code,
            secret_key=p.settings.secret_key,
            now=p.clock(),
        )
    except (InvalidInput, Conflict) as exc:
        if isinstance(exc, InvalidInput):
            limiter.failed(unit, principal.username, address)
            unit.commit()
        status = 409 if isinstance(exc, Conflict) else 422
        return _page(request, unit, principal, status=status, error=str(exc))
    _reopen(request, unit, principal)
    flash(request, "La double authentification est désactivée ; vos autres sessions sont fermées.")
    return see_other(SECOND_FACTOR_PATH)
