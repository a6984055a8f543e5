"""The council as data: a tenant's councillors, their mandates and roles, kept by the tenant
admin and picked by the séance's forms (convocation, attendance, vote)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from engine.domain.errors import FieldError, FormValidationError
from engine.domain.model import Actor
from engine.domain.tenant_records import Councillor
from engine.persistence.uow import UnitOfWork

INSCRIPTION = "seance_inscription"
"""Message a séance sends to each deliberation on its agenda."""
VOTE = "seance_vote"
"""Message carrying the vote of a deliberation back to its case."""
SESSION_MESSAGES = (INSCRIPTION, VOTE)
MAX_POINTS = 150
"""Items on one séance's agenda, at most."""

__all__ = [
    "COUNCIL_ROLES",
    "MAX_COUNCILLORS",
    "Councillor",
    "CouncillorInput",
    "councillors",
    "parse_councillor",
    "remove_councillor",
    "save_councillor",
]

COUNCIL_ROLES = {
    "maire": "Maire",
    "adjoint": "Adjoint au maire",
    "conseiller_delegue": "Conseiller municipal délégué",
    "conseiller": "Conseiller municipal",
}
MAX_COUNCILLORS = 400
"""Mandates kept per tenant: the largest councils sit 69, with several terms on record."""
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,188}\.[^@\s]{2,63}$")


@dataclass(frozen=True)
class CouncillorInput:
    """What the tenant admin typed for one councillor (all text, as submitted)."""

    name: str
    email: str
    role: str
    mandate_start: str
    mandate_end: str = ""


def _date(raw: str, path: str, errors: list[FieldError]) -> date | None:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        errors.append(FieldError(path, "date attendue (jj/mm/aaaa)"))
        return None


def parse_councillor(
    tenant: str, given: CouncillorInput, *, councillor_id: uuid.UUID | None = None
) -> Councillor:
    """A councillor from the admin's input; every problem is listed at once, in French."""
    errors: list[FieldError] = []
    name = " ".join(given.name.split())
    if not 3 <= len(name) <= 200:
        errors.append(FieldError("nom", "entre 3 et 200 caractères"))
    email = given.email.strip().lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        errors.append(FieldError("courriel", "adresse électronique invalide"))
    if given.role not in COUNCIL_ROLES:
        errors.append(FieldError("fonction", "fonction inconnue"))
    start = _date(given.mandate_start, "debut_mandat", errors) if given.mandate_start else None
    if not given.mandate_start.strip():
        errors.append(FieldError("debut_mandat", "ce champ est obligatoire"))
    end = _date(given.mandate_end, "fin_mandat", errors) if given.mandate_end.strip() else None
    if start is not None and end is not None and end < start:
        errors.append(FieldError("fin_mandat", "la fin du mandat précède son début"))
    if errors or start is None:
        raise FormValidationError(errors)
    return Councillor(
        id=councillor_id or uuid.uuid4(),
        tenant=tenant,
        name=name,
        email=email,
        role=given.role,
        mandate_start=start,
        mandate_end=end,
    )


def councillors(uow: UnitOfWork, tenant: str, *, at: date | None = None) -> list[Councillor]:
    """The tenant's councillors, only those in mandate on `at` when given."""
    return uow.council.councillors(tenant, at=at)


def _journal(
    uow: UnitOfWork, kind: str, councillor: Councillor, actor: Actor, now: datetime
) -> None:
    uow.journal.append(
        tenant=councillor.tenant,
        kind=kind,
        case_id=None,
        actor=actor.user_id,
        payload={
            "conseiller": str(councillor.id),
            "nom": councillor.name,
            "fonction": councillor.role,
            "debut_mandat": councillor.mandate_start.isoformat(),
            "fin_mandat": councillor.mandate_end.isoformat() if councillor.mandate_end else None,
        },
        now=now,
    )


def save_councillor(
    uow: UnitOfWork, councillor: Councillor, *, actor: Actor, now: datetime
) -> None:
    """Add a councillor or change one; the same mail twice in overlapping mandates is refused."""
    existing = uow.council.councillors(councillor.tenant)
    if councillor.id not in {c.id for c in existing} and len(existing) >= MAX_COUNCILLORS:
        raise FormValidationError(
            [FieldError("", f"au plus {MAX_COUNCILLORS} mandats par collectivité")]
        )
    for other in existing:
        if other.id == councillor.id or other.email != councillor.email:
            continue
        other_end = other.mandate_end or date.max
        end = councillor.mandate_end or date.max
        if other.mandate_start <= end and councillor.mandate_start <= other_end:
            raise FormValidationError(
                [FieldError("courriel", f"{other.name} a déjà cette adresse sur la même période")]
            )
    uow.council.save(councillor, by=actor.user_id, now=now)
    _journal(uow, "council.saved", councillor, actor, now)


def remove_councillor(
    uow: UnitOfWork, tenant: str, councillor_id: uuid.UUID, *, actor: Actor, now: datetime
) -> Councillor:
    councillor = uow.council.councillor(tenant, councillor_id)
    uow.council.remove(tenant, councillor_id)
    _journal(uow, "council.removed", councillor, actor, now)
    return councillor
