"""Batch signing (parapheur): one action, each document completed in its own transaction.

A failure on one task (changed meanwhile, assigned to someone else, no longer ready) is
reported for that task and the others go on: each task is signed and journaled separately,
by the actor and for the actor (or whom they stand in for), never for anyone else.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.domain.errors import DematflowError, InvalidInput
from engine.domain.model import Actor
from engine.persistence.uow import UnitOfWorkFactory
from engine.services.cases import complete_task

MAX_BATCH = 100


@dataclass(frozen=True)
class BatchOutcome:
    """What happened to one selected task."""

    task_id: uuid.UUID
    case_id: uuid.UUID | None
    """None when the task was not found for this tenant."""
    reference: str | None
    """The case's reference, to name it to the user."""
    done: bool
    message: str
    """French: "Signé." or why it was not."""


def sign_batch(
    uow_factory: UnitOfWorkFactory,
    *,
    tenant: str,
    actor: Actor,
    task_ids: Sequence[uuid.UUID],
    data: dict[str, Any],
    now: datetime,
) -> list[BatchOutcome]:
    """Complete each selected task with `data`, one transaction per task, in the given order."""
    if len(task_ids) > MAX_BATCH:
        raise InvalidInput(f"Au plus {MAX_BATCH} documents par signature groupée.")
    outcomes: list[BatchOutcome] = []
    for task_id in dict.fromkeys(task_ids):
        outcomes.append(_sign_one(uow_factory, tenant, actor, task_id, data, now))
    return outcomes


def _sign_one(
    uow_factory: UnitOfWorkFactory,
    tenant: str,
    actor: Actor,
    task_id: uuid.UUID,
    data: dict[str, Any],
    now: datetime,
) -> BatchOutcome:
    case_id: uuid.UUID | None = None
    reference: str | None = None
    try:
        with uow_factory() as uow:
            task = uow.cases.human_task(tenant, task_id)
            if task is None:
                return BatchOutcome(task_id, None, None, False, "Tâche introuvable ou déjà faite.")
            case_id = task.case_id
            reference = uow.cases.get(tenant, task.case_id).reference
            complete_task(
                uow,
                tenant=tenant,
                case_id=task.case_id,
                task_id=task_id,
                data=dict(data),
                actor=actor,
                now=now,
            )
            uow.commit()
    except DematflowError as exc:
        return BatchOutcome(task_id, case_id, reference, False, str(exc))
    return BatchOutcome(task_id, case_id, reference, True, "Signé.")
