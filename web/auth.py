"""Who is asking, and what they may do in a tenant: one dependency per kind of client.

Browser pages authenticate with the session cookie; API clients with HTTP Basic (the password
in every request) or a bearer token obtained from `/api/auth/token`. Tenant routes then check
membership and role in one place: a tenant the user does not belong to answers 404, a role the
user lacks answers 403.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBasic, HTTPBearer

from engine.bootstrap import Platform
from engine.domain.model import Actor, Tenant
from engine.services.queries import accounts as account_queries
from engine.services.unit_of_work import UnitOfWork
from web.deps import UowDep
from web.security import LoginLimiter
from web.sessions import sign, unsign

__all__ = [
    "MUST_CHANGE_NOTICE",
    "PASSWORD_CHANGE_PATH",
    "SECOND_FACTOR_PATH",
    "LoginRequired",
    "PasswordChangeRequired",
    "Principal",
    "SecondFactorSetupRequired",
    "TenantAccess",
    "api_access",
    "api_principal",
    "authenticate",
    "device_cookie",
    "issue_token",
    "known_device",
    "open_session",
    "operator_of",
    "page_access",
    "page_principal",
    "session_principal",
    "wait_message",
]

TOKEN_TTL = 3600
"""Seconds an API bearer token is valid."""

_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$1Q0k3yF0vXSz2Y0xq1b8mW0qk1Hq8m3Q2y6kqzH6k1c"
)
"""Verified against when the user does not exist, so timing does not reveal valid usernames."""

basic = HTTPBasic(auto_error=False, realm="dematflow")
bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Principal:
    """An authenticated, active user."""

    user_id: uuid.UUID
    username: str
    display_name: str
    is_operator: bool
    password_confirmed: bool = False
    """The password came with this very request (HTTP Basic): it counts as a confirmation."""
    credential_version: int = 0
    """The account's credential version: cookies and tokens carry it and die when it rises."""
    password_temporary: bool = False
    """Set by an admin: it only opens the page to choose a new password."""
    second_factor: bool = False
    """The account has a second factor (TOTP): every login asks for a code."""
    second_factor_missing: bool = False
    """A tenant requires a second factor of this member, who has none yet: only the
    enrolment page opens."""


@dataclass(frozen=True)
class TenantAccess:
    """A principal inside one tenant, with the roles they hold there."""

    principal: Principal
    tenant: Tenant
    roles: frozenset[str]

    @property
    def actor(self) -> Actor:
        return Actor(
            user_id=f"user:{self.principal.username}",
            roles=self.roles,
            display_name=self.principal.display_name,
        )


