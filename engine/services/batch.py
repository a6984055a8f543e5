"""Batch signing (parapheur): one action, each document completed in its own transaction.

A failure on one task (changed meanwhile, assigned to someone else, no longer ready) is
reported for that task and the others go on: each task is signed and journaled separately,
by the actor and for the actor (or whom they stand in for), never for anyone else. The caller
(the web edge) hands in the transaction driver that commits each task.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from engine.domain.errors import DematflowError, InvalidInput
from engine.domain.model import Actor
from engine.persistence.uow import UnitOfWork
from engine.services.cases import complete_task

MAX_BATCH = 100
T = TypeVar("T")


class Transactions(Protocol):
    """Runs a step in its own transaction, committed when it returns (`TransactionRunner`)."""

    def write(self, step: Callable[[UnitOfWork], T], /) -> T: ...


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
    transactions: Transactions,
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
        outcomes.append(_sign_one(transactions, tenant, actor, task_id, data, now))
    return outcomes


@dataclass
class _Named:
    """The case of the task being signed, kept when its transaction rolls back."""

    case_id: uuid.UUID | None = None
    reference: str | None = None


def _sign_one(
    transactions: Transactions,
    tenant: str,
    actor: Actor,
    task_id: uuid.UUID,
    data: dict[str, Any],
    now: datetime,
) -> BatchOutcome:
    named = _Named()

    def sign(uow: UnitOfWork) -> BatchOutcome:
        task = uow.cases.human_task(tenant, task_id)
        if task is None:
            return BatchOutcome(task_id, None, None, False, "Tâche introuvable ou déjà faite.")
        named.case_id = task.case_id
        named.reference = uow.cases.get(tenant, task.case_id).reference
        complete_task(
            uow,
            tenant=tenant,
            case_id=task.case_id,
            task_id=task_id,
            data=dict(data),
            actor=actor,
            now=now,
        )
        return BatchOutcome(task_id, named.case_id, named.reference, True, "Signé.")

    try:
        return transactions.write(sign)
    except DematflowError as exc:
        return BatchOutcome(task_id, named.case_id, named.reference, False, str(exc))
