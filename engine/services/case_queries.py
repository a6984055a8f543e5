"""Operations that read across a tenant's cases: similar purchases, a session's deliberations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from engine.services.operations import OperationContext, OperationFailed

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


def similar_purchases(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    """Purchases of the same year, type and CPV group (first 3 digits: the 'groupe' level of the
    CPV nomenclature), other than this case: the basis for the splitting check (art. R2121-6 CCP
    asks for the value of homogeneous supplies or services over the year)."""
    start = _year_start(params.get("date_lancement"))
    kind = params.get("type_marche")
    cpv_group = str(params.get("code_cpv") or "")[:3]
    found: list[dict[str, Any]] = []
    total = 0.0
    with ctx.unit_of_work() as uow:
        rows = uow.cases.summaries(
            ctx.tenant, "commande-publique", since=start - timedelta(days=31)
        )
    for case_id, reference, data in rows:
        if case_id == ctx.case_id or data.get("type_marche") != kind:
            continue
        if str(data.get("date_lancement", ""))[:4] != str(start.year):
            continue
        if not cpv_group or str(data.get("code_cpv") or "")[:3] != cpv_group:
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


def session_deliberations(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    """The projects voted at this council session (same tenant, same session date-time)."""
    session = params.get("seance")
    if not session:
        raise OperationFailed("seance_absente", "Séance non renseignée.")
    with ctx.unit_of_work() as uow:
        rows = uow.cases.summaries(ctx.tenant, "deliberation", since=ctx.now - timedelta(days=400))
    voted = []
    for _case_id, reference, data in rows:
        if data.get("seance") != session or data.get("statut") not in (
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