class LoginRequired(Exception):
    """A page needs a session; the app answers with a redirection to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PasswordChangeRequired(LoginRequired):
    """The password is temporary: every page but the change page redirects there."""


class SecondFactorSetupRequired(PasswordChangeRequired):
    """A second factor is required and missing: every page redirects to its enrolment."""


PASSWORD_CHANGE_PATH = "/compte/mot-de-passe"  # noqa: S105 (a path)
SECOND_FACTOR_PATH = "/compte/double-authentification"
SETUP_NOTICE = (
    "Votre collectivité exige la double authentification pour votre rôle : activez-la sur la "
    "page « Mon compte » (/compte/double-authentification) avant toute autre action."
)
MUST_CHANGE_NOTICE = (
    "Votre mot de passe est provisoire (choisi par un administrateur) : choisissez le vôtre "
    "sur la page « Mon compte » avant toute autre action."
)


class TooManyAttempts(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def _principal(unit: UnitOfWork, row: Any, *, confirmed: bool = False) -> Principal:
    from engine.services import second_factor  # cryptography, segno: not for a probe

    enrolled, required = second_factor.gate(unit, row.id)
    return Principal(
        row.id,
        row.username,
        row.display_name,
        bool(row.is_operator),
        confirmed,
        int(row.credential_version),
        bool(row.password_temporary),
        enrolled,
        required and not enrolled,
    )


def authenticate(
    unit: UnitOfWork,
    limiter: LoginLimiter,
    *,
    username: str,
    password: str,
    address: str,
    known_device: bool = False,
) -> Principal | None:
    """Check a username and password; TooManyAttempts after repeated failures or too soon
    after the last one (progressive delay). With a second factor the attempt stays counted
    until the code is checked too (a right password does not reset the code's attempts)."""
    from engine.services.admin import check_password  # argon2, the BPMN runtime: idem

    username = username.strip().lower()
    # Counted before the check: a strict bound across processes. On SQLite the count is in the
    # request's transaction, so a failure commits it here.
    wait = limiter.begin(unit, username, address, known_device=known_device)
    if wait:
        raise TooManyAttempts(wait)
    row = account_queries.user_by_username(unit, username)
    if row is None or not row.active:
        check_password(_DUMMY_HASH, password + secrets.token_hex(4))
    elif check_password(row.password_hash, password):
        principal = _principal(unit, row, confirmed=True)
        if not principal.second_factor:
            limiter.succeeded(unit, username, address, known_device=known_device)
        return principal
    limiter.failed_login(unit, username, address, known_device=known_device)
    unit.commit()
    return None


def wait_message(seconds: int) -> str:
    """« Trop de tentatives : réessayez dans … » in seconds or minutes."""
    if seconds < 120:
        return f"Trop de tentatives : réessayez dans {seconds} seconde(s)."
    return f"Trop de tentatives : réessayez dans {max(1, round(seconds / 60))} minute(s)."


DEVICE_COOKIE = "dematflow_appareil"
DEVICE_TTL = 180 * 24 * 3600
"""Seconds a browser stays known for an account after a successful login."""


def _device_key(request: Request) -> bytes:
    secret: str = request.app.state.platform.settings.secret_key
    return hashlib.sha256(b"dematflow-device\x00" + secret.encode()).digest()


def known_device(request: Request, username: str) -> bool:
    """This browser logged in to this account before (a signed cookie, OWASP's device cookie):
    the account-wide attempt limit does not hold it back."""
    value = request.cookies.get(DEVICE_COOKIE, "")
    data = unsign(_device_key(request), value, max_age=DEVICE_TTL) if value else {}
    return data.get("u") == username.strip().lower()


def device_cookie(request: Request, username: str) -> str:
    """The Set-Cookie value that makes this browser known for the account."""
    value = sign(_device_key(request), {"u": username.strip().lower()})
    secure = "; Secure" if request.url.scheme == "https" else ""
    return f"{DEVICE_COOKIE}={value}; Max-Age={DEVICE_TTL}; Path=/connexion; HttpOnly; SameSite=Strict{secure}"


def _token_key(request: Request) -> bytes:
    secret: str = request.app.state.platform.settings.secret_key
    return hashlib.sha256(b"dematflow-api-token\x00" + secret.encode()).digest()


def issue_token(request: Request, principal: Principal) -> str:
    return sign(
        _token_key(request), {"u": str(principal.user_id), "v": principal.credential_version}
    )


def _active_user(unit: UnitOfWork, signed: dict[str, Any], *, id_key: str) -> Principal | None:
    """The active user a signed cookie or token names, if it carries their current credential
    version (logout, a new password, new roles or a deactivation raise it)."""
    try:
        row = account_queries.user_by_id(unit, uuid.UUID(str(signed.get(id_key, ""))))
    except ValueError:
        return None
    if row is None or not row.active:
        return None
    version = signed.get("v")
    if not isinstance(version, int) or version != row.credential_version:
        return None
    return _principal(unit, row)


def operator_of(request: Request, platform: Platform) -> bool:
    """The session cookie or bearer token is the platform operator's (a short transaction of
    its own: for routes that otherwise need no database)."""
    session = request.session if "session" in request.scope else {}
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if not session.get("user") and not token:
        return False
    with platform.uow() as unit:
        principal = _active_user(unit, session, id_key="user") if session.get("user") else None
        if principal is None and token:
            data = unsign(_token_key(request), token, max_age=TOKEN_TTL)
            principal = _active_user(unit, data, id_key="u")
    return (
        principal is not None
        and principal.is_operator
        and not principal.password_temporary
        and not principal.second_factor_missing
    )


def open_session(request: Request, user_id: object, name: str, version: int, **extra: str) -> None:
    """A new session on login: nothing chosen before authentication survives it."""
    request.session.clear()
    request.session.update(
        user=str(user_id), v=version, name=name, csrf=secrets.token_urlsafe(32), **extra
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "?"


_UNAUTHORIZED = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="Authentification requise.",
    headers={"WWW-Authenticate": 'Basic realm="dematflow", Bearer'},
)


def api_principal(
    request: Request,
    unit: UowDep,
    credentials: Annotated[Any, Depends(basic)],
    token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """HTTP Basic or a bearer token; cookies are not accepted here (no CSRF on the API)."""
    if token is not None and token.scheme.lower() == "bearer":
        data = unsign(_token_key(request), token.credentials, max_age=TOKEN_TTL)
        principal = _active_user(unit, data, id_key="u")
        if principal is None:
            raise _UNAUTHORIZED
        return _api_allowed(principal)
    if credentials is None:
        raise _UNAUTHORIZED
    limiter: LoginLimiter = request.app.state.login_limiter
    try:
        principal = authenticate(
            unit,
            limiter,
            username=credentials.username,
            password=credentials.password,
            address=client_address(request),
        )
    except TooManyAttempts as exc:
        raise HTTPException(
            429,
            f"Trop de tentatives de connexion ; réessayez dans {exc.retry_after} seconde(s).",
            headers={"Retry-After": str(exc.retry_after)},
        ) from exc
    if principal is None:
        raise _UNAUTHORIZED
    if principal.second_factor:
        _api_code(request, unit, limiter, principal)
    return _api_allowed(principal)


OTP_HEADER = "X-OTP"
"""With HTTP Basic, the code of an account that has a second factor (once per code)."""


def _api_code(
    request: Request, unit: UnitOfWork, limiter: LoginLimiter, principal: Principal
) -> None:
    """HTTP Basic for an account with a second factor also needs a fresh code in `X-OTP`
    (obtain a bearer token with it, then use the token): tokens are only issued after both."""
    from engine.services import second_factor

    code = request.headers.get(OTP_HEADER, "")
    address = client_address(request)
    if code and second_factor.check_code(
        unit,
        principal.user_id,
        code,
        secret_key=request.app.state.platform.settings.secret_key,
        now=request.app.state.platform.clock(),
    ):
        limiter.succeeded(unit, principal.username, address)
        unit.commit()  # the code is used up whatever the request does next
        return
    if code:
        limiter.failed_login(unit, principal.username, address)
    unit.commit()
    raise HTTPException(
        401,
        "Ce compte est protégé par la double authentification : joignez un code valide (6 "
        f"chiffres de votre application, utilisable une fois) dans l'en-tête {OTP_HEADER}.",
        headers={"WWW-Authenticate": 'Basic realm="dematflow"'},
    )


def _api_allowed(principal: Principal) -> Principal:
    """The API (and its tokens) refuses a temporary password, and an account that must have a
    second factor and has none yet."""
    if principal.password_temporary:
        raise HTTPException(403, MUST_CHANGE_NOTICE)
    if principal.second_factor_missing:
        raise HTTPException(403, SETUP_NOTICE)
    return principal


def session_principal(request: Request, unit: UowDep) -> Principal:
    """The user of the session cookie, even with a temporary password (the change page and
    logout only), or a redirection to the login page."""
    principal = _active_user(unit, request.session, id_key="user")
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return principal


def page_principal(request: Request, unit: UowDep) -> Principal:
    """The user of the session cookie, or a redirection to the login page (to the change
    page while the password is temporary, to the second factor's enrolment while a required
    one is missing)."""
    principal = session_principal(request, unit)
    if principal.password_temporary:
        raise PasswordChangeRequired(PASSWORD_CHANGE_PATH)
    if principal.second_factor_missing:
        raise SecondFactorSetupRequired(SECOND_FACTOR_PATH)
    return principal


def _access(
    unit: UnitOfWork, principal: Principal, tenant: str, roles: tuple[str, ...]
) -> TenantAccess:
    held = (
        account_queries.roles_in(unit, principal.user_id, tenant)
        if len(tenant) == 9
        else frozenset()
    )
    if not held:
        raise HTTPException(404, "Collectivité introuvable.")
    if roles and not held & set(roles):
        raise HTTPException(403, "Votre rôle ne permet pas d'accéder à cette page.")
    found = account_queries.find_tenant(unit, tenant)
    if found is None:
        raise HTTPException(404, "Collectivité introuvable.")
    return TenantAccess(principal, found, held)


def page_access(*roles: str) -> Callable[..., TenantAccess]:
    """Dependency for a tenant page: member of `tenant` holding one of `roles` (any if empty)."""

    def dependency(
        tenant: str, unit: UowDep, principal: Annotated[Principal, Depends(page_principal)]
    ) -> TenantAccess:
        return _access(unit, principal, tenant, roles)

    return dependency


def api_access(*roles: str) -> Callable[..., TenantAccess]:
    """Dependency for a tenant API route: same rules as pages, API authentication."""

    def dependency(
        tenant: str, unit: UowDep, principal: Annotated[Principal, Depends(api_principal)]
    ) -> TenantAccess:
        return _access(unit, principal, tenant, roles)

    return dependency


def require_operator(principal: Principal) -> Principal:
    if not principal.is_operator:
        raise HTTPException(403, "Réservé à l'exploitant de la plateforme.")
    return principal


def page_operator(principal: Annotated[Principal, Depends(page_principal)]) -> Principal:
    return require_operator(principal)


def api_operator(principal: Annotated[Principal, Depends(api_principal)]) -> Principal:
    return require_operator(principal)
