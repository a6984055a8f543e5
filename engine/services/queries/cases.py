"""What the case pages and the API read: cases, their tasks, timeline and documents."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from engine.domain.model import Case, Document, HumanTask, JournalEntry
from engine.persistence.uow import UnitOfWork

__all__ = [
    "CaseFolder",
    "case_documents",
    "case_folder",
    "case_tasks",
    "find_case",
    "human_task",
    "procedure_catalogue",
    "search_cases",
]


@dataclass(frozen=True)
class CaseFolder:
    """One case with what its page shows beside it."""

    case: Case
    tasks: list[HumanTask]
    """Its ready human tasks."""
    events: list[JournalEntry]
    documents: list[Document]


def find_case(uow: UnitOfWork, tenant: str, case_id: uuid.UUID) -> Case:
    """The tenant's case; NotFound for an unknown case or another tenant's."""
    return uow.cases.get(tenant, case_id)


def case_folder(
    uow: UnitOfWork, tenant: str, case_id: uuid.UUID, *, with_documents: bool = True
) -> CaseFolder:
    case = uow.cases.get(tenant, case_id)
    return CaseFolder(
        case=case,
        tasks=uow.cases.human_tasks(tenant, case_id=case_id),
        events=uow.journal.for_case(tenant, case_id),
        documents=uow.documents.for_case(tenant, case_id) if with_documents else [],
    )


def case_tasks(uow: UnitOfWork, tenant: str, case_id: uuid.UUID) -> list[HumanTask]:
    """The case's ready human tasks."""
    return uow.cases.human_tasks(tenant, case_id=case_id)


def human_task(uow: UnitOfWork, tenant: str, task_id: uuid.UUID) -> HumanTask | None:
    return uow.cases.human_task(tenant, task_id)


def case_documents(uow: UnitOfWork, tenant: str, case_id: uuid.UUID) -> list[Document]:
    return uow.documents.for_case(tenant, case_id)


def search_cases(
    uow: UnitOfWork,
    tenant: str,
    *,
    status: str | None = None,
    procedure: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Case], int]:
    """One page of the tenant's cases, the latest changed first, and the count of all."""
    return uow.cases.search(tenant, status=status, procedure=procedure, limit=limit, offset=offset)


def procedure_catalogue(uow: UnitOfWork) -> list[Any]:
    """The deployed procedures (latest version of each): procedure, title, hash."""
    return uow.specs.catalogue()
