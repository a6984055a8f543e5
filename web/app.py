"""The FastAPI application factory: JSON API under /api, HTML pages elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from engine.bootstrap import Platform
from engine.health import ReadinessProbe
from engine.observability import metrics_registry
from engine.settings import Settings
from signatures import sandbox
from web import errors, previews
from web.api import auth as api_auth
from web.api import cases, documents, tenants
from web.body_limit import BodyLimitMiddleware, BodyLimits
from web.internal import internal_only, is_internal
from web.logging_middleware import AccessLogMiddleware
from web.oidc import FormActionMiddleware, OidcClient
from web.pages import (
    admin,
    archives,
    citizen,
    council,
    counter,
    diagrams,
    public,
    signatory,
    task_lists,
    training,
)
from web.pages import auth as auth_pages
from web.pages import case_messages as case_message_pages
from web.pages import cases as case_pages
from web.pages import delegations as delegation_pages
from web.security import LoginLimiter, SecurityHeadersMiddleware
from web.sessions import SessionConfig, SessionMiddleware
from web.templating import render
from web.training import TenantClockMiddleware

STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> FastAPI:
    broker: Callable[[], None] | None = None
    if platform is None:
        from engine.worker.app import broker_ping, connect_platform

        celery, platform = connect_platform(settings or Settings())

        def broker() -> None:
            broker_ping(celery)

    app = FastAPI(
        title="dematflow",
        version="0.1.0",
        description="Procédures, signatures et archivage des collectivités.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below, to the operator and internal networks only
    )
    app.state.platform = platform
    sandbox.start()  # the bounded PDF parser's forkserver, ready before the first upload
    # SQLite has one writer, held by the request: the limiter then writes in its transaction.
    own = None if platform.one_writer else platform.uow
    app.state.login_limiter = LoginLimiter(clock=platform.clock, uow_factory=own)
    oidc = platform.settings.oidc
    app.state.oidc = OidcClient(oidc) if oidc.enabled else None
    errors.install(app)
    app.add_middleware(TenantClockMiddleware, uow_factory=platform.reader)  # innermost
    app.add_middleware(BodyLimitMiddleware, limits=_body_limits(platform.settings))  # in session
    app.add_middleware(errors.UnavailableMiddleware)  # in session: its page shows who is in
    app.add_middleware(SessionMiddleware, config=SessionConfig(platform.settings.secret_key))
    if app.state.oidc is not None:  # inside the security headers: its CSP wins
        app.add_middleware(FormActionMiddleware, origin=app.state.oidc.origin)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(AccessLogMiddleware)  # outermost: its request id covers every log line
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _health_routes(app, platform, ReadinessProbe(platform, broker=broker))

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        """Browsers ask for it whatever the page links to (web/static/favicon.svg is its source)."""
        return FileResponse(
            STATIC / "favicon.ico",
            media_type="image/x-icon",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/api/docs", include_in_schema=False, dependencies=[Depends(internal_only)])
    def api_docs(request: Request) -> Response:
        """The OpenAPI description as a plain page: no script from a CDN."""
        return render(request, "api_docs.html", {"spec": app.openapi()})

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(internal_only)])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    for router in (api_auth.router, cases.router, documents.router, tenants.router):
        app.include_router(router)
    for page_router in (
        auth_pages.router,
        case_pages.router,
        case_message_pages.router,
        task_lists.router,
        delegation_pages.router,
        previews.router,
        signatory.router,
        archives.router,
        admin.router,
        council.router,
        training.router,
        public.router,
        citizen.router,
        counter.router,
        diagrams.router,
    ):
        app.include_router(page_router)
    return app


def _body_limits(settings: Settings) -> BodyLimits:
    form = citizen.LIMITS
    return BodyLimits(
        anonymous=settings.anonymous_max_body_bytes,
        public_form=form.max_files * form.max_bytes + 1_000_000,
        authenticated=settings.max_upload_bytes + 1024 * 1024,
    )


def _health_routes(app: FastAPI, platform: Platform, probe: ReadinessProbe) -> None:
    registry = metrics_registry(platform)

    @app.get("/health/live", tags=["santé"])
    def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", tags=["santé"])
    def ready(internal: Annotated[bool, Depends(is_internal)]) -> JSONResponse:
        """Database, broker, object store with Object Lock, time-stamping authority; which
        component fails only for the operator and internal networks."""
        readiness = probe.run()
        checks = {c.name: {"ok": c.ok, "detail": c.detail} for c in readiness.checks}
        if not readiness.ready:
            if not internal:
                return errors.problem(503, "Indisponible", "La plateforme n'est pas prête.")
            failing = ", ".join(c.name for c in readiness.checks if not c.ok)
            return errors.problem(
                503, "Indisponible", f"services en défaut : {failing}", checks=checks
            )
        return JSONResponse({"status": "ok", "checks": checks} if internal else {"status": "ok"})

    @app.get("/metrics", include_in_schema=False, dependencies=[Depends(internal_only)])
    def metrics() -> Response:
        """Prometheus metrics (platform-wide figures, no tenant or personal data)."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
