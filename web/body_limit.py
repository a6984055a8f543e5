"""Request-body limits enforced as the bytes arrive, in front of every route.

Starlette reads a multipart body whole (spooled to disk) before a route's dependencies run,
authentication included: a limit checked in the route comes too late. This pure ASGI middleware
refuses a declared `Content-Length` over the limit before reading anything, and counts the bytes
of a chunked (or lying) body as they stream in, refusing as soon as the limit is crossed: 413,
problem+json for the API, a French page for the browser.

The limit depends on who asks, as far as can be told without a database: a request with neither a
signed session of a user nor an `Authorization` header is anonymous and gets a few kilobytes
(login forms, tokens); the citizen form, which needs a signed session for its CSRF token, gets
its own files' limit; an authenticated request gets the upload limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.errors import problem, wants_html

__all__ = ["BodyLimitMiddleware", "BodyLimits"]


@dataclass(frozen=True)
class BodyLimits:
    """Largest request bodies accepted, in bytes."""

    anonymous: int
    """No user session and no `Authorization` header: login forms, tokens, callbacks."""
    public_form: int
    """The citizen form (`public_form_prefix`) with a signed session: its files and fields."""
    authenticated: int
    """A user session or credentials: the upload limit plus the multipart envelope."""
    public_form_prefix: str = "/demarches/"

    def for_scope(self, scope: Scope) -> int:
        session = scope.get("session") or {}
        if session.get("user") or any(name == b"authorization" for name, _ in scope["headers"]):
            return self.authenticated
        if session and scope["path"].startswith(self.public_form_prefix):
            return self.public_form
        return self.anonymous


class BodyTooLarge(Exception):
    """Raised inside the application when its body crosses the limit."""


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _megabytes(size: int) -> str:
    if size < 1_000_000:
        return f"{max(1, size // 1000)} ko"
    return f"{size // 1_000_000} Mo"


class BodyLimitMiddleware:
    """Refuses bodies over `BodyLimits.for_scope` (inside the session middleware: it reads the
    verified session)."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_scope(scope)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, send, limit)
            return
        received = 0
        exceeded = False
        started = False
        replaced = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started, replaced
            if exceeded and not started:
                # Whatever the application made of the interrupted body (FastAPI turns it into
                # a 400), the answer is the 413.
                if not replaced:
                    replaced = True
                    await self._refuse(scope, send, limit)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if not started and not replaced:
                await self._refuse(scope, send, limit)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        request = Request(scope)
        detail = f"Envoi trop volumineux : {_megabytes(limit)} au plus pour cette adresse."
        response: Response
        if wants_html(request):
            from web.templating import render

            response = render(
                request,
                "error.html",
                {"title": "Envoi trop volumineux", "detail": detail, "status": 413},
                status=413,
            )
        else:
            response = problem(413, "Envoi trop volumineux", detail)
        response.headers["Connection"] = "close"
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
