"""The one table from engine errors to HTTP status, rendered as problem+json (RFC 9457)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from engine.domain.errors import (
    Conflict,
    DematflowError,
    Forbidden,
    FormValidationError,
    InvalidInput,
    ModelError,
    NotFound,
    ProcessDefinitionError,
)

STATUS: list[tuple[type[Exception], int, str]] = [
    (FormValidationError, 422, "Formulaire invalide"),
    (NotFound, 404, "Introuvable"),
    (Conflict, 409, "Conflit"),
    (Forbidden, 403, "Action non autorisée"),
    (ProcessDefinitionError, 422, "Définition de procédure invalide"),
    (InvalidInput, 422, "Requête invalide"),
    (ModelError, 500, "Erreur dans le modèle de procédure"),
    (DematflowError, 500, "Erreur"),
]


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _engine_error(_request: Request, exc: Exception) -> JSONResponse:
    for cls, status, title in STATUS:
        if isinstance(exc, cls):
            extra: dict[str, Any] = {}
            if isinstance(exc, FormValidationError):
                extra["errors"] = [{"field": e.path, "message": e.message} for e in exc.errors]
            return problem(status, title, str(exc), **extra)
    return problem(500, "Erreur", "Erreur interne.")


def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": "/".join(str(p) for p in err.get("loc", ())[1:]), "message": err.get("msg", "")}
        for err in exc.errors()
    ]
    return problem(422, "Requête invalide", "Certains champs sont invalides.", errors=errors)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DematflowError, _engine_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
