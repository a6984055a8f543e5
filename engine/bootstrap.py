"""Wires the engine for an entry point (web, worker, CLI): database, operations, job dispatch."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from engine.domain.training import shifted
from engine.operations import (
    actes,
    archiving,
    cases,
    council,
    deadlines,
    documents,
    mail,
    publishing,
    signing,
)
from engine.operations.base import Operation, OperationRegistry
from engine.persistence.db import is_sqlite, make_engine
from engine.persistence.uow import JobDispatcher, UnitOfWork
from engine.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from engine.services.admin import Deployment

log = logging.getLogger(__name__)

OPERATIONS: tuple[Operation[Any, Any, Any], ...] = (
    *signing.OPERATIONS,
    *archiving.OPERATIONS,
    *actes.OPERATIONS,
    *mail.OPERATIONS,
    *publishing.OPERATIONS,
    *documents.OPERATIONS,
    *deadlines.OPERATIONS,
    *council.OPERATIONS,
    *cases.OPERATIONS,
)
"""Every service-task operation of the product (a BPMN `serviceTaskOperator` names one), from
its capability's module. Importing them all is cheap: an operation module imports the heavy
library of its work (pyHanko, lxml, httpx, SpiffWorkflow…) where the work is done, through the
leaf packages' lazy names, so that a process loads only the libraries of the work it does
(`tests/cli/test_lazy_imports.py`)."""


def utcnow() -> datetime:
    """The platform clock: the real time, or a training tenant's time while a request or job
    works on its clock (`engine.domain.training.on_tenant_clock`)."""
    return shifted(datetime.now(UTC))


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

    def reader(self) -> UnitOfWork:
        """A unit of work that only reads (no writer lock on SQLite, cannot commit)."""
        return UnitOfWork(self.db, read_only=True)

    def seal_journal(self, tenant: str) -> None:
        """Seal the tenant's journal now (tenant created, package archived); never raises: when
        the archive store is down or not configured, the periodic seal catches up."""
        from engine.jobs.journal_seals import seal_when_possible

        seal_when_possible(self.uow, self.settings, self.extras, tenant, now=self.clock())

    @property
    def one_writer(self) -> bool:
        """Whether the database takes one writer at a time (SQLite): the request's transaction
        then holds it, and nothing may write beside it in a transaction of its own."""
        return is_sqlite(self.db)

    def queue_of(self, operation: str) -> str:
        return self.operations.get(operation).queue


def build_operations(settings: Settings) -> OperationRegistry:
    """The product's operations, plus those of `settings.operation_modules`: the one extension
    point, for operations outside the product (the test suite's, given to a real worker
    process by environment); each such module exposes an `OPERATIONS` tuple like ours."""
    return OperationRegistry([*OPERATIONS, *_extensions(settings.operation_modules)], settings)


def _extensions(modules: Iterable[str]) -> list[Operation[Any, Any, Any]]:
    found: list[Operation[Any, Any, Any]] = []
    for name in modules:
        found.extend(importlib.import_module(name).OPERATIONS)
    return found


def build_platform(settings: Settings, *, dispatch: JobDispatcher | None = None) -> Platform:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = make_engine(settings.resolved_database_url())
    return Platform(
        settings=settings, db=db, operations=build_operations(settings), dispatch=dispatch
    )


def prepare_database(platform: Platform) -> list[Deployment]:
    """Migrate the schema and deploy the procedures of processes_dir. An invalid procedure is
    reported and skipped: one broken model must not stop the platform."""
    from engine.persistence.migrate import upgrade
    from engine.services.admin import deploy_directory

    upgrade(platform.db)
    with platform.uow() as uow:
        deployed = deploy_directory(
            uow,
            platform.settings.processes_dir,
            operations=platform.operations,
            now=platform.clock(),
            strict=False,
        )
        uow.commit()
    for deployment in deployed:
        if deployment.error:
            log.error("procédure %s non déployée : %s", deployment.procedure, deployment.error)
    return deployed
