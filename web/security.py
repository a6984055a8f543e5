"""Security headers, CSRF tokens for HTML forms, and the login rate limiter."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CSP",
    "LoginLimiter",
    "SecurityHeadersMiddleware",
    "check_csrf",
    "csrf_token",
]

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


@dataclass(frozen=True)
class LimiterConfig:
    """How many failed logins are allowed, per account and per client address."""

    per_account: int = 5
    """Failures allowed for one username in `window` seconds."""
    per_address: int = 20
    """Failures allowed from one client address in `window` seconds."""
    window: float = 15 * 60
    """Sliding window in seconds."""


class LoginLimiter:
    """Counts failed logins in memory, per process (one web process in the embedded default).

    With several web processes each keeps its own count: the limit is then multiplied by the
    number of processes, which still stops online password guessing at scale."""

    def __init__(
        self, config: LimiterConfig | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config or LimiterConfig()
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] > self.config.window:
            times.popleft()
        return times

    def retry_after(self, username: str, address: str) -> int:
        """Seconds to wait before trying again; 0 when a new attempt is allowed."""
        now = self.clock()
        with self._lock:
            waits = []
            for key, limit in (
                (f"u:{username}", self.config.per_account),
                (f"a:{address}", self.config.per_address),
            ):
                times = self._recent(key, now)
                if len(times) >= limit:
                    waits.append(int(self.config.window - (now - times[0])) + 1)
            return max(waits, default=0)

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in (f"u:{username}", f"a:{address}"):
                self._recent(key, now).append(now)
            if len(self._failures) > 100_000:  # bound memory under a distributed attack
                self._failures = {k: v for k, v in self._failures.items() if v}

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"u:{username}", None)
