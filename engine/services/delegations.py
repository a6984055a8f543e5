"""Delegations of signature: a named deputy acts for an absent person over a period.

The deputy acts and signs as themselves, with their own key; what they do for the delegator
is recorded as such (`<task>_par.pour`, the journal's "par délégation de", the signature's
quality). Nobody else, administrators included, can act in someone's name.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.domain.errors import Forbidden, InvalidInput
from engine.domain.model import Actor, Delegation
from engine.domain.task_access import refusal, task_access
from engine.ports import UnitOfWork

MAX_PERIOD = timedelta(days=366)
"""A delegation for an absence, not a permanent transfer: renew it each year at most."""
MAX_REASON = 500


@dataclass(frozen=True)
class ActingFor:
    """The person an actor stands in for on an assigned task."""

    login: str
    display_name: str


def actor_login(actor: Actor) -> str | None:
    """The login of a person (`user:<login>`); None for the platform itself."""
    return actor.user_id.removeprefix("user:") if actor.user_id.startswith("user:") else None


def _display_name(uow: UnitOfWork, tenant: str, login: str) -> str:
    row = uow.users.by_username(login)
    if row is None or not row.active or not uow.users.roles(row.id, tenant):
        raise InvalidInput(f"« {login} » n'est pas un utilisateur actif de cette collectivité.")
    return str(row.display_name)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InvalidInput("Date sans fuseau horaire.")
    return moment.astimezone(UTC)


def create_delegation(
    uow: UnitOfWork,
    *,
    tenant: str,
    delegator: str,
    deputy: str,
    starts: datetime,
    ends: datetime,
    reason: str,
    actor: Actor,
    now: datetime,
) -> Delegation:
    """Record a delegation; the delegator records it, or an administrator who is not the deputy."""
    starts, ends = _utc(starts), _utc(ends)
    login = actor_login(actor)
    if deputy == delegator:
        raise InvalidInput("On ne peut pas se déléguer à soi-même.")
    if login != delegator and not ({"admin", "system"} & actor.roles and login != deputy):
        raise Forbidden("Seul le délégant ou un administrateur peut enregistrer cette délégation.")
    if not starts < ends or ends - starts > MAX_PERIOD:
        raise InvalidInput("Période de délégation invalide (un an au plus, fin après le début).")
    if len(reason) > MAX_REASON:
        raise InvalidInput("Motif trop long.")
    delegator_name = _display_name(uow, tenant, delegator)
    deputy_name = _display_name(uow, tenant, deputy)
    delegation = Delegation(
        id=uuid.uuid4(),
        tenant=tenant,
        delegator=delegator,
        deputy=deputy,
        starts=starts,
        ends=ends,
        reason=reason.strip(),
        created_by=actor.user_id,
        created_at=now,
    )
    uow.delegations.add(delegation)
    uow.journal.append(
        tenant=tenant,
        kind="delegation.created",
        case_id=None,
        actor=actor.user_id,
        payload={
            **_payload(delegation),
            "mention": f"{deputy_name} par délégation de {delegator_name}",
        },
        now=now,
    )
    return delegation


def revoke_delegation(
    uow: UnitOfWork, *, tenant: str, delegation_id: uuid.UUID, actor: Actor, now: datetime
) -> Delegation:
    """End a delegation now; the delegator, the deputy or an administrator may do it."""
    delegation = uow.delegations.get(tenant, delegation_id)
    login = actor_login(actor)
    if login not in (delegation.delegator, delegation.deputy) and not (
        {"admin", "system"} & actor.roles
    ):
        raise Forbidden("Vous ne pouvez pas révoquer cette délégation.")
    if delegation.revoked_at is not None:
        return delegation
    uow.delegations.revoke(tenant, delegation_id, by=actor.user_id, now=now)
    uow.journal.append(
        tenant=tenant,
        kind="delegation.revoked",
        case_id=None,
        actor=actor.user_id,
        payload=_payload(delegation),
        now=now,
    )
    return uow.delegations.get(tenant, delegation_id)


def _payload(delegation: Delegation) -> dict[str, Any]:
    return {
        "delegation": str(delegation.id),
        "delegant": f"user:{delegation.delegator}",
        "delegataire": f"user:{delegation.deputy}",
        "debut": delegation.starts.isoformat(),
        "fin": delegation.ends.isoformat(),
        "motif": delegation.reason,
    }


def delegators_of(uow: UnitOfWork, *, tenant: str, deputy: str, at: datetime) -> list[str]:
    """Logins this deputy stands in for at `at` (for inboxes)."""
    return sorted({d.delegator for d in uow.delegations.active(tenant, at, deputy=deputy)})


def check_task_actor(
    uow: UnitOfWork,
    *,
    tenant: str,
    lane: str | None,
    assignee: str | None,
    actor: Actor,
    now: datetime,
) -> ActingFor | None:
    """Who may open or complete a task (engine.domain.task_access): its assignee or their deputy
    in force, else anyone of its lane. Raises Forbidden with the French reason.

    Returns the person the actor stands in for, or None when they act for themselves.
    """
    login = actor_login(actor)
    deputy_for: list[str] = []
    if (
        assignee is not None
        and login is not None
        and login != assignee
        and uow.delegations.active(tenant, _utc(now), deputy=login, delegator=assignee)
    ):
        deputy_for.append(assignee)
    verdict = task_access(
        lane=lane, assignee=assignee, login=login, roles=actor.roles, deputy_for=deputy_for
    )
    if verdict.allowed and verdict.acting_for is None:
        return None
    name = None
    if assignee is not None:
        row = uow.users.by_username(assignee)
        name = str(row.display_name) if row is not None else assignee
    if not verdict.allowed:
        raise Forbidden(refusal(verdict, name))
    return ActingFor(assignee or "", name or "")


def delegations_of(uow: UnitOfWork, *, tenant: str, login: str, now: datetime) -> list[Delegation]:
    """Delegations given or received by `login` that are not over yet (for its screen)."""
    return uow.delegations.for_person(tenant, login, since=_utc(now))
