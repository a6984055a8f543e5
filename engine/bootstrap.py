"""Wires the engine for an entry point (web, worker, CLI): database, operations, job dispatch."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from engine.persistence.db import make_engine
from engine.persistence.migrate import upgrade
from engine.persistence.uow import JobDispatcher, UnitOfWork
from engine.services.admin import Deployment, deploy_directory
from engine.services.operations import OperationRegistry, register_builtin_operations
from engine.settings import Settings

log = logging.getLogger(__name__)

OPERATION_PROVIDERS: tuple[str, ...] = (
    "engine.services.signing_operations",
    "engine.services.connector_operations",
    "engine.services.archive_operations",
)
"""Modules with `register(registry, settings)` adding the leaf libraries' operations."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Platform:
    """Everything an entry point needs, built once from Settings."""

    settings: Settings
    db: Engine
    operations: OperationRegistry
    dispatch: JobDispatcher | None = None
    clock: Callable[[], datetime] = utcnow
    extras: dict[str, object] = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.db, self.dispatch, self.seal_journal)

    def seal_journal(self, tenant: str) -> None:
        """Seal the tenant's journal now (tenant created, package archived); never raises: when
        the archive store is down or not configured, the periodic seal catches up."""
        from engine.jobs.journal_seals import seal_when_possible

        seal_when_possible(self.uow, self.settings, self.extras, tenant, now=self.clock())

    def queue_of(self, operation: str) -> str:
        return self.operations.get(operation).queue


def build_operations(settings: Settings, extra_modules: Sequence[str] = ()) -> OperationRegistry:
    registry = OperationRegistry()
    register_builtin_operations(registry)
    for module_name in (*OPERATION_PROVIDERS, *settings.operation_modules, *extra_modules):
        module = importlib.import_module(module_name)
        module.register(registry, settings)
    return registry


def build_platform(settings: Settings, *, dispatch: JobDispatcher | None = None) -> Platform:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = make_engine(settings.resolved_database_url())
    return Platform(
        settings=settings, db=db, operations=build_operations(settings), dispatch=dispatch
    )


def prepare_database(platform: Platform) -> list[Deployment]:
    """Migrate the schema and deploy the procedures of processes_dir. An invalid procedure is
    reported and skipped: one broken model must not stop the platform."""
    upgrade(platform.db)
    with platform.uow() as uow:
        deployed = deploy_directory(
            uow,
            platform.settings.processes_dir,
            operations=platform.operations.names(),
            now=platform.clock(),
            strict=False,
        )
        uow.commit()
    for deployment in deployed:
        if deployment.error:
            log.error("procédure %s non déployée : %s", deployment.procedure, deployment.error)
    return deployed
