"""`engine.compute_deadline`: legal deadlines for BPMN timers, computed by the deadlines library.

The result carries the due instant for a timer (`echeance`, ISO 8601 UTC) and everything that
produced it (rule, legal basis, inputs, French explanation) so the case keeps the reasoning.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

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
from engine.services.operations import OperationContext, OperationFailed


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
        received = item.get("recu_le")
        requests.append(
            MissingDocumentsRequest(
                requested_at=_instant(item, "demande_le"),
                time_limit=_day(item.get("delai")),
                received_at=_instant(item, "recu_le") if received else None,
            )
        )
    return requests


RULES: dict[str, Callable[[dict[str, Any]], Deadline | None]] = {
    "cgct.convocation": lambda p: convocation_deadline(
        _instant(p, "seance"), jours_francs=int(p.get("jours_francs", 5))
    ),
    "crpa.decision_implicite": lambda p: implicit_decision(
        _instant(p, "recu_le"),
        acceptance=bool(p.get("acceptation", True)),
        months=int(p.get("mois", 2)),
        missing_documents=_suspensions(p),
    ),
    "cgct.controle_legalite": lambda p: legality_control_end(_instant(p, "ar_recu_le")),
    "publication.duree_minimale": lambda p: publication_min_end(
        _instant(p, "publie_le"), months=int(p.get("mois", 2))
    ),
    "ccp.standstill": lambda p: standstill_end(
        _instant(p, "notifie_le"), electronic=bool(p.get("electronique", True))
    ),
}


def compute_deadline(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    rule = str(params.get("regle", ""))
    compute = RULES.get(rule)
    if compute is None:
        raise OperationFailed("regle_inconnue", f"Règle d'échéance inconnue « {rule} ».")
    try:
        deadline = compute(params)
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
