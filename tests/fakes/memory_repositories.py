"""In-memory repositories behind engine.ports: dicts, the same answers as the SQL ones."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine.domain.errors import Conflict, NotFound
from engine.domain.journal import GENESIS_HASH, entry_body, link_hash
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


@dataclass(frozen=True)
class MemoryUser:
    """A person's account, as engine.ports.UserRecord reads it."""

    id: uuid.UUID
    username: str
    display_name: str
    active: bool = True


@dataclass(frozen=True)
class MemorySpec:
    procedure: str
    title: str
    files: dict[str, bytes]


@dataclass
class StoredCase:
    case: Case
    header: str
    format: str
    tasks: TaskRows


@dataclass
class MemoryState:
    """Everything a database would hold; a unit of work works on a deep copy of it."""

    users: dict[str, MemoryUser] = field(default_factory=dict)
    memberships: dict[tuple[uuid.UUID, str], set[str]] = field(default_factory=dict)
    delegations: dict[uuid.UUID, Delegation] = field(default_factory=dict)
    journal: dict[str, list[JournalEntry]] = field(default_factory=dict)
    """Links by tenant; a tenant exists when it has a list (maybe empty)."""
    specs: dict[str, MemorySpec] = field(default_factory=dict)
    cases: dict[uuid.UUID, StoredCase] = field(default_factory=dict)
    human_tasks: dict[uuid.UUID, HumanTask] = field(default_factory=dict)
    timers: dict[uuid.UUID, list[tuple[uuid.UUID, str, datetime]]] = field(default_factory=dict)
    message_waits: dict[uuid.UUID, list[tuple[str, str | None]]] = field(default_factory=dict)
    jobs: dict[uuid.UUID, Job] = field(default_factory=dict)
    job_keys: dict[str, uuid.UUID] = field(default_factory=dict)
    effects: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[uuid.UUID, Document] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)


class MemoryUsers:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def by_username(self, username: str) -> MemoryUser | None:
        return self.state.users.get(username)

    def roles(self, user_id: uuid.UUID, tenant: str) -> frozenset[str]:
        return frozenset(self.state.memberships.get((user_id, tenant), ()))


class MemoryDelegations:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def add(self, delegation: Delegation) -> None:
        self.state.delegations[delegation.id] = delegation

    def get(self, tenant: str, delegation_id: uuid.UUID) -> Delegation:
        found = self.state.delegations.get(delegation_id)
        if found is None or found.tenant != tenant:
            raise NotFound("Délégation introuvable.")
        return found

    def revoke(self, tenant: str, delegation_id: uuid.UUID, *, by: str, now: datetime) -> None:
        found = self.state.delegations.get(delegation_id)
        if found is not None and found.tenant == tenant and found.revoked_at is None:
            revoked = dataclasses.replace(found, revoked_at=now, revoked_by=by)
            self.state.delegations[delegation_id] = revoked

    def active(
        self,
        tenant: str,
        at: datetime,
        *,
        deputy: str | None = None,
        delegator: str | None = None,
    ) -> list[Delegation]:
        return _ordered(
            d
            for d in self.state.delegations.values()
            if d.tenant == tenant
            and d.active_at(at)
            and deputy in (None, d.deputy)
            and delegator in (None, d.delegator)
        )

    def for_person(self, tenant: str, login: str, *, since: datetime) -> list[Delegation]:
        return _ordered(
            d
            for d in self.state.delegations.values()
            if d.tenant == tenant and login in (d.delegator, d.deputy) and d.ends > since
        )


def _ordered(delegations: Iterable[Delegation]) -> list[Delegation]:
    return sorted(delegations, key=lambda d: (d.starts, str(d.id)))


class MemoryJournal:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def append(
        self,
        *,
        tenant: str,
        kind: str,
        case_id: uuid.UUID | None,
        actor: str,
        payload: dict[str, Any],
        now: datetime,
    ) -> JournalEntry:
        if now.tzinfo is None:
            raise ValueError("journal links need an aware time")
        now = now.astimezone(UTC)
        links = self.state.journal.get(tenant)
        if links is None:
            raise NotFound("Collectivité inconnue.")
        seq, prev = (links[-1].seq, links[-1].hash) if links else (0, GENESIS_HASH)
        body = entry_body(
            tenant=tenant,
            seq=seq + 1,
            kind=kind,
            case_id=str(case_id) if case_id else None,
            actor=actor,
            payload=payload,
            recorded_at=now,
            prev_hash=prev,
        )
        entry = JournalEntry(tenant, seq + 1, kind, case_id, actor, payload, now, prev, "")
        entry = dataclasses.replace(entry, hash=link_hash(body))
        links.append(entry)
        return entry

    def for_case(self, tenant: str, case_id: uuid.UUID) -> list[JournalEntry]:
        return [e for e in self.state.journal.get(tenant, []) if e.case_id == case_id]


