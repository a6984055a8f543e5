"""Signed session cookies (HMAC-SHA256, stdlib only): the session lives in the cookie, not a table.

The cookie holds a small JSON document, its issue time and an HMAC over both. A cookie that was
altered, signed with another key or older than `max_age` is ignored (the visitor starts a fresh,
anonymous session). The user row is read again on every request, so a deactivated account loses
access at once even though the cookie itself cannot be revoked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SessionConfig", "SessionMiddleware", "sign", "unsign"]


@dataclass(frozen=True)
class SessionConfig:
    """How session cookies are signed and sent."""

    secret_key: str
    """Key of the HMAC; changing it logs everybody out."""
    cookie_name: str = "dematflow_session"
    """Name of the cookie."""
    max_age: int = 8 * 3600
    """Seconds a session stays valid after it was last written."""
    https_only: bool | None = None
    """Send the cookie only over TLS; None decides from the request's scheme."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, message: str) -> str:
    return _b64(hmac.new(key, message.encode("ascii"), hashlib.sha256).digest())


def sign(key: bytes, data: dict[str, Any], *, now: float | None = None) -> str:
    """`payload.issued.mac`, all URL-safe."""
    payload = _b64(json.dumps(data, separators=(",", ":"), sort_keys=True).encode())
    body = f"{payload}.{int(now if now is not None else time.time())}"
    return f"{body}.{_mac(key, body)}"


def unsign(key: bytes, value: str, *, max_age: int, now: float | None = None) -> dict[str, Any]:
    """The signed data, or an empty dict when the value is forged, malformed or expired."""
    try:
        payload, issued, mac = value.split(".")
        body = f"{payload}.{issued}"
        if not hmac.compare_digest(mac, _mac(key, body)):
            return {}
        if (now if now is not None else time.time()) - int(issued) > max_age:
            return {}
        data = json.loads(_unb64(payload))
    except (ValueError, UnicodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _derive(secret: str) -> bytes:
    return hashlib.sha256(b"dematflow-session\x00" + secret.encode()).digest()


class SessionMiddleware:
    """Puts `scope["session"]` (a dict) in every HTTP request; writes it back when it changed."""

    def __init__(self, app: ASGIApp, config: SessionConfig) -> None:
        self.app = app
        self.config = config
        self.key = _derive(config.secret_key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        original = self._read(scope)
        scope["session"] = dict(original)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                session = scope["session"]
                if session != original:
                    headers = MutableHeaders(scope=message)
                    headers.append("Set-Cookie", self._cookie(scope, session))
            await send(message)

        await self.app(scope, receive, send_wrapper)

    def _read(self, scope: Scope) -> dict[str, Any]:
        for name, value in scope.get("headers", ()):
            if name != b"cookie":
                continue
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(value.decode("latin-1"))
            except Exception:  # malformed header from the client: start afresh
                return {}
            morsel = cookie.get(self.config.cookie_name)
            if morsel is not None:
                return unsign(self.key, morsel.value, max_age=self.config.max_age)
        return {}

    def _cookie(self, scope: Scope, session: dict[str, Any]) -> str:
        secure = self.config.https_only
        if secure is None:
            secure = scope.get("scheme") == "https"
        flags = "Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
        if not session:
            return f"{self.config.cookie_name}=; Max-Age=0; {flags}"
        value = sign(self.key, session)
        return f"{self.config.cookie_name}={value}; Max-Age={self.config.max_age}; {flags}"
