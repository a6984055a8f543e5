"""Firing due timers: the periodic job loads only the cases whose timers are due.

A training tenant's timers fire by its own clock (`engine.domain.training`); when its trainer
moves the clock forward, the timers due on the way fire in order of due time, the clock standing
at each due time while they fire, so the journal records them in the order they happen.

The periodic job fires by the database server's clock (`reference_now`), not by the clock of
the worker that happens to run it: with workers whose clocks are off by a minute or two, a timer
would otherwise fire early on a worker ahead and late on one behind.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.domain.errors import Conflict, ModelError
from engine.domain.model import Actor, CaseStatus
from engine.domain.training import TenantClock, on_tenant_clock
from engine.jobs.runner import TransactionRunner
from engine.persistence.uow import UnitOfWork
from engine.services.steps import load_case, save_loaded
from engine.services.tenant_clock import ClockMove, move_target, tenant_clock

log = logging.getLogger(__name__)

PAST_DUE = timedelta(seconds=1)
"""How far past a timer's due time the clock stops to fire it (SpiffWorkflow fires a timer
strictly after its due time)."""

MAX_STEPS = 500
"""Due times one move of a training clock stops at, at most (a runaway cycle of timers)."""


def reference_now(uow_factory: Callable[[], UnitOfWork], clock: Callable[[], datetime]) -> datetime:
    """The time timers fire by: the database server's (shared by every worker), or `clock`'s
    where the database has none (SQLite: one machine, one clock)."""
    with uow_factory() as uow:
        return uow.database_now() or clock()


def fire_due_timers(
    uow_factory: Callable[[], UnitOfWork], *, now: datetime, batch: int = 200
) -> int:
    """Advance every case with a timer due at `now` (the real time; a training tenant's cases
    at its own time), each case in its own transaction; returns the number of timers fired."""
    runner = TransactionRunner(uow_factory)
    clocks = runner.read(lambda uow: uow.tenants.training_clocks())
    due = runner.read(lambda uow: uow.cases.due_timers(now, batch, skip_tenants=list(clocks)))
    fired = _fire_all(runner, due, now)
    for tenant, clock in clocks.items():
        at = clock.now(now)
        mine = runner.read(_due_of, tenant, at, batch)
        with on_tenant_clock(clock):
            fired += _fire_all(runner, mine, at)
    return fired


def _due_of(uow: UnitOfWork, tenant: str, at: datetime, batch: int) -> list[tuple[str, uuid.UUID]]:
    return uow.cases.due_timers(at, batch, tenant=tenant)


def _fire_all(runner: TransactionRunner, due: list[tuple[str, uuid.UUID]], now: datetime) -> int:
    fired = 0
    for tenant, case_id in due:
        try:
            fired += runner.write(_fire_case, tenant, case_id, now)
        except Conflict:
            log.info("case %s changed while firing its timers; next run will retry", case_id)
    return fired


@dataclass(frozen=True)
class ClockMoved:
    """What moving a training clock did."""

    before: datetime
    after: datetime
    fired: int


def advance_tenant_clock(
    uow: UnitOfWork, *, tenant: str, move: ClockMove, real_now: datetime, actor: Actor
) -> ClockMoved:
    """Move a training tenant's clock forward in the caller's transaction, firing on the way
    the timers due, in order of due time; the jobs they queue run once it commits."""
    clock = tenant_clock(uow, tenant)
    target = move_target(clock, move, real_now)
    before = clock.now(real_now)
    uow.journal.append(
        tenant=tenant,
        kind="training.clock_moved",
        case_id=None,
        actor=actor.user_id,
        payload={"de": before.isoformat(), "a": target.isoformat()},
        now=before,
    )
    fired = 0
    seen: set[tuple[uuid.UUID, str, datetime]] = set()
    for _ in range(MAX_STEPS):
        waiting = [w for w in uow.cases.tenant_timers(tenant, MAX_STEPS) if w not in seen]
        if not waiting or waiting[0][2] > target:
            break
        seen.add(waiting[0])  # a timer that stays (its case stopped) is not tried again
        clock = clock.moved_to(waiting[0][2] + PAST_DUE, real_now)
        fired += _fire_at(uow, tenant, clock, real_now)
    clock = clock.moved_to(target, real_now)
    uow.tenants.set_clock(tenant, clock)
    return ClockMoved(before, target, fired)


def _fire_at(uow: UnitOfWork, tenant: str, clock: TenantClock, real_now: datetime) -> int:
    uow.tenants.set_clock(tenant, clock)
    at = clock.now(real_now)
    fired = 0
    with on_tenant_clock(clock):
        for _, case_id in uow.cases.due_timers(at, MAX_STEPS, tenant=tenant):
            fired += _fire_case(uow, tenant, case_id, at)
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
