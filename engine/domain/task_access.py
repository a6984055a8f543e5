"""Who may open and complete a human task: the one rule the pages, the API and the engine apply.

- A task assigned to a person (signature circuits: each visa, each signature) belongs to that
  person, whatever their roles, and to their deputy during a delegation in force. Nobody else
  of the lane acts on it, administrators included.
- An unassigned task belongs to the holders of its lane's role (the platform itself too).

The lane still decides the screen: the tasks of `CONFIRMED_LANES` ask for the password again.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SIGNATORY_LANE = "elu"
"""The élus' lane: their visas and signatures, listed in the parapheur."""
CONFIRMED_LANES = frozenset({SIGNATORY_LANE})
CASE_READERS = ("agent", SIGNATORY_LANE, "archiviste")
"""Roles that may read a tenant's cases and their documents (pages, previews and API)."""
"""Lanes whose tasks (visas and signatures) ask for the password again, every time."""

SYSTEM_ROLE = "system"


@dataclass(frozen=True)
class TaskAccess:
    """The verdict of `task_access` for one person and one task."""

    allowed: bool
    acting_for: str | None = None
    """Login of the assignee the person stands in for (a deputy), None when acting as themselves."""
    reserved_to: str | None = None
    """When refused: login of the assignee the task is reserved to (None: a lane's role)."""
    lane: str | None = None


def task_access(
    *,
    lane: str | None,
    assignee: str | None,
    login: str | None,
    roles: Collection[str],
    deputy_for: Collection[str] = (),
) -> TaskAccess:
    """May the person `login` holding `roles`, deputy of the logins `deputy_for` (delegations in
    force now), act on a task of `lane` assigned to `assignee` (None: unassigned)?"""
    if assignee is None:
        if lane is None or lane in roles or SYSTEM_ROLE in roles:
            return TaskAccess(True, lane=lane)
        return TaskAccess(False, lane=lane)
    if login is not None and login == assignee:
        return TaskAccess(True, lane=lane)
    if login is not None and assignee in deputy_for:
        return TaskAccess(True, acting_for=assignee, lane=lane)
    return TaskAccess(False, reserved_to=assignee, lane=lane)


def refusal(verdict: TaskAccess, assignee_name: str | None = None) -> str:
    """The French message telling why a task was refused (the same on every channel)."""
    if verdict.reserved_to is not None:
        name = assignee_name or verdict.reserved_to
        return f"Cette tâche est réservée à {name} (ou à son délégataire)."
    return f"Cette tâche revient au rôle « {role_label(verdict.lane)} »."


ROLE_LABELS = {
    "agent": "Agent",
    "elu": "Élu",
    "archiviste": "Archiviste",
    "admin": "Administrateur de la collectivité",
}


def role_label(role: str | None) -> str:
    return ROLE_LABELS.get(role or "", role or "")


def asks_password(lane: str | None) -> bool:
    """Visas and signatures are confirmed by the person's password, each time."""
    return lane in CONFIRMED_LANES


VISA_TASKS = frozenset({"viser"})
SIGNATURE_TASKS = frozenset({"signer"})


def task_kind(name: str, lane: str | None, assignee: str | None) -> str | None:
    """« Visa » or « Signature » for the steps of a signature circuit and the élus' signatures;
    None for other tasks (their lane's label says who does them)."""
    if name in VISA_TASKS:
        return "Visa"
    if name in SIGNATURE_TASKS and (assignee is not None or lane in CONFIRMED_LANES):
        return "Signature"
    return None


@dataclass(frozen=True)
class InboxCase:
    """The dossier a listed task belongs to, as task lists show it."""

    reference: str
    title: str
    """The dossier's subject (`objet`/`titre` of its data, else the procedure's name)."""
    procedure: str
    procedure_title: str
    """The procedure's French name, from the definition the case started with."""
    data: dict[str, Any]
    """The case data summary (its computed deadlines among it)."""
    created_at: datetime
