"""Operations that read across a tenant's cases: similar purchases, a session's deliberations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.operations.base import (
    Operation,
    OperationContext,
    OperationFailed,
    param,
    passing,
    result_only,
)
from engine.persistence.uow import UnitOfWork

VOTED = ("adoptée", "rejetée")


def _year_start(value: Any) -> datetime:
    try:
        year = int(str(value)[:4])
    except ValueError as exc:
        raise OperationFailed("date_invalide", f"Date de lancement illisible : {value}") from exc
    return datetime(year, 1, 1, tzinfo=UTC)


def _amount(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


@dataclass(frozen=True)
class PurchasesParams:
    date_lancement: datetime = param(_year_start, required=True)
    """The purchase's launch date; the check covers its calendar year (start given here)."""
    type_marche: Any = param()
    code_cpv: str = param(lambda value: str(value or "")[:3])
    """The CPV code; its first three digits (the 'groupe' level) are compared."""
    objet: Any = param()
    montant_estime_ht: Any = param()
    """This purchase's subject and estimate: given by the procedure, not part of the search."""


def _similar_purchases(
    uow: UnitOfWork, ctx: OperationContext, params: PurchasesParams
) -> dict[str, Any]:
    """Purchases of the same year, type and CPV group (first 3 digits: the 'groupe' level of the
    CPV nomenclature), other than this case: the basis for the splitting check (art. R2121-6 CCP
    asks for the value of homogeneous supplies or services over the year)."""
    start = params.date_lancement
    rows = uow.cases.summaries(ctx.tenant, "commande-publique", since=start - timedelta(days=31))
    found: list[dict[str, Any]] = []
    total = 0.0
    for case_id, reference, data in rows:
        if case_id == ctx.case_id or data.get("type_marche") != params.type_marche:
            continue
        if str(data.get("date_lancement", ""))[:4] != str(start.year):
            continue
        if not params.code_cpv or str(data.get("code_cpv") or "")[:3] != params.code_cpv:
            continue
        amount = _amount(data.get("montant_estime_ht"))
        total += amount
        found.append(
            {
                "reference": reference,
                "objet": data.get("objet"),
                "montant_estime_ht": amount,
                "date_lancement": data.get("date_lancement"),
            }
        )
    return {"achats": found, "montant_cumule_ht": round(total, 2)}


def _session(value: Any) -> Any:
    if not value:
        raise OperationFailed("seance_absente", "Séance non renseignée.")
    return value


@dataclass(frozen=True)
class SessionParams:
    seance: Any = param(_session, required=True)
    """The session's date-time, as the deliberation cases record it."""


def _session_deliberations(
    uow: UnitOfWork, ctx: OperationContext, params: SessionParams
) -> dict[str, Any]:
    """The projects voted at this council session (same tenant, same session date-time)."""
    rows = uow.cases.summaries(ctx.tenant, "deliberation", since=ctx.now - timedelta(days=400))
    voted = []
    for _case_id, reference, data in rows:
        if data.get("seance") != params.seance or data.get("statut") not in (
            *VOTED,
            "transmise",
            "exécutoire",
        ):
            continue
        adopted = data.get("statut") != "rejetée"
        voted.append(
            {
                "numero": data.get("numero_acte"),
                "reference": reference,
                "objet": data.get("objet"),
                "resultat": "adoptée" if adopted else "rejetée",
            }
        )
    # Numbered (adopted) acts in number order, then the rejected projects, which get no number.
    voted.sort(key=lambda d: (d["numero"] is None, str(d["numero"] or d["reference"])))
    return {"deliberations": voted}


SIMILAR_PURCHASES = Operation(
    name="engine.similar_purchases",
    params=PurchasesParams,
    prepare=_similar_purchases,
    act=passing,
    record=result_only,
    description="Achats de même nature dans l'année (contrôle du fractionnement)",
)
SESSION_DELIBERATIONS = Operation(
    name="engine.session_deliberations",
    params=SessionParams,
    prepare=_session_deliberations,
    act=passing,
    record=result_only,
    description="Délibérations votées lors d'une séance",
)

OPERATIONS = (SIMILAR_PURCHASES, SESSION_DELIBERATIONS)
