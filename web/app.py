"""The FastAPI application factory: JSON API under /api, HTML pages elsewhere.

The factory builds what a probe goes through: the middleware, the error mapping, the health
and metrics routes. The API and page routers (their forms, schemas, services and templates)
are imported and included in a thread as soon as the server starts (the app's lifespan), so
that the liveness probe answers meanwhile: building FastAPI's routes and importing what they
use was a third of a web process's start-up CPU (`tests/cli/test_lazy_imports.py`). Until they
are in, `/health/ready` and page requests wait for them."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.bootstrap import Platform
from engine.health import ReadinessProbe
from engine.observability import metrics_registry
from engine.settings import Settings
from signatures import sandbox
from web import errors
from web.body_limit import BodyLimitMiddleware, BodyLimits
from web.internal import internal_only, is_internal
from web.logging_middleware import AccessLogMiddleware
from web.security import LoginLimiter, SecurityHeadersMiddleware
from web.sessions import SessionConfig, SessionMiddleware
from web.training import TenantClockMiddleware

if TYPE_CHECKING:
    from fastapi import APIRouter

_log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
PROBES = ("/health/", "/metrics", "/static/", "/favicon.ico")
"""Paths served without the feature routers: probes and static files."""
PUBLIC_FORM_MAX_BODY = 5 * 10_000_000 + 1_000_000
"""The citizen form's files (`web.pages.citizen.LIMITS`: 5 of 10 MB, a test keeps them equal)
and a megabyte of fields: the body limit is set up before that page module is imported."""


def feature_routers() -> tuple[APIRouter, ...]:
    """The API and page routers, in the order they are included (the first match wins)."""
    from web import previews
    from web.api import auth as api_auth
    from web.api import cases, documents, tenants
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

    return (
        api_auth.router,
        cases.router,
        documents.router,
        tenants.router,
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
    )


class FeatureRoutes:
    """Includes `feature_routers()` in the app once (`app.state.feature_routes`)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.included = False
        self._lock = threading.Lock()

    def include(self) -> None:
        """Import and include the routers, unless done, then start the PDF sandbox. Every module
        is imported before any router is included: a failing import includes nothing and the
        next request tries again. Imported without the cyclic garbage collector, then frozen
        out of its generations, like the process's start-up (`engine.cli.common.starting`)."""
        with self._lock:
            if self.included:
                return
            collecting = gc.isenabled()
            gc.disable()
            try:
                for router in feature_routers():
                    self.app.include_router(router)
            finally:
                gc.freeze()
                if collecting:
                    gc.enable()
            self.included = True
        # The bounded PDF parser's forkserver (it imports pikepdf and pyHanko: about as much CPU
        # as this process's start), started without waiting for it, before the first upload.
        sandbox.start()

    def preload(self) -> None:
        """`include` in a thread of its own, at the server's start; a failure is logged and the
        first page request tries again (and answers the error)."""

        def run() -> None:
            try:
                self.include()
            except Exception:
                _log.exception("les routes des pages n'ont pas pu être chargées")

        threading.Thread(target=run, name="feature-routes", daemon=True).start()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.feature_routes.preload()
    yield


class FeatureRoutesMiddleware:
    """Innermost: the first request that is not a probe waits for `FeatureRoutes.include`, run
    in a worker thread (probes answer meanwhile; concurrent first requests wait for one import)."""

    def __init__(self, app: ASGIApp, routes: FeatureRoutes) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            not self.routes.included
            and scope["type"] in ("http", "websocket")
            and not scope["path"].startswith(PROBES)
        ):
            await run_in_threadpool(self.routes.include)
        await self.app(scope, receive, send)


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
        lifespan=_lifespan,
    )
    app.state.platform = platform
    # SQLite has one writer, held by the request: the limiter then writes in its transaction.
    own = None if platform.one_writer else platform.uow
    app.state.login_limiter = LoginLimiter(clock=platform.clock, uow_factory=own)
    oidc = platform.settings.oidc
    app.state.oidc = None
    if oidc.enabled:
        from web.oidc import OidcClient

        app.state.oidc = OidcClient(oidc)
    app.state.feature_routes = FeatureRoutes(app)
    errors.install(app)
    app.add_middleware(FeatureRoutesMiddleware, routes=app.state.feature_routes)  # innermost
    app.add_middleware(TenantClockMiddleware, uow_factory=platform.reader)
    app.add_middleware(BodyLimitMiddleware, limits=_body_limits(platform.settings))  # in session
    app.add_middleware(errors.UnavailableMiddleware)  # in session: its page shows who is in
    app.add_middleware(SessionMiddleware, config=SessionConfig(platform.settings.secret_key))
    if app.state.oidc is not None:  # inside the security headers: its CSP wins
        from web.oidc import FormActionMiddleware

        app.add_middleware(FormActionMiddleware, origin=app.state.oidc.origin)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(AccessLogMiddleware)  # outermost: its request id covers every log line
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _health_routes(app, platform, ReadinessProbe(platform, broker=broker), app.state.feature_routes)

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
        from web.templating import render

        return render(request, "api_docs.html", {"spec": app.openapi()})

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(internal_only)])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    return app


def _body_limits(settings: Settings) -> BodyLimits:
    return BodyLimits(
        anonymous=settings.anonymous_max_body_bytes,
        public_form=PUBLIC_FORM_MAX_BODY,
        authenticated=settings.max_upload_bytes + 1024 * 1024,
    )


def _health_routes(
    app: FastAPI, platform: Platform, probe: ReadinessProbe, routes: FeatureRoutes
) -> None:
    registry = metrics_registry(platform)

    @app.get("/health/live", tags=["santé"])
    def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", tags=["santé"])
    def ready(internal: Annotated[bool, Depends(is_internal)]) -> JSONResponse:
        """Database, broker, object store with Object Lock, time-stamping authority; which
        component fails only for the operator and internal networks. Not before the pages'
        routes are in: this waits for `FeatureRoutes.preload` (a second or so after the start),
        so a load balancer sends no page to a process that would make it wait."""
        try:
            routes.include()
        except Exception:
            _log.exception("les routes des pages n'ont pas pu être chargées")
            detail = "pages non chargées" if internal else "La plateforme n'est pas prête."
            return errors.problem(503, "Indisponible", detail)
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
