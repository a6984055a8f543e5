"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.bootstrap import Platform
from engine.settings import Settings
from web import errors
from web.api import cases


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> FastAPI:
    if platform is None:
        from engine.worker.app import connect_platform

        _celery, platform = connect_platform(settings or Settings())
    app = FastAPI(
        title="dematflow",
        version="0.1.0",
        description="Procédures, signatures et archivage des collectivités.",
    )
    app.state.platform = platform
    errors.install(app)

    @app.exception_handler(StarletteHTTPException)
    def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = errors.problem(exc.status_code, "Erreur", str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.get("/health/live", tags=["santé"])
    def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", tags=["santé"])
    def ready() -> JSONResponse:
        try:
            with platform.db.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            return errors.problem(
                503, "Indisponible", f"base de données : {exc.__class__.__name__}"
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    app.include_router(cases.router)
    return app
