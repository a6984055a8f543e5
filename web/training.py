"""The request edge of a training tenant: its pages and API calls run on the tenant's clock.

A request under a tenant's space (`/c/<siren>/…`, the API, the public register, the citizen
forms) enters the tenant's clock before anything runs: the platform clock then reads the
tenant's time for every service the request calls, and the pages show the FORMATION banner.
"""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.domain.training import TenantClock, on_tenant_clock
from engine.services.tenant_clock import tenant_clock
from engine.services.unit_of_work import UnitOfWorkFactory

TENANT_PATH = re.compile(r"^/(?:c|api/tenants|registre|demarches)/(\d{9})(?:/|$)")
"""Paths whose first segment after the area names the tenant (its SIREN)."""


class TenantClockMiddleware:
    """Runs each request naming a tenant on that tenant's clock."""

    def __init__(self, app: ASGIApp, *, uow_factory: UnitOfWorkFactory) -> None:
        self.app = app
        self.uow_factory = uow_factory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = TENANT_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        # A reading unit (the platform's `reader`) takes no writer lock, so this read does not
        # queue behind a long write; it runs in a worker thread all the same, as the event loop
        # must never wait on the database (it froze when a locked read ran on it).
        clock = await run_in_threadpool(self._clock, match.group(1))
        with on_tenant_clock(clock):
            await self.app(scope, receive, send)

    def _clock(self, siren: str) -> TenantClock:
        with self.uow_factory() as uow:
            return tenant_clock(uow, siren)  # the real clock for an unknown tenant
