"""Firing due timers: the periodic job loads only the cases whose timers are due."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from engine.domain.errors import Conflict, ModelError
from engine.domain.model import CaseStatus
from engine.jobs.runner import TransactionRunner
from engine.persistence.uow import UnitOfWork
from engine.services.steps import load_case, save_loaded

log = logging.getLogger(__name__)


def fire_due_timers(
    uow_factory: Callable[[], UnitOfWork], *, now: datetime, batch: int = 200
) -> int:
    """Advance every case with a timer due at `now`, each case in its own transaction; returns
    the number of timers fired."""
    runner = TransactionRunner(uow_factory)
    due = runner.read(lambda uow: uow.cases.due_timers(now, batch))
    fired = 0
    for tenant, case_id in due:
        try:
            fired += runner.write(_fire_case, tenant, case_id, now)
        except Conflict:
            log.info("case %s changed while firing its timers; next run will retry", case_id)
    return fired


def _fire_case(uow: UnitOfWork, tenant: str, case_id: uuid.UUID, now: datetime) -> int:
    loaded = load_case(uow, tenant, case_id)
    case, runtime = loaded.case, loaded.runtime
    if case.status != CaseStatus.RUNNING:
        return 0
    due = [w for w in runtime.timers() if w.due_at <= now]
    try:
        runtime.advance(now=now)
    except ModelError as exc:
        save_loaded(
            uow,
            loaded,
            now=now,
            status=CaseStatus.ERROR,
            error=str(exc),
        )
        uow.journal.append(
            tenant=tenant,
            kind="case.error",
            case_id=case.id,
            actor="system:timers",
            payload={"error": str(exc)},
            now=now,
        )
        return 0
    save_loaded(uow, loaded, now=now)
    for wait in due:
        uow.journal.append(
            tenant=tenant,
            kind="timer.fired",
            case_id=case.id,
            actor="system:timers",
            payload={"timer": wait.name, "due_at": wait.due_at.isoformat()},
            now=now,
        )
    return len(due)
