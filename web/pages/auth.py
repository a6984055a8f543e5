"""Login (local account or OpenID Connect, then the second factor's code when the account has
one), logout and the choice of a collectivité."""

from __future__ import annotations

import logging
import secrets
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response

from engine.domain.errors import InvalidInput, NotFound
from engine.services import second_factor
from engine.services.admin import WrongCurrentPassword, change_own_password
from engine.services.oidc_accounts import LoginRefused, Provisioning, sign_in_agent
from engine.services.queries import accounts as account_queries
from web.auth import (
    MUST_CHANGE_NOTICE,
    PASSWORD_CHANGE_PATH,
    LoginRequired,
    Principal,
    TenantAccess,
    TooManyAttempts,
    authenticate,
    client_address,
    device_cookie,
    known_device,
    open_session,
    page_access,
    page_principal,
    session_principal,
    wait_message,
)
from web.deps import PlatformDep, UowDep
from web.oidc import CALLBACK_PATH, LOGOUT_RETURN_PATH, OidcClient, OidcError, Transaction
from web.pages import account
from web.pages.common import flash, see_other, tenant_page
from web.security import check_csrf
from web.templating import render

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)
router.include_router(account.router)
log = logging.getLogger(__name__)

CODE_PATH = "/connexion/code"
CODE_TTL = 300
"""Seconds between the password (or the provider's login) and the code."""


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
    return _login_page(request, {"next": _safe_next(suivant), "flash": message})


