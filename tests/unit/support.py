"""People, clock and helpers of the fast tier (over tests/fakes/memory_uow.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from engine.domain.model import Actor, Case, Delegation, HumanTask
from engine.ports import UnitOfWorkFactory
from engine.services import delegations
from engine.services.cases import complete_task

TENANT = "213400005"
OTHER_TENANT = "216900001"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PROCEDURES = Path(__file__).resolve().parents[1] / "engine" / "procedures"
PEOPLE = {
    "maire": ("Marie Dupont", ("elu",)),
    "adjoint": ("Jean Martin", ("elu",)),
    "adjointe": ("Zoé Lefèvre", ("elu",)),
    "dgs": ("Paul Durand", ("agent",)),
    "secretaire": ("Claire Agent", ("agent", "admin")),
    "archiviste": ("Anne Archive", ("archiviste",)),
}
"""The people of the test commune (as tests/engine/circuits/support.py), with an archivist
who holds none of the lanes' roles."""
PLATFORM = Actor.system("tests")
SIGNATURE = [{"type": "signature", "signataires": ["maire"], "regle": "un", "qualite": "Le Maire"}]
DOCUMENT = {"id": str(uuid.UUID(int=7)), "nom": "arrete.pdf", "sha256": "0", "taille": 1}


def person(login: str) -> Actor:
    name, roles = PEOPLE[login]
    return Actor(f"user:{login}", frozenset(roles), name)


def delegate(
    uow_factory: UnitOfWorkFactory,
    *,
    delegator: str = "maire",
    deputy: str = "adjoint",
    start_in: timedelta = timedelta(days=-1),
    lasts: timedelta = timedelta(days=7),
    now: datetime = NOW,
) -> Delegation:
    """Record (and commit) a delegation, by the delegator."""
    with uow_factory() as uow:
        delegation = delegations.create_delegation(
            uow,
            tenant=TENANT,
            delegator=delegator,
            deputy=deputy,
            starts=now + start_in,
            ends=now + start_in + lasts,
            reason="Congés d'été",
            actor=person(delegator),
            now=now,
        )
        uow.commit()
    return delegation


def tasks_of(uow_factory: UnitOfWorkFactory, case: Case) -> list[HumanTask]:
    with uow_factory() as uow:
        return uow.cases.human_tasks(TENANT, case_id=case.id)


def complete(
    uow_factory: UnitOfWorkFactory,
    case: Case,
    task: HumanTask,
    actor: Actor,
    data: dict[str, Any],
    now: datetime = NOW,
) -> Case:
    """Complete a task through the engine's service and commit."""
    with uow_factory() as uow:
        updated = complete_task(
            uow, tenant=TENANT, case_id=case.id, task_id=task.id, data=data, actor=actor, now=now
        )
        uow.commit()
    return updated
