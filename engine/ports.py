"""Ports the services of the pure rules depend on: a unit of work and the repositories it holds.

Each repository port lists only the methods its users call, with the signatures of the SQL
repositories in engine.persistence, so `engine.persistence.uow.UnitOfWork` satisfies
`UnitOfWork` structurally (checked by mypy in engine.persistence.port_check) and an in-memory
implementation (tests/fakes/memory_uow.py) can stand in for it in the fast test tier.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from engine.domain.model import (
    Case,
    Delegation,
    Document,
    DumpedState,
    HumanTask,
    Job,
    JobState,
    JournalEntry,
    TaskRows,
)
from engine.domain.task_access import InboxCase


class UserRecord(Protocol):
    """What the rules read of a person's account (a row of the users table)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def display_name(self) -> str: ...
    @property
    def active(self) -> bool: ...


class Users(Protocol):
    def by_username(self, username: str) -> UserRecord | None: ...
    def roles(self, user_id: uuid.UUID, tenant: str) -> frozenset[str]: ...


class Delegations(Protocol):
    def add(self, delegation: Delegation) -> None: ...
    def get(self, tenant: str, delegation_id: uuid.UUID) -> Delegation: ...
    def revoke(self, tenant: str, delegation_id: uuid.UUID, *, by: str, now: datetime) -> None: ...
    def active(
        self,
        tenant: str,
        at: datetime,
        *,
        deputy: str | None = None,
        delegator: str | None = None,
    ) -> list[Delegation]: ...
    def for_person(self, tenant: str, login: str, *, since: datetime) -> list[Delegation]: ...


class Journal(Protocol):
    def append(
        self,
        *,
        tenant: str,
        kind: str,
        case_id: uuid.UUID | None,
        actor: str,
        payload: dict[str, Any],
        now: datetime,
    ) -> JournalEntry: ...
    def for_case(self, tenant: str, case_id: uuid.UUID) -> list[JournalEntry]: ...


class Cases(Protocol):
    """Cases, their state, and the indexes of what they wait for (tasks, timers, messages)."""

    def insert(self, case: Case, *, state: DumpedState) -> None: ...
    def get(self, tenant: str, case_id: uuid.UUID) -> Case: ...
    def get_with_state(
        self, tenant: str, case_id: uuid.UUID
    ) -> tuple[Case, str, str, TaskRows]: ...
    def update(
        self, case: Case, *, expected_version: int, state: DumpedState, stored_tasks: TaskRows
    ) -> None: ...
    def change_human_tasks(
        self, case: Case, *, added: Sequence[HumanTask], removed: Sequence[uuid.UUID]
    ) -> None: ...
    def replace_timers(
        self, case: Case, timers: Sequence[tuple[uuid.UUID, str, datetime]]
    ) -> None: ...
    def replace_message_waits(
        self, case: Case, messages: Sequence[tuple[str, str | None]]
    ) -> None: ...
    def human_task(self, tenant: str, task_id: uuid.UUID) -> HumanTask | None: ...
    def human_tasks(
        self,
        tenant: str,
        *,
        lanes: Iterable[str] | None = None,
        case_id: uuid.UUID | None = None,
        assigned_to: Iterable[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[HumanTask]: ...
    def inbox_rows(
        self,
        tenant: str,
        *,
        lanes: Iterable[str] | None,
        assigned_to: Iterable[str] | None,
        procedure: str | None = None,
        limit: int = 1000,
    ) -> list[tuple[HumanTask, InboxCase]]: ...
    def due_timers(self, now: datetime, limit: int) -> list[tuple[str, uuid.UUID]]: ...
    def waiting_for_message(
        self, tenant: str, message: str, correlation: str | None
    ) -> list[uuid.UUID]: ...


class Jobs(Protocol):
    """Jobs queued by steps (dispatched after commit) and the idempotency memory of effects."""

    def add_once(
        self,
        *,
        tenant: str,
        case_id: uuid.UUID,
        task_id: uuid.UUID,
        operation: str,
        params: dict[str, Any],
        idempotency_key: str,
        now: datetime,
    ) -> uuid.UUID | None: ...
    def get(self, job_id: uuid.UUID) -> Job | None: ...
    def for_case(self, tenant: str, case_id: uuid.UUID) -> list[Job]: ...
    def set_state(
        self,
        job_id: uuid.UUID,
        state: JobState,
        now: datetime,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        count_attempt: bool = False,
        count_interruption: bool = False,
    ) -> None: ...
    def recall_effect(self, idempotency_key: str) -> dict[str, Any] | None: ...
    def remember_effect(
        self,
        *,
        idempotency_key: str,
        tenant: str,
        operation: str,
        result: dict[str, Any],
        now: datetime,
    ) -> None: ...


class Documents(Protocol):
    def add(self, document: Document, content: bytes) -> None: ...
    def get(self, tenant: str, document_id: uuid.UUID) -> Document: ...
    def content(self, document: Document) -> bytes: ...
    def attach(self, tenant: str, document_id: uuid.UUID, case_id: uuid.UUID) -> None: ...
    def for_case(self, tenant: str, case_id: uuid.UUID) -> list[Document]: ...


class Specs(Protocol):
    def files(self, digest: str) -> dict[str, bytes]: ...


class UnitOfWork(Protocol):
    """One transaction: enter it, call services, `commit()`; leaving without a commit rolls
    back. Jobs queued inside are dispatched only after the commit."""

    @property
    def users(self) -> Users: ...
    @property
    def delegations(self) -> Delegations: ...
    @property
    def journal(self) -> Journal: ...
    @property
    def cases(self) -> Cases: ...
    @property
    def jobs(self) -> Jobs: ...
    @property
    def documents(self) -> Documents: ...
    @property
    def specs(self) -> Specs: ...

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...
    def seal_journal_after_commit(self, tenant: str) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""Opens a new unit of work (the job runner and periodic jobs open one per transaction)."""
