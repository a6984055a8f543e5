"""API request and response bodies (apart from the engine's dataclasses and tables)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from engine.domain.model import Case, HumanTask, JournalEntry
from engine.services.delegations import ActingFor
from engine.services.task_access import ListedTask


class StartCase(BaseModel):
    procedure: str = Field(min_length=1, max_length=100)
    data: dict[str, Any] = Field(default_factory=dict)


class CompleteTask(BaseModel):
    data: dict[str, Any] = Field(default_factory=dict)
    version: int | None = Field(default=None, description="Version du dossier lue par le client")


class CancelCase(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class DeliverMessage(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    correlation: str | None = Field(default=None, max_length=500)
    payload: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = Field(default=None, max_length=1000)
    """Required when the platform operator delivers in place of the connector."""


class SendSignal(BaseModel):
    reason: str | None = Field(default=None, max_length=1000)
    """Required when the platform operator sends the signal."""


class CaseOut(BaseModel):
    id: uuid.UUID
    reference: str
    procedure: str
    title: str
    status: str
    version: int
    current_steps: list[str]
    created_at: datetime
    updated_at: datetime
    error: str | None = None

    @classmethod
    def of(cls, case: Case) -> CaseOut:
        return cls(
            id=case.id,
            reference=case.reference,
            procedure=case.procedure,
            title=case.title,
            status=case.status.value,
            version=case.version,
            current_steps=list(case.current_steps),
            created_at=case.created_at,
            updated_at=case.updated_at,
            error=case.error,
        )


class TaskOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    name: str
    title: str
    lane: str | None
    assignee: str | None = Field(default=None, description="Identifiant de la personne assignée")
    on_behalf_of: str | None = Field(
        default=None, description="Personne pour le compte de qui j'agis (délégation)"
    )
    on_behalf_of_name: str | None = None
    form: dict[str, Any] | None
    created_at: datetime

    @classmethod
    def of(cls, task: HumanTask, *, acting_for: ActingFor | None = None) -> TaskOut:
        return cls(
            id=task.id,
            case_id=task.case_id,
            name=task.name,
            title=task.title,
            lane=task.lane,
            assignee=task.assignee,
            on_behalf_of=acting_for.login if acting_for else None,
            on_behalf_of_name=acting_for.display_name if acting_for else None,
            form=task.form,
            created_at=task.created_at,
        )


class ListedTaskOut(TaskOut):
    """A task of my list, with the dossier it belongs to."""

    kind: str | None = Field(description="« Visa », « Signature », ou null pour les autres tâches")
    case_reference: str
    case_title: str
    procedure: str
    procedure_title: str
    deadline: datetime | None = Field(description="Prochaine échéance légale du dossier (UTC)")
    deadline_day: date | None = Field(description="Dernier jour de l'échéance (Europe/Paris)")
    state: str = Field(description="en_retard, proche, a_venir ou sans_echeance")

    @classmethod
    def of(cls, row: ListedTask) -> ListedTaskOut:  # type: ignore[override]
        acting = ActingFor(row.acting_for, row.acting_for_name or "") if row.acting_for else None
        return cls(
            **TaskOut.of(row.task, acting_for=acting).model_dump(),
            kind=row.kind,
            case_reference=row.case.reference,
            case_title=row.case.title,
            procedure=row.case.procedure,
            procedure_title=row.case.procedure_title,
            deadline=row.deadline.due if row.deadline else None,
            deadline_day=row.deadline.local_date if row.deadline else None,
            state=row.state,
        )


class EventOut(BaseModel):
    seq: int
    kind: str
    actor: str
    at: datetime
    payload: dict[str, Any]
    hash: str

    @classmethod
    def of(cls, entry: JournalEntry) -> EventOut:
        return cls(
            seq=entry.seq,
            kind=entry.kind,
            actor=entry.actor,
            at=entry.recorded_at,
            payload=entry.payload,
            hash=entry.hash,
        )


class CaseDetail(CaseOut):
    data: dict[str, Any]
    tasks: list[TaskOut]
    timeline: list[EventOut]


class Page(BaseModel):
    items: list[CaseOut]
    total: int
    limit: int
    offset: int
