"""Operations of the council session case: check its agenda, resume the deliberation cases
placed on it (inscription, then vote) by correlated messages, and list what was voted."""

from __future__ import annotations

import uuid
from typing import Any

from engine.domain.errors import Conflict, NotFound
from engine.domain.model import Actor
from engine.persistence.uow import UnitOfWork
from engine.services.cases import deliver_message
from engine.services.messages import MessageOrigin
from engine.services.operations import (
    OperationContext,
    OperationFailed,
    OperationRegistry,
    OperationRetry,
    once,
)
from engine.settings import Settings

INSCRIPTION = "seance_inscription"
VOTE = "seance_vote"
SESSION_MESSAGES = (INSCRIPTION, VOTE)
MAX_POINTS = 150
RESULT_LABELS = {"adoptee": "adoptée", "rejetee": "rejetée"}


def _project_numbers(params: dict[str, Any]) -> list[str]:
    points = params.get("points")
    if not isinstance(points, list) or not points:
        raise OperationFailed("ordre_du_jour_invalide", "L'ordre du jour de la séance est vide.")
    if len(points) > MAX_POINTS:
        raise OperationFailed(
            "ordre_du_jour_invalide", f"L'ordre du jour dépasse {MAX_POINTS} points."
        )
    return [str(p).strip() for p in points]


def session_agenda(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    """The agenda from the projects' numbers: each must be a visaed project awaiting a session.

    Every problem is listed at once, so that the clerk corrects the agenda in one go."""
    numbers = _project_numbers(params)
    agenda: list[dict[str, Any]] = []
    problems: list[str] = []
    with ctx.unit_of_work() as uow:
        for number in numbers:
            if any(p["numero_projet"] == number for p in agenda):
                problems.append(f"le projet n° {number} figure deux fois")
                continue
            waiting = uow.cases.waiting_for_message(ctx.tenant, INSCRIPTION, number)
            if len(waiting) != 1:
                problems.append(
                    f"le projet n° {number} n'attend pas d'inscription (numéro inconnu, projet "
                    "pas encore visé ou déjà inscrit à une autre séance)"
                )
                continue
            case = uow.cases.get(ctx.tenant, waiting[0])
            agenda.append(
                {
                    "numero": len(agenda) + 1,
                    "numero_projet": number,
                    "reference": case.reference,
                    "objet": str(case.data.get("objet") or case.title),
                    "rapporteur": str(case.data.get("rapporteur") or ""),
                }
            )
    if problems:
        raise OperationFailed(
            "ordre_du_jour_invalide", "Ordre du jour refusé : " + " ; ".join(problems) + "."
        )
    return {"ordre_du_jour": agenda}


def _sendings(params: dict[str, Any]) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    message = str(params.get("message") or "")
    if message not in SESSION_MESSAGES:
        raise OperationFailed("message_invalide", f"Message de séance inconnu « {message} ».")
    sendings = params.get("envois")
    if not isinstance(sendings, list) or len(sendings) > MAX_POINTS:
        raise OperationFailed("message_invalide", "Liste des envois invalide.")
    parsed: list[tuple[str, dict[str, Any]]] = []
    for item in sendings:
        if not isinstance(item, dict) or not isinstance(item.get("payload"), dict):
            raise OperationFailed("message_invalide", "Envoi sans destinataire ni contenu.")
        parsed.append((str(item.get("correlation") or ""), dict(item["payload"])))
    return message, parsed


def notify_cases(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    """Deliver one session message to each deliberation case, all in one transaction: either
    every case is resumed or none is (a case that no longer waits fails the whole step)."""
    message, sendings = _sendings(params)
    actor = Actor.system("seance")

    def compute(uow: UnitOfWork) -> dict[str, Any]:
        delivered = []
        for correlation, payload in sendings:
            try:
                case = deliver_message(
                    uow,
                    tenant=ctx.tenant,
                    message=message,
                    correlation=correlation,
                    payload=payload,
                    origin=MessageOrigin.connector(actor),
                    now=ctx.now,
                )
            except (NotFound, Conflict) as exc:
                raise OperationFailed(
                    "message_non_remis", f"Projet n° {correlation} : {exc}"
                ) from exc
            delivered.append(
                {"numero_projet": correlation, "dossier": str(case.id), "reference": case.reference}
            )
        return {"remis": delivered, "remis_le": ctx.now.isoformat()}

    return once(ctx, "engine.notify_cases", compute)


def session_acts(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    """The deliberations the session voted, in agenda order, with their act numbers.

    An adopted deliberation is numbered by its own case just after the vote: until then the
    step is retried rather than listing an act without its number."""
    cases = params.get("dossiers")
    if not isinstance(cases, list) or len(cases) > MAX_POINTS:
        raise OperationFailed("dossiers_invalides", "Liste des dossiers de la séance invalide.")
    listed = []
    with ctx.unit_of_work() as uow:
        for item in cases:
            try:
                case = uow.cases.get(ctx.tenant, uuid.UUID(str(item.get("dossier"))))
            except (ValueError, AttributeError, NotFound) as exc:
                raise OperationFailed(
                    "dossiers_invalides", f"Dossier introuvable : {item}"
                ) from exc
            result = case.data.get("resultat_vote_seance")
            if result not in RESULT_LABELS:
                continue  # postponed: not deliberated at this session
            number = case.data.get("numero_acte")
            if result == "adoptee" and not number:
                raise OperationRetry(f"délibération {case.reference} pas encore numérotée")
            listed.append(
                {
                    "numero": number or "",
                    "reference": case.reference,
                    "objet": str(case.data.get("objet") or case.title),
                    "resultat": RESULT_LABELS[str(result)],
                }
            )
    return {"deliberations": listed}


def register(registry: OperationRegistry, settings: Settings) -> None:
    del settings  # nothing to configure
    registry.register(
        "engine.session_agenda",
        session_agenda,
        description="Vérifie l'ordre du jour d'une séance (projets visés en attente de séance)",
    )
    registry.register(
        "engine.notify_cases",
        notify_cases,
        description="Reprend les dossiers de délibération de la séance (inscription, vote)",
    )
    registry.register(
        "engine.session_acts",
        session_acts,
        description="Délibérations votées lors de la séance, avec leur numéro",
    )
