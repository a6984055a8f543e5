"""Periodic RGPD purge: each tenant's closed cases lose their declared personal data once the
retention event and delay have passed, on the tenant's clock (a training tenant's moved clock
purges its fictitious cases sooner), each case in its own transaction.

Idempotent: a key anonymised is recorded and never read again; a case fully purged (or whose
procedure declares nothing) leaves the job's scan, and a case with nothing due yet is read again
only when its next key falls due. A dry run lists what is due and writes nothing.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from engine.domain.errors import Conflict, ModelError, NotFound
from engine.domain.training import TenantClock, on_tenant_clock
from engine.jobs.runner import TransactionRunner
from engine.persistence.uow import UnitOfWork, UnitOfWorkFactory
from engine.services.personal_data import (
    DuePurge,
    PurgedCase,
    PurgePage,
    due_purges,
    purge_case,
    record_page,
)

__all__ = ["PurgeReport", "purge_personal_data"]

log = logging.getLogger(__name__)

PAGE = 200
MAX_CASES_PER_RUN = 5_000
"""Cases anonymised by one run at most; the next run goes on (each case commits on its own)."""


@dataclass
class PurgeReport:
    """What a run did (or, dry, would do): cases purged or due, per tenant."""

    dry_run: bool
    due: list[tuple[str, DuePurge]] = field(default_factory=list)
    purged: list[tuple[str, PurgedCase]] = field(default_factory=list)
    failed: list[tuple[str, uuid.UUID, str]] = field(default_factory=list)


def purge_personal_data(
    uow_factory: UnitOfWorkFactory,
    *,
    now: datetime,
    dry_run: bool = False,
    tenant: str | None = None,
    limit: int = MAX_CASES_PER_RUN,
) -> PurgeReport:
    """Purge (or list, `dry_run`) the due personal data of every tenant's closed cases."""
    runner = TransactionRunner(uow_factory)
    clocks = runner.read(lambda uow: uow.tenants.training_clocks())
    tenants = runner.read(lambda uow: [t.siren for t in uow.tenants.all()])
    report = PurgeReport(dry_run)
    for siren in tenants:
        if tenant is not None and siren != tenant:
            continue
        clock = clocks.get(siren, TenantClock())
        with on_tenant_clock(clock):
            _purge_tenant(runner, siren, clock.now(now), report, limit)
    return report


def _purge_tenant(
    runner: TransactionRunner, tenant: str, at: datetime, report: PurgeReport, limit: int
) -> None:
    after: uuid.UUID | None = None
    while len(report.due) < limit:
        page = runner.read(_page, tenant, at, after)
        if (page.nothing or page.later) and not report.dry_run:
            runner.write(record_page, tenant, page, now=at)
        for item in page.due:
            report.due.append((tenant, item))
            if report.dry_run:
                continue
            try:
                report.purged.append((tenant, runner.write(purge_case, tenant, item, now=at)))
            except (Conflict, NotFound, ModelError) as exc:
                log.warning("RGPD : dossier %s non purgé (%s)", item.case_id, exc)
                report.failed.append((tenant, item.case_id, str(exc)))
        after = page.last
        if after is None:
            return


def _page(uow: UnitOfWork, tenant: str, at: datetime, after: uuid.UUID | None) -> PurgePage:
    return due_purges(uow, tenant, now=at, after=after, limit=PAGE)
