"""Operations of the council session case: check its agenda, resume the deliberation cases
placed on it (inscription, then vote) by correlated messages, and list what was voted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from engine.domain.errors import Conflict, NotFound
from engine.domain.model import Actor
from engine.operations.base import (
    Operation,
    OperationContext,
    OperationFailed,
    OperationRetry,
    param,
    passing,
    result_only,
)
from engine.persistence.uow import UnitOfWork
from engine.services.council import INSCRIPTION, MAX_POINTS, SESSION_MESSAGES

RESULT_LABELS = {"adoptee": "adoptée", "rejetee": "rejetée"}


# --- engine.session_agenda ---------------------------------------------------------------------


def _project_numbers(points: Any) -> list[str]:
    if not isinstance(points, list) or not points:
        raise OperationFailed("ordre_du_jour_invalide", "L'ordre du jour de la séance est vide.")
    if len(points) > MAX_POINTS:
        raise OperationFailed(
            "ordre_du_jour_invalide", f"L'ordre du jour dépasse {MAX_POINTS} points."
        )
    return [str(p).strip() for p in points]


@dataclass(frozen=True)
class AgendaParams:
    points: list[str] = param(_project_numbers, required=True)
    """The projects' numbers, in agenda order."""


def _session_agenda(uow: UnitOfWork, ctx: OperationContext, params: AgendaParams) -> dict[str, Any]:
    """The agenda from the projects' numbers: each must be a visaed project awaiting a session.

    Every problem is listed at once, so that the clerk corrects the agenda in one go."""
    agenda: list[dict[str, Any]] = []
    problems: list[str] = []
    for number in params.points:
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


# --- engine.notify_cases -----------------------------------------------------------------------


def _message(value: Any) -> str:
    message = str(value or "")
    if message not in SESSION_MESSAGES:
        raise OperationFailed("message_invalide", f"Message de séance inconnu « {message} ».")
    return message


def _sendings(value: Any) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(value, list) or len(value) > MAX_POINTS:
        raise OperationFailed("message_invalide", "Liste des envois invalide.")
    parsed: list[tuple[str, dict[str, Any]]] = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("payload"), dict):
            raise OperationFailed("message_invalide", "Envoi sans destinataire ni contenu.")
        parsed.append((str(item.get("correlation") or ""), dict(item["payload"])))
    return parsed


@dataclass(frozen=True)
class NotifyParams:
    message: str = param(_message, required=True)
    """seance_inscription or seance_vote."""
    envois: list[tuple[str, dict[str, Any]]] = param(_sendings, required=True)
    """One {"correlation": project number, "payload": {...}} per deliberation case."""


def _prepare_notify(uow: UnitOfWork, ctx: OperationContext, params: NotifyParams) -> NotifyParams:
    del uow, ctx  # the cases are resumed in the write transaction
    return params


def _notify_cases(uow: UnitOfWork, ctx: OperationContext, params: NotifyParams) -> dict[str, Any]:
    """Deliver one session message to each deliberation case, in the runner's transaction:
    either every case is resumed or none is (a case that no longer waits fails the step)."""
    from engine.services.cases import deliver_message  # the runtime: SpiffWorkflow, once used
    from engine.services.messages import MessageOrigin

    actor = Actor.system("seance")
    delivered = []
    for correlation, payload in params.envois:
        try:
            case = deliver_message(
                uow,
                tenant=ctx.tenant,
                message=params.message,
                correlation=correlation,
                payload=payload,
                origin=MessageOrigin.connector(actor),
                now=ctx.now,
            )
        except (NotFound, Conflict) as exc:
            raise OperationFailed("message_non_remis", f"Projet n° {correlation} : {exc}") from exc
        delivered.append(
            {"numero_projet": correlation, "dossier": str(case.id), "reference": case.reference}
        )
    return {"remis": delivered, "remis_le": ctx.now.isoformat()}


# --- engine.session_acts -----------------------------------------------------------------------


def _cases(value: Any) -> list[Any]:
    if not isinstance(value, list) or len(value) > MAX_POINTS:
        raise OperationFailed("dossiers_invalides", "Liste des dossiers de la séance invalide.")
    return value


@dataclass(frozen=True)
class ActsParams:
    dossiers: list[Any] = param(_cases, required=True)
    """The deliberation cases resumed by the vote ({"dossier": id, ...})."""


def _session_acts(uow: UnitOfWork, ctx: OperationContext, params: ActsParams) -> dict[str, Any]:
    """The deliberations the session voted, in agenda order, with their act numbers.

    An adopted deliberation is numbered by its own case just after the vote: until then the
    step is retried rather than listing an act without its number."""
    listed = []
    for item in params.dossiers:
        try:
            case = uow.cases.get(ctx.tenant, uuid.UUID(str(item.get("dossier"))))
        except (ValueError, AttributeError, NotFound) as exc:
            raise OperationFailed("dossiers_invalides", f"Dossier introuvable : {item}") from exc
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


SESSION_AGENDA = Operation(
    name="engine.session_agenda",
    params=AgendaParams,
    prepare=_session_agenda,
    act=passing,
    record=result_only,
    description="Vérifie l'ordre du jour d'une séance (projets visés en attente de séance)",
)
NOTIFY_CASES = Operation(
    name="engine.notify_cases",
    params=NotifyParams,
    prepare=_prepare_notify,
    act=passing,
    record=_notify_cases,
    description="Reprend les dossiers de délibération de la séance (inscription, vote)",
)
SESSION_ACTS = Operation(
    name="engine.session_acts",
    params=ActsParams,
    prepare=_session_acts,
    act=passing,
    record=result_only,
    description="Délibérations votées lors de la séance, avec leur numéro",
)

OPERATIONS = (SESSION_AGENDA, NOTIFY_CASES, SESSION_ACTS)
