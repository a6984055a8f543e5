"""Citizens' requests received on paper or in person, registered by an agent at the counter.

The agent types in the same form as the public one, for the citizen (« pour le compte de »): the
case starts with the agent as actor and the journal says on whose behalf. The day the request was
received, not the day it is typed in, starts the deadlines (the implicit decision date). A citizen
with no e-mail address gets everything by post: the procedure mails only when an address was
given, and the agent prints the sealed acknowledgement to hand over or post.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from engine.domain.calendar_fr import local_date
from engine.domain.errors import FieldError, FormValidationError, NotFound
from engine.domain.french import PARIS, format_date_fr
from engine.domain.model import Actor, Document
from engine.persistence.uow import UnitOfWork
from engine.services.citizen_requests import (
    Filing,
    Submitted,
    Upload,
    UploadLimits,
    check_request,
    file_request,
    request_form,
)
from engine.services.documents import PDF, document_from_reference

__all__ = [
    "BACKDATING_DAYS",
    "CHANNELS",
    "CounterRequest",
    "Registered",
    "acknowledgement",
    "counter_form",
    "received_moment",
    "register_request",
    "registered",
]

CHANNELS: dict[str, str] = {"guichet": "au guichet", "courrier": "par courrier"}
"""How the paper request arrived, as the journal and the pages say it."""
BACKDATING_DAYS = 15
"""How far back the date of receipt may go: a letter registered late, within a fortnight (shorter
than the shortest silence delay, one month, so no implicit decision is born before it is typed)."""
REGISTERED = "citizen.request.registered"


def counter_form(uow: UnitOfWork, tenant: str) -> dict[str, Any]:
    """The public form's schema, the requester's e-mail and postal address optional one by one
    (at least one of them is checked apart: see `register_request`)."""
    schema = copy.deepcopy(request_form(uow, tenant))
    person = schema["properties"]["demandeur"]
    person["required"] = [k for k in person.get("required", ()) if k not in ("courriel", "adresse")]
    return schema


def _received_on(value: str, today: date) -> tuple[date | None, list[FieldError]]:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        message = (
            "indiquez la date de réception (JJ/MM/AAAA)"
            if not value.strip()
            else ("date invalide (format attendu : JJ/MM/AAAA)")
        )
        return None, [FieldError("date_reception", message)]
    if day > today:
        return None, [
            FieldError(
                "date_reception",
                f"la date de réception ne peut pas être dans le futur "
                f"(aujourd'hui : {format_date_fr(today, weekday=False)})",
            )
        ]
    earliest = today - timedelta(days=BACKDATING_DAYS)
    if day < earliest:
        return None, [
            FieldError(
                "date_reception",
                f"la date de réception ne peut pas remonter au-delà de {BACKDATING_DAYS} jours "
                f"(le {format_date_fr(earliest, weekday=False)} au plus tôt)",
            )
        ]
    return day, []


def received_moment(day: date, now: datetime) -> datetime:
    """The moment of receipt recorded as `recu_le`: now when received today, otherwise noon
    (Paris) of that day; the deadlines count in days from its local date."""
    if day == local_date(now):
        return now
    return datetime.combine(day, time(12, 0), tzinfo=PARIS)


def _contact_problems(data: dict[str, Any]) -> list[FieldError]:
    person = data.get("demandeur") or {}
    if str(person.get("courriel") or "").strip() or str(person.get("adresse") or "").strip():
        return []
    return [
        FieldError(
            "demandeur/adresse",
            "sans adresse électronique, l'adresse postale est obligatoire : l'accusé de "
            "réception et la décision doivent pouvoir être envoyés à l'usager",
        )
    ]


@dataclass(frozen=True)
class CounterRequest:
    """What the agent typed in besides the form itself."""

    channel: str
    received_on: str
    """As typed (ISO date from the date input)."""


def register_request(
    uow: UnitOfWork,
    *,
    tenant: str,
    data: dict[str, Any],
    counter: CounterRequest,
    uploads: list[Upload],
    agent: Actor,
    secret: str,
    now: datetime,
    limits: UploadLimits | None = None,
) -> Submitted:
    """Check everything (every problem listed), then file the request for the citizen in this
    unit of work; nothing is written on error."""
    limits = limits or UploadLimits()
    problems: list[FieldError] = []
    if counter.channel not in CHANNELS:
        problems.append(FieldError("canal", "choisissez comment la demande a été reçue"))
    day, date_problems = _received_on(counter.received_on, local_date(now))
    problems += date_problems + _contact_problems(data)
    checked = check_request(counter_form(uow, tenant), data, uploads, limits, problems)
    if day is None:  # a date problem was raised just above
        raise FormValidationError(date_problems)
    person = data.get("demandeur") or {}
    citizen = " ".join(str(person.get(k) or "") for k in ("prenom", "nom")).strip()
    how = CHANNELS[counter.channel]
    received = format_date_fr(day, weekday=False)
    filing = Filing(
        actor=agent,
        received_at=received_moment(day, now),
        kind=REGISTERED,
        message=(
            f"Demande {{reference}} reçue {how} le {received}, enregistrée par "
            f"{agent.display_name or agent.user_id} pour le compte de {citizen}"
        ),
        extra={
            "canal": counter.channel,
            "enregistre_par": {
                "utilisateur": agent.user_id,
                "nom": agent.display_name,
                "le": now.isoformat(),
                "pour": citizen,
            },
        },
    )
    return file_request(
        uow,
        tenant=tenant,
        data=data,
        uploads=checked,
        filing=filing,
        secret=secret,
        now=now,
        limits=limits,
    )


@dataclass(frozen=True)
class Registered:
    """How a request reached the commune and who asked, for the agent's receipt page."""

    channel: str
    """« au guichet », « par courrier » or « en ligne »."""
    requester: dict[str, Any]
    registered_by: str
    """The agent's name, empty for a request filed online."""


def registered(uow: UnitOfWork, tenant: str, case_id: uuid.UUID) -> Registered:
    if uow.public_requests.by_case(tenant, case_id) is None:
        raise NotFound("Demande introuvable.")
    data = uow.cases.get(tenant, case_id).data
    return Registered(
        channel=CHANNELS.get(str(data.get("canal")), "en ligne"),
        requester=dict(data.get("demandeur") or {}),
        registered_by=str((data.get("enregistre_par") or {}).get("nom") or ""),
    )


def acknowledgement(
    uow: UnitOfWork, tenant: str, case_id: uuid.UUID
) -> tuple[Document, bytes] | None:
    """The sealed acknowledgement of a request, to print; None while the worker prepares it."""
    request = uow.public_requests.by_case(tenant, case_id)
    if request is None:
        raise NotFound("Demande introuvable.")
    case = uow.cases.get(tenant, request.case_id)
    reference = (case.data.get("accuse_scelle") or {}).get("document")
    if reference is None:
        return None
    document = document_from_reference(uow, tenant, reference)
    if document.media_type != PDF:
        raise NotFound("Ce document n'est pas disponible.")
    return document, uow.documents.content(document)
