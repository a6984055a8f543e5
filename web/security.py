"""Security headers, CSRF tokens for HTML forms, and the login rate limiter."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from fastapi import HTTPException, Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.services import login_throttle
from engine.services.login_throttle import ThrottlePolicy
from engine.services.unit_of_work import UnitOfWork

__all__ = [
    "CSP",
    "LoginLimiter",
    "SecurityHeadersMiddleware",
    "check_csrf",
    "csrf_token",
]

_T = TypeVar("_T")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Every asset is served by the application itself: no CDN, no inline script or style."""

_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeadersMiddleware:
    """Adds the headers to every response; HSTS only when the request came over TLS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tls = scope.get("scheme") == "https"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in (*_HEADERS, *([_HSTS] if tls else [])):
                    if name.decode() not in headers:
                        headers.append(name.decode(), value.decode())
            await send(message)

        await self.app(scope, receive, send_wrapper)


CSRF_FIELD = "csrf_token"


def csrf_token(request: Request) -> str:
    """The session's token, created on first use (also for anonymous visitors: the login form)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """Refuses an unsafe request whose form does not carry the session's token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = request.session.get("csrf")
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not isinstance(sent, str):
        raise HTTPException(403, "Jeton de sécurité manquant : rechargez la page et recommencez.")
    if not hmac.compare_digest(expected, sent):
        raise HTTPException(403, "Jeton de sécurité invalide : rechargez la page et recommencez.")


class LoginLimiter:
    """Login attempts counted in the database (`engine.services.login_throttle`), so that
    every web process behind the proxy shares the same counts.

    With `uow_factory` (PostgreSQL), each count is written in a short transaction of its own,
    committed at once: the rows of one account or address are never locked for the length of
    a request. Without it (SQLite: the request already holds the database's only write lock),
    counts go into the request's unit of work and whoever records a failure commits it."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        uow_factory: Callable[[], UnitOfWork] | None = None,
        policy: ThrottlePolicy | None = None,
    ) -> None:
        self.clock = clock
        self.uow_factory = uow_factory
        self.policy = policy or ThrottlePolicy()

    def _run(
        self,
        action: Callable[..., _T],
        unit: UnitOfWork,
        username: str,
        address: str,
        **extra: bool,
    ) -> _T:
        values = {"username": username, "address": address, **extra}
        if self.uow_factory is None:
            return action(unit, self.policy, now=self.clock(), **values)
        with self.uow_factory() as own:
            result = action(own, self.policy, now=self.clock(), **values)
            own.commit()
        return result

    def begin(
        self, unit: UnitOfWork, username: str, address: str, *, known_device: bool = False
    ) -> int:
        """Count an attempt before checking its password: 0 to go ahead, else seconds to wait.
        Without a factory of its own, a failed attempt stays counted once `unit` commits."""
        return self._run(
            login_throttle.begin_attempt, unit, username, address, known_device=known_device
        )

    def retry_after(self, unit: UnitOfWork, username: str, address: str) -> int:
        """Seconds to wait before trying again; 0 when a new attempt is allowed."""
        return self._run(login_throttle.retry_after, unit, username, address)

    def failed(self, unit: UnitOfWork, username: str, address: str) -> None:
        """A failed password check that was not counted by `begin` (re-authentication)."""
        self._run(login_throttle.record_failure, unit, username, address)

    def failed_login(
        self, unit: UnitOfWork, username: str, address: str, *, known_device: bool = False
    ) -> None:
        """A wrong password or code after `begin`: the next attempt is delayed progressively."""
        self._run(
            login_throttle.record_failed_login, unit, username, address, known_device=known_device
        )

    def succeeded(
        self, unit: UnitOfWork, username: str, address: str, *, known_device: bool = False
    ) -> None:
        self._run(login_throttle.record_success, unit, username, address, known_device=known_device)