class MemoryCases:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def insert(self, case: Case, *, state: DumpedState) -> None:
        self.state.cases[case.id] = StoredCase(case, state.header, state.format, dict(state.tasks))

    def _stored(self, tenant: str, case_id: uuid.UUID) -> StoredCase:
        stored = self.state.cases.get(case_id)
        if stored is None or stored.case.tenant != tenant:
            raise NotFound("Dossier introuvable.")
        return stored

    def get(self, tenant: str, case_id: uuid.UUID) -> Case:
        return self._stored(tenant, case_id).case

    def get_with_state(self, tenant: str, case_id: uuid.UUID) -> tuple[Case, str, str, TaskRows]:
        stored = self._stored(tenant, case_id)
        return stored.case, stored.header, stored.format, dict(stored.tasks)

    def update(
        self, case: Case, *, expected_version: int, state: DumpedState, stored_tasks: TaskRows
    ) -> None:
        stored = self.state.cases.get(case.id)
        if stored is None or stored.case.version != expected_version:
            raise Conflict(
                "Le dossier a été modifié entre-temps ; rechargez la page et recommencez."
            )
        written = dataclasses.replace(
            stored.case, **_written_fields(case), version=expected_version + 1
        )
        self.state.cases[case.id] = StoredCase(
            written, state.header, state.format, dict(state.tasks)
        )

    def change_human_tasks(
        self, case: Case, *, added: Sequence[HumanTask], removed: Sequence[uuid.UUID]
    ) -> None:
        for task_id in removed:
            self.state.human_tasks.pop(task_id, None)
        for task in added:
            self.state.human_tasks[task.id] = task

    def replace_timers(self, case: Case, timers: Sequence[tuple[uuid.UUID, str, datetime]]) -> None:
        self.state.timers[case.id] = list(timers)

    def replace_message_waits(self, case: Case, messages: Sequence[tuple[str, str | None]]) -> None:
        self.state.message_waits[case.id] = list(dict.fromkeys(messages))

    def human_task(self, tenant: str, task_id: uuid.UUID) -> HumanTask | None:
        task = self.state.human_tasks.get(task_id)
        return task if task is not None and task.tenant == tenant else None

    def _inbox(
        self, tenant: str, lanes: Iterable[str] | None, assigned_to: Iterable[str] | None
    ) -> list[HumanTask]:
        lanes = set(lanes) if lanes is not None else None
        logins = set(assigned_to) if assigned_to is not None else None

        def listed(task: HumanTask) -> bool:
            if lanes is not None:
                return (task.assignee is None and task.lane in lanes) or bool(
                    logins and task.assignee in logins
                )
            return logins is None or task.assignee in logins

        tasks = [t for t in self.state.human_tasks.values() if t.tenant == tenant and listed(t)]
        return sorted(tasks, key=lambda t: (t.created_at, str(t.id)))

    def human_tasks(
        self,
        tenant: str,
        *,
        lanes: Iterable[str] | None = None,
        case_id: uuid.UUID | None = None,
        assigned_to: Iterable[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[HumanTask]:
        tasks = self._inbox(tenant, lanes, assigned_to)
        tasks = [t for t in tasks if case_id in (None, t.case_id)]
        return tasks[offset : offset + limit]

    def inbox_rows(
        self,
        tenant: str,
        *,
        lanes: Iterable[str] | None,
        assigned_to: Iterable[str] | None,
        procedure: str | None = None,
        limit: int = 1000,
    ) -> list[tuple[HumanTask, InboxCase]]:
        rows = []
        for task in self._inbox(tenant, lanes, assigned_to):
            case = self.state.cases[task.case_id].case
            if procedure and case.procedure != procedure:
                continue
            title = self.state.specs[case.spec_hash].title
            rows.append(
                (
                    task,
                    InboxCase(
                        case.reference,
                        case.title,
                        case.procedure,
                        title,
                        case.data,
                        case.created_at,
                    ),
                )
            )
        return rows[:limit]

    def due_timers(self, now: datetime, limit: int) -> list[tuple[str, uuid.UUID]]:
        due = [
            (min(d for _t, _n, d in timers), case_id)
            for case_id, timers in self.state.timers.items()
            if timers and min(d for _t, _n, d in timers) <= now
        ]
        return [(self.state.cases[c].case.tenant, c) for _d, c in sorted(due)][:limit]

    def waiting_for_message(
        self, tenant: str, message: str, correlation: str | None
    ) -> list[uuid.UUID]:
        return [
            case_id
            for case_id, waits in self.state.message_waits.items()
            if self.state.cases[case_id].case.tenant == tenant
            and any(m == message and (c or "") == (correlation or "") for m, c in waits)
        ]


def _written_fields(case: Case) -> dict[str, Any]:
    """The columns CaseRepository.update writes (the others keep their stored value)."""
    names = ("status", "title", "data", "current_steps", "error", "cancel_reason", "updated_at")
    return {name: getattr(case, name) for name in names}


class MemoryJobs:
    def __init__(self, state: MemoryState, dispatch_list: list[tuple[uuid.UUID, str]]) -> None:
        self.state = state
        self.dispatch_list = dispatch_list

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
    ) -> uuid.UUID | None:
        if idempotency_key in self.state.job_keys:
            return None
        job_id = uuid.uuid4()
        self.state.jobs[job_id] = Job(
            job_id,
            tenant,
            case_id,
            task_id,
            operation,
            params,
            idempotency_key,
            JobState.PENDING,
            0,
        )
        self.state.job_keys[idempotency_key] = job_id
        self.dispatch_list.append((job_id, operation))
        return job_id

    def get(self, job_id: uuid.UUID) -> Job | None:
        return self.state.jobs.get(job_id)

    def for_case(self, tenant: str, case_id: uuid.UUID) -> list[Job]:
        # Insertion order is creation order (dicts keep it; deep copies too).
        return [j for j in self.state.jobs.values() if (j.tenant, j.case_id) == (tenant, case_id)]

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
    ) -> None:
        job = self.state.jobs[job_id]
        self.state.jobs[job_id] = dataclasses.replace(
            job,
            state=state,
            result=result if result is not None else job.result,
            error=error if error is not None else job.error,
            attempts=job.attempts + 1 if count_attempt else job.attempts,
            interruptions=job.interruptions + 1 if count_interruption else job.interruptions,
            first_interrupted_at=(
                job.first_interrupted_at or now if count_interruption else job.first_interrupted_at
            ),
            started_at=now if state == JobState.RUNNING else job.started_at,
        )

    def recall_effect(self, idempotency_key: str) -> dict[str, Any] | None:
        found = self.state.effects.get(idempotency_key)
        return dict(found) if found is not None else None

    def remember_effect(
        self,
        *,
        idempotency_key: str,
        tenant: str,
        operation: str,
        result: dict[str, Any],
        now: datetime,
    ) -> None:
        if idempotency_key in self.state.effects:  # the primary key of operation_effects
            raise Conflict(f"effet déjà enregistré : {idempotency_key}")
        self.state.effects[idempotency_key] = dict(result)


