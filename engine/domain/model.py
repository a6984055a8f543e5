"""Plain data the engine passes around: tenants, cases, human tasks, jobs, journal entries."""

from __future__ import annotations

import enum
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.domain.errors import InvalidInput

SIREN_PATTERN = re.compile(r"^[0-9]{9}$")


def check_siren(siren: str) -> str:
    """9 digits with a valid Luhn key (La Poste, 356000000, is the known exception)."""
    if not SIREN_PATTERN.match(siren):
        raise InvalidInput(f"SIREN invalide « {siren} » : 9 chiffres attendus.")
    if siren != "356000000" and not _luhn_ok(siren):
        raise InvalidInput(f"SIREN invalide « {siren} » : clé de contrôle incorrecte.")
    return siren


def _luhn_ok(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


class CaseStatus(enum.StrEnum):
    RUNNING = "running"
    """Waiting on people, jobs, timers or messages."""
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    ERROR = "error"
    """A job failed with no error boundary in the model; an operator may retry."""


class JobState(enum.StrEnum):
    PENDING = "pending"
    """Written to the outbox; not yet handed to the broker."""
    SENT = "sent"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    """Failed for good (routed to the model's error boundary or put the case in error)."""
    DEAD = "dead"
    """Crashed its worker too often; needs an operator."""


@dataclass(frozen=True)
class Tenant:
    siren: str
    name: str


@dataclass(frozen=True)
class Actor:
    """Who does something: a user of a tenant, or the platform itself."""

    user_id: str
    roles: frozenset[str] = frozenset()
    display_name: str = ""

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(user_id=f"system:{name}", roles=frozenset({"system"}), display_name=name)


@dataclass(frozen=True)
class HumanTask:
    """A ready user task of a case, as listed in inboxes."""

    id: uuid.UUID
    case_id: uuid.UUID
    tenant: str
    name: str
    title: str
    lane: str | None
    form: dict[str, Any] | None
    created_at: datetime
    assignee: str | None = None
    """Login of the one person who may complete it (or their deputy); None: anyone of `lane`."""


@dataclass(frozen=True)
class Delegation:
    """A named deputy acting for an absent person (a signature delegation) over a period."""

    id: uuid.UUID
    tenant: str
    delegator: str
    """Login of the person delegating (e.g. the mayor)."""
    deputy: str
    """Login of the deputy, who acts and signs with their own key."""
    starts: datetime
    ends: datetime
    """Exclusive end of the period."""
    reason: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    def active_at(self, moment: datetime) -> bool:
        return self.revoked_at is None and self.starts <= moment < self.ends


@dataclass(frozen=True)
class Case:
    id: uuid.UUID
    tenant: str
    procedure: str
    spec_hash: str
    reference: str
    title: str
    status: CaseStatus
    version: int
    created_at: datetime
    updated_at: datetime
    created_by: str
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    cancel_reason: str | None = None
    current_steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Job:
    id: uuid.UUID
    tenant: str
    case_id: uuid.UUID
    task_id: uuid.UUID
    operation: str
    params: dict[str, Any]
    idempotency_key: str
    state: JobState
    attempts: int
    """Runs of the operation that were not cut short by their worker's death (the current one
    included): a run ended by `RetryLater` counts, an interrupted run is in `interruptions`."""
    result: dict[str, Any] | None = None
    error: str | None = None
    interruptions: int = 0
    """Runs found unfinished by the next run: their worker died (killed, out of memory, host
    restarted) while the operation ran. Counted apart so a crash-looping host does not
    dead-letter healthy jobs (engine.operations.runner.MAX_INTERRUPTIONS)."""
    first_interrupted_at: datetime | None = None
    started_at: datetime | None = None
    """When its current (or last) run began."""


@dataclass(frozen=True)
class JournalEntry:
    """One link of a tenant's hash-chained journal."""

    tenant: str
    seq: int
    kind: str
    case_id: uuid.UUID | None
    actor: str
    payload: dict[str, Any]
    recorded_at: datetime
    prev_hash: str
    hash: str


TaskRows = dict[str, tuple[str, str]]
"""Serialized workflow tasks by task id: (scope, JSON). Scope is "" for the top workflow, else
the id of the subprocess that owns the task."""


@dataclass(frozen=True)
class DumpedState:
    """A case's workflow state as stored: a small header and one JSON document per task."""

    header: str
    """The workflow without its tasks (data, correlations, subprocess headers)."""
    tasks: TaskRows
    format: str
    """`<envelope>/<SpiffWorkflow serializer version>`, for migrations on load."""


@dataclass(frozen=True)
class Document:
    """A working document (PDF) of a tenant; its bytes are addressed by their SHA-256."""

    id: uuid.UUID
    tenant: str
    name: str
    media_type: str
    size: int
    sha256: str
    kind: str
    """upload, signed, sealed, rendered or received."""
    created_by: str
    created_at: datetime
    case_id: uuid.UUID | None = None
    derived_from: uuid.UUID | None = None

    def reference(self) -> dict[str, Any]:
        """How case data and forms refer to the document."""
        return {
            "id": str(self.id),
            "nom": self.name,
            "sha256": self.sha256,
            "taille": self.size,
            "type": self.media_type,
        }
