"""Cross-case operations read only the tenant's own cases."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from engine.bootstrap import Platform
from engine.persistence import tables as t
from tests.engine.support import SIREN_A, SIREN_B, call_operation, make_tenants, start


@pytest.fixture
def p(platform: Platform) -> Platform:
    make_tenants(platform)
    return platform


def _cases_with(
    p: Platform, procedure: str, summaries: list[dict[str, object]], tenant: str = SIREN_A
) -> None:
    """Stored cases of `procedure` with these data (the summaries the operations read)."""
    cases = [start(p, "arrete", tenant=tenant) for _ in summaries]
    with p.db.begin() as conn:
        for case, summary in zip(cases, summaries, strict=True):
            conn.execute(
                update(t.cases)
                .where(t.cases.c.id == case.id)
                .values(procedure=procedure, summary=summary)
            )


def test_similar_purchases_same_year_type_and_cpv_group(p: Platform) -> None:
    base = {"type_marche": "fournitures", "date_lancement": "2026-05-04"}
    _cases_with(
        p,
        "commande-publique",
        [
            {**base, "objet": "Papier A4", "code_cpv": "30197643", "montant_estime_ht": 25000},
            {**base, "objet": "Enveloppes", "code_cpv": "30199230", "montant_estime_ht": 18000},
            {**base, "objet": "Ordinateurs", "code_cpv": "30213000", "montant_estime_ht": 50000},
            {
                **base,
                "objet": "Papier 2025",
                "code_cpv": "30197643",
                "montant_estime_ht": 9000,
                "date_lancement": "2025-11-02",
            },
            {
                **base,
                "objet": "Travaux",
                "code_cpv": "30197643",
                "montant_estime_ht": 9000,
                "type_marche": "travaux",
            },
        ],
    )
    _cases_with(
        p,
        "commande-publique",
        [{**base, "objet": "Papier", "code_cpv": "30197643", "montant_estime_ht": 7000}],
        tenant=SIREN_B,
    )
    result = call_operation(
        p,
        "engine.similar_purchases",
        {**base, "code_cpv": "30192700", "montant_estime_ht": 30000},
    )
    # Computers (CPV group 302) are not office supplies (group 301): a different need.
    assert sorted(a["objet"] for a in result["achats"]) == ["Enveloppes", "Papier A4"]
    assert result["montant_cumule_ht"] == 43000


def test_session_deliberations_lists_voted_projects_of_that_session(p: Platform) -> None:
    seance = "2026-03-16T18:00:00+01:00"
    _cases_with(
        p,
        "deliberation",
        [
            {
                "seance": seance,
                "statut": "transmise",
                "numero_acte": "2026_DEL0002",
                "objet": "Budget",
            },
            {"seance": seance, "statut": "rejetée", "objet": "Vente de terrain"},
            {
                "seance": "2026-04-20T18:00:00+02:00",
                "statut": "exécutoire",
                "numero_acte": "2026_DEL0003",
            },
        ],
    )
    result = call_operation(p, "engine.session_deliberations", {"seance": seance})
    assert [(d["objet"], d["resultat"]) for d in result["deliberations"]] == [
        ("Budget", "adoptée"),
        ("Vente de terrain", "rejetée"),
    ]
    assert call_operation(
        p, "engine.session_deliberations", {"seance": seance}, tenant=SIREN_B
    ) == {"deliberations": []}