class MemoryDocuments:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def add(self, document: Document, content: bytes) -> None:
        self.state.blobs.setdefault(document.sha256, content)
        self.state.documents[document.id] = document

    def get(self, tenant: str, document_id: uuid.UUID) -> Document:
        found = self.state.documents.get(document_id)
        if found is None or found.tenant != tenant:
            raise NotFound("Document introuvable.")
        return found

    def content(self, document: Document) -> bytes:
        return self.state.blobs[document.sha256]

    def attach(self, tenant: str, document_id: uuid.UUID, case_id: uuid.UUID) -> None:
        found = self.state.documents.get(document_id)
        if found is not None and found.tenant == tenant and found.case_id is None:
            self.state.documents[document_id] = dataclasses.replace(found, case_id=case_id)

    def for_case(self, tenant: str, case_id: uuid.UUID) -> list[Document]:
        found = [
            d for d in self.state.documents.values() if (d.tenant, d.case_id) == (tenant, case_id)
        ]
        return sorted(found, key=lambda d: (d.created_at, str(d.id)))


class MemorySpecs:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def files(self, digest: str) -> dict[str, bytes]:
        spec = self.state.specs.get(digest)
        if spec is None:
            raise NotFound(f"définition de procédure {digest[:12]} introuvable")
        return dict(spec.files)