def _login_page(request: Request, context: dict[str, object], status: int = 200) -> Response:
    """The login form, with the OpenID Connect button when a provider is configured."""
    client: OidcClient | None = request.app.state.oidc
    values = {"oidc_name": client.name if client else None, **context}
    return render(request, "login.html", values, status=status)


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
            known_device=known_device(request, identifiant),
        )
    except TooManyAttempts as exc:
        error = wait_message(exc.retry_after)
        response = _login_page(request, {**context, "error": error}, status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if principal is None:
        error = "Identifiant ou mot de passe incorrect."
        return _login_page(request, {**context, "error": error}, status=401)
    unit.commit()  # the account's failed attempts are forgotten (with a code: once it is right)
    if principal.second_factor:
        known = known_device(request, identifiant)
        _await_code(request, principal.user_id, principal.credential_version, suivant, known)
        return see_other(CODE_PATH)
    open_session(request, principal.user_id, principal.display_name, principal.credential_version)
    # A temporary password (set by an admin) only opens the page to choose a new one.
    target = PASSWORD_CHANGE_PATH if principal.password_temporary else _safe_next(suivant)
    response = see_other(target)
    response.headers.append("Set-Cookie", device_cookie(request, principal.username))
    return response


def _await_code(
    request: Request, user_id: object, version: int, next_url: str, known: bool, **extra: str
) -> None:
    """The password (or the provider) was right; the session only waits for the code."""
    platform = request.app.state.platform
    request.session.clear()
    request.session.update(
        csrf=secrets.token_urlsafe(32),
        code={
            "u": str(user_id),
            "v": version,
            "t": int(platform.clock().timestamp()),
            "next": _safe_next(next_url),
            "known": known,
            "password": not extra,
            **extra,
        },
    )


def _pending(request: Request) -> dict[str, object] | None:
    pending = request.session.get("code")
    now = request.app.state.platform.clock().timestamp()
    if not isinstance(pending, dict) or not isinstance(pending.get("t"), int):
        return None
    return pending if 0 <= now - pending["t"] <= CODE_TTL else None


def _code_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    return render(request, "login_code.html", {"error": error}, status=status)


@router.get(CODE_PATH)
def code_form(request: Request) -> Response:
    if _pending(request) is None:
        return see_other("/connexion")
    return _code_page(request)


@router.post(CODE_PATH)
def code_login(
    request: Request, unit: UowDep, p: PlatformDep, code: Annotated[str, Form(max_length=40)] = ""
) -> Response:
    """The second step: a TOTP code (once per code) or a recovery code (once). Attempts share
    the login throttle and its progressive delays."""
    pending = _pending(request)
    row = account_queries.user_by_id(unit, uuid.UUID(str(pending["u"]))) if pending else None
    if pending is None or row is None or not row.active or row.credential_version != pending["v"]:
        request.session.pop("code", None)
        flash(request, "Votre connexion a expiré : saisissez de nouveau vos identifiants.")
        return see_other("/connexion")
    limiter, address, known = (
        request.app.state.login_limiter,
        client_address(request),
        bool(pending["known"]),
    )
    wait = limiter.begin(unit, row.username, address, known_device=known)
    if wait:
        response = _code_page(request, wait_message(wait), status=429)
        response.headers["Retry-After"] = str(wait)
        return response
    used = second_factor.check_code(
        unit, row.id, code, secret_key=p.settings.secret_key, now=p.clock()
    )
    if used is None:
        limiter.failed_login(unit, row.username, address, known_device=known)
        unit.commit()
        error = "Code incorrect ou déjà utilisé : attendez le code suivant de votre application."
        return _code_page(request, error, status=401)
    limiter.succeeded(unit, row.username, address, known_device=known)
    unit.commit()
    extra = {"oidc_id_token": str(pending["oidc_id_token"])} if "oidc_id_token" in pending else {}
    open_session(request, row.id, row.display_name, int(row.credential_version), **extra)
    if used == "recovery":
        left = second_factor.status(unit, row.id).codes_left
        flash(
            request,
            f"Code de secours utilisé ; il vous en reste {left}. Si vous avez perdu votre "
            "téléphone, désactivez puis réactivez la double authentification dans « Mon compte ».",
        )
    target = PASSWORD_CHANGE_PATH if row.password_temporary else str(pending["next"])
    response = see_other(target)
    if pending.get("password"):
        response.headers.append("Set-Cookie", device_cookie(request, row.username))
    return response


def _session_user(unit: UowDep, request: Request) -> Principal | None:
    try:
        return session_principal(request, unit)
    except LoginRequired:
        return None


@router.post("/deconnexion")
def logout(request: Request, unit: UowDep) -> Response:
    """Ends the session, and every other session and token of the account (a copy of the
    cookie is worth nothing after logout); after an OpenID Connect login, at the provider too."""
    id_token = request.session.get("oidc_id_token")
    client: OidcClient | None = request.app.state.oidc
    principal = _session_user(unit, request)
    if principal is not None:
        account_queries.end_sessions(unit, principal.user_id)
        unit.commit()
    request.session.clear()
    if isinstance(id_token, str) and client is not None:
        state = secrets.token_urlsafe(24)
        target = client.end_session_url(id_token, state)
        if target is not None:
            request.session["oidc_logout"] = state
            return see_other(target)
    flash(request, "Vous êtes déconnecté.")
    return see_other("/connexion")


# OpenID Connect (ProConnect) -------------------------------------------------------------
#
# The routes always exist (the access matrix lists them) and answer 404 when no provider is
# configured. A refusal renders the login page with the reason in French and writes nothing.


def _client(request: Request) -> OidcClient:
    client: OidcClient | None = request.app.state.oidc
    if client is None:
        raise HTTPException(404, "Connexion par fournisseur d'identité non configurée.")
    return client


def _refused(request: Request, message: str, status: int) -> Response:
    return _login_page(request, {"next": "/espaces", "error": message}, status=status)


@router.get("/connexion/proconnect")
def oidc_start(request: Request, suivant: str | None = None) -> Response:
    client = _client(request)
    try:
        url, transaction = client.begin(_safe_next(suivant))
    except OidcError as exc:
        log.warning("OIDC login not started: %s", exc.reason)
        return _refused(request, exc.message, exc.status)
    request.session["oidc"] = transaction.as_session()
    return see_other(url)


@router.get(CALLBACK_PATH)
def oidc_callback(request: Request, unit: UowDep, p: PlatformDep) -> Response:
    client = _client(request)
    transaction = Transaction.from_session(request.session.pop("oidc", None))
    try:
        login = client.finish(transaction, dict(request.query_params))
    except OidcError as exc:
        log.warning("OIDC login refused: %s", exc.reason)
        return _refused(request, exc.message, exc.status)
    settings = client.settings
    policy = Provisioning(
        mode=settings.provisioning,
        tenant_by_siret=settings.tenant_by_siret,
        allowed_tenants=frozenset(settings.allowed_tenants),
    )
    try:
        user_id = sign_in_agent(unit, login.identity, policy, now=p.clock())
    except LoginRefused as exc:
        log.info("OIDC login refused for SIRET %s: %s", login.identity.siret, exc)
        return _refused(request, str(exc), 403)
    unit.commit()
    row = account_queries.user_by_id(unit, user_id)
    assert row is not None and transaction is not None  # finish() refuses a missing transaction
    enrolled, _required = second_factor.gate(unit, user_id)
    if enrolled:  # the provider vouches for the person; the account's own code still applies
        version = int(row.credential_version)
        _await_code(
            request, user_id, version, transaction.next_url, False, oidc_id_token=login.id_token
        )
        return see_other(CODE_PATH)
    open_session(
        request, user_id, row.display_name, row.credential_version, oidc_id_token=login.id_token
    )
    return see_other(transaction.next_url)


@router.get(LOGOUT_RETURN_PATH)
def oidc_logged_out(request: Request) -> Response:
    """Where the provider sends the browser back after its own logout."""
    _client(request)
    expected = request.session.pop("oidc_logout", None)
    if isinstance(expected, str) and secrets.compare_digest(
        expected, request.query_params.get("state", "")
    ):
        flash(request, "Vous êtes déconnecté, y compris de votre fournisseur d'identité.")
    return see_other("/connexion")


# « Mon compte » : self-service password change ----------------------------------------------


SessionUser = Annotated[Principal, Depends(session_principal)]


def _password_page(
    request: Request, principal: Principal, error: str | None = None, status: int = 200
) -> Response:
    context = {
        "principal": principal,
        "temporary": MUST_CHANGE_NOTICE if principal.password_temporary else None,
        "error": error,
        "flash": request.session.pop("flash", None),
    }
    return render(request, "password_change.html", context, status=status)


@router.get(PASSWORD_CHANGE_PATH)
def password_form(request: Request, principal: SessionUser) -> Response:
    return _password_page(request, principal)


@router.post(PASSWORD_CHANGE_PATH)
def change_password(
    request: Request,
    unit: UowDep,
    principal: SessionUser,
    actuel: Annotated[str, Form(max_length=1000)] = "",
    nouveau: Annotated[str, Form(max_length=1000)] = "",
    confirmation: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """The current password is required; failures count as failed logins. The credential
    version is raised (every other session and token ends) and this session re-opened."""
    limiter = request.app.state.login_limiter
    address = client_address(request)
    wait = limiter.retry_after(unit, principal.username, address)
    if wait:
        return _password_page(request, principal, wait_message(wait), status=429)
    try:
        change_own_password(
            unit, user_id=principal.user_id, current=actuel, new=nouveau, confirmation=confirmation
        )
    except (InvalidInput, NotFound) as exc:
        if isinstance(exc, WrongCurrentPassword):
            limiter.failed(unit, principal.username, address)
            unit.commit()
        return _password_page(request, principal, str(exc), status=422)
    unit.commit()
    row = account_queries.user_by_id(unit, principal.user_id)
    assert row is not None
    extra = {k: v for k, v in request.session.items() if k == "oidc_id_token"}
    open_session(request, row.id, row.display_name, int(row.credential_version), **extra)
    flash(request, "Votre mot de passe a été changé ; vos autres sessions sont fermées.")
    return see_other("/espaces")


@router.get("/espaces")
def spaces(
    request: Request, unit: UowDep, principal: Annotated[Principal, Depends(page_principal)]
) -> Response:
    mine = set(account_queries.tenants_of(unit, principal.user_id))
    tenants = [t for t in account_queries.all_tenants(unit) if t.siren in mine]
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
