"""`engine.compute_deadline`: legal deadlines for BPMN timers, computed by the deadline rules.

The result carries the due instant for a timer (`echeance`, ISO 8601 UTC) and everything that
produced it (rule, legal basis, inputs, French explanation) so the case keeps the reasoning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from engine.domain.calendar_fr import local_date
from engine.domain.deadlines import (
    Deadline,
    DeadlineError,
    MissingDocumentsRequest,
    convocation_deadline,
    implicit_decision,
    legality_control_end,
    publication_min_end,
    standstill_end,
)
from engine.domain.french import format_datetime_fr
from engine.operations.base import (
    Operation,
    OperationContext,
    OperationFailed,
    param,
    result_only,
)
from engine.persistence.uow import UnitOfWork


def _instant(params: dict[str, Any], name: str) -> datetime:
    value = params.get(name)
    if not isinstance(value, str):
        raise OperationFailed("echeance_entree", f"Date-heure « {name} » manquante.")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise OperationFailed(
            "echeance_entree", f"Date-heure « {name} » illisible : {value}"
        ) from exc


def _day(value: Any) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise OperationFailed("echeance_entree", f"Date illisible : {value}") from exc


def _suspensions(params: dict[str, Any]) -> list[MissingDocumentsRequest]:
    requests = []
    for item in params.get("suspensions") or []:
        # the procedures record "demandees_le"/"recues_le" (as citizen_requests reads them)
        asked = "demandees_le" if "demandees_le" in item else "demande_le"
        got = "recues_le" if "recues_le" in item else "recu_le"
        requests.append(
            MissingDocumentsRequest(
                requested_at=_instant(item, asked),
                time_limit=_day(item.get("delai")),
                received_at=_instant(item, got) if item.get(got) else None,
            )
        )
    return requests


def _bids_deadline(params: dict[str, Any]) -> Deadline:
    """The date and hour the buyer set for receiving bids (R2151-1 CCP): exact, not a day's
    end; a bid received at or after it is eliminated (R2151-5 CCP)."""
    limit = _instant(params, "date_limite")
    if limit.tzinfo is None:
        raise OperationFailed("echeance_entree", f"Date-heure limite sans fuseau : {limit}")
    return Deadline(
        rule="ccp.reception_offres",
        legal_basis="Art. R2151-1 et R2151-5 CCP",
        due=limit,
        local_date=local_date(limit - timedelta(microseconds=1)),
        inputs={"date_limite": limit.isoformat()},
        explanation=(
            f"Offres reçues jusqu'au {format_datetime_fr(limit, weekday=True)} "
            "(heure de Paris), date et heure limites fixées par l'acheteur ; "
            "une offre reçue après est éliminée."
        ),
    )


RULES: dict[str, Callable[[dict[str, Any]], Deadline | None]] = {
    "ccp.reception_offres": _bids_deadline,
    "cgct.convocation": lambda p: convocation_deadline(
        _instant(p, "seance"), jours_francs=int(p.get("jours_francs", 5))
    ),
    "crpa.decision_implicite": lambda p: implicit_decision(
        _instant(p, "recu_le"),
        acceptance=bool(p.get("acceptation", True)),
        months=int(p.get("mois", 2)),
        missing_documents=_suspensions(p),
    ),
    "cgct.controle_legalite": lambda p: legality_control_end(
        _instant(p, "ar_recu_le"),
        complements_received_at=(
            _instant(p, "complements_recus_le") if p.get("complements_recus_le") else None
        ),
    ),
    "publication.duree_minimale": lambda p: publication_min_end(
        _instant(p, "publie_le"), months=int(p.get("mois", 2))
    ),
    "ccp.standstill": lambda p: standstill_end(
        _instant(p, "notifie_le"),
        days=int(p["jours"]) if p.get("jours") is not None else None,
        electronic=bool(p.get("electronique", True)),
    ),
}


def _rule(value: Any) -> str:
    rule = str(value or "")
    if rule not in RULES:
        raise OperationFailed("regle_inconnue", f"Règle d'échéance inconnue « {rule} ».")
    return rule


@dataclass(frozen=True)
class DeadlineParams:
    """The rule, then the inputs of the rules (each rule reads its own, checked when it runs)."""

    regle: str = param(_rule, required=True)
    seance: Any = param()
    """cgct.convocation: the session's date-time."""
    jours_francs: Any = param()
    recu_le: Any = param()
    """crpa.decision_implicite: when the request was received."""
    acceptation: Any = param()
    mois: Any = param()
    suspensions: Any = param()
    """crpa.decision_implicite: requests for missing documents (demandees_le, delai, recues_le)."""
    ar_recu_le: Any = param()
    """cgct.controle_legalite: the prefecture's acknowledgement."""
    complements_recus_le: Any = param()
    """cgct.controle_legalite: complements the préfet asked for, received (restarts the term)."""
    publie_le: Any = param()
    notifie_le: Any = param()
    """ccp.standstill: when the rejection notices were sent."""
    electronique: Any = param()
    jours: Any = param()
    date_limite: Any = param()
    """ccp.reception_offres: the date and hour set for receiving bids."""

    def inputs(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


def _prepare(uow: UnitOfWork, ctx: OperationContext, params: DeadlineParams) -> DeadlineParams:
    del uow, ctx  # a pure computation on the parameters
    return params


def _compute(params: DeadlineParams) -> dict[str, Any]:
    rule = params.regle
    try:
        deadline = RULES[rule](params.inputs())
    except DeadlineError as exc:
        raise OperationFailed("echeance_entree", str(exc)) from exc
    if deadline is None:
        return {
            "echeance": None,
            "regle": rule,
            "explication": "Le délai ne court pas encore : des pièces manquantes sont attendues.",
        }
    stored = deadline.to_dict()
    return {
        **stored,
        "echeance": stored["due"],
        "explication": deadline.explanation,
        "regle": rule,
        "base_legale": deadline.legal_basis,
    }


COMPUTE_DEADLINE = Operation(
    name="engine.compute_deadline",
    params=DeadlineParams,
    prepare=_prepare,
    act=_compute,
    record=result_only,
    description="Calcule une échéance légale et son explication",
)

OPERATIONS = (COMPUTE_DEADLINE,)
