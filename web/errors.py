"""The one table from engine errors to HTTP status, rendered as problem+json (RFC 9457) for the
API and as an HTML page for the browser."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.domain.errors import (
    Conflict,
    DematflowError,
    Forbidden,
    FormValidationError,
    InvalidInput,
    ModelError,
    NotFound,
    ProcessDefinitionError,
    Unavailable,
)
from web.auth import LoginRequired, PasswordChangeRequired

STATUS: list[tuple[type[Exception], int, str]] = [
    (FormValidationError, 422, "Formulaire invalide"),
    (NotFound, 404, "Introuvable"),
    (Conflict, 409, "Conflit"),
    (Forbidden, 403, "Action non autorisée"),
    (ProcessDefinitionError, 422, "Définition de procédure invalide"),
    (InvalidInput, 422, "Requête invalide"),
    (ModelError, 409, "Erreur dans le modèle de procédure"),
    (Unavailable, 503, "Service momentanément indisponible"),
    (DematflowError, 500, "Erreur"),
]

HTTP_TITLES = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Méthode non autorisée",
    409: "Conflit",
    413: "Fichier trop volumineux",
    422: "Requête invalide",
    429: "Trop de tentatives",
}


def status_of(exc: Exception) -> tuple[int, str]:
    """HTTP status and French title of an engine error."""
    for cls, status, title in STATUS:
        if isinstance(exc, cls):
            return status, title
    return 500, "Erreur"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api", "/health", "/openapi"))


def _page(request: Request, status: int, title: str, detail: str) -> Response:
    from web.templating import render

    return render(
        request, "error.html", {"title": title, "detail": detail, "status": status}, status=status
    )


def _engine_error(request: Request, exc: Exception) -> Response:
    status, title = status_of(exc)
    detail = str(exc) if status < 500 else "Erreur interne."
    if isinstance(exc, ModelError | Unavailable):
        detail = str(exc)
    if wants_html(request):
        response = _page(request, status, title, detail)
    else:
        extra: dict[str, Any] = {}
        if isinstance(exc, FormValidationError):
            extra["errors"] = [{"field": e.path, "message": e.message} for e in exc.errors]
        response = problem(status, title, detail, **extra)
    if isinstance(exc, Unavailable):
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


RETRY_AFTER_S = 10
"""What a 503 asks the client to wait (the database is usually back within seconds)."""


class UnavailableMiddleware:
    """`Unavailable` raised by a middleware inside this one (the tenant clock reads the
    database before any route) gets the same 503 page or problem+json as from a route, not a
    bare 500; once a response has started, the error goes on up."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Unavailable as exc:
            if started:
                raise
            await _engine_error(Request(scope, receive), exc)(scope, receive, send)


def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": "/".join(str(p) for p in err.get("loc", ())[1:]), "message": err.get("msg", "")}
        for err in exc.errors()
    ]
    if wants_html(request):
        return _page(request, 422, "Requête invalide", "Certains champs sont invalides.")
    return problem(422, "Requête invalide", "Certains champs sont invalides.", errors=errors)


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    title = HTTP_TITLES.get(exc.status_code, "Erreur")
    detail = str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = "Cette page n'existe pas ou vous n'y avez pas accès."
    elif exc.status_code == 405 and detail == "Method Not Allowed":
        detail = "Cette action n'est pas possible à cette adresse."
    response = (
        _page(request, exc.status_code, title, detail)
        if wants_html(request)
        else problem(exc.status_code, title, detail)
    )
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


def _login_required(_request: Request, exc: Exception) -> Response:
    from urllib.parse import quote

    assert isinstance(exc, LoginRequired)
    if isinstance(exc, PasswordChangeRequired):
        return RedirectResponse(exc.next_url, status_code=303)
    return RedirectResponse(f"/connexion?suivant={quote(exc.next_url, safe='/')}", status_code=303)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DematflowError, _engine_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(LoginRequired, _login_required)
