"""The council session's operations on real deliberation cases (SQLite and PostgreSQL): the
agenda is checked against projects awaiting a session, messages resume every case or none, and
the list of deliberations waits for the acts' numbers."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from engine.bootstrap import Platform
from engine.domain.model import Actor, Case
from engine.operations.base import OperationFailed, OperationRetry
from engine.rendering import RenderRequest, render_pdf
from engine.services.documents import add_case_document
from tests.engine.support import (
    AGENT,
    SIREN_A,
    call_operation,
    complete,
    get,
    make_tenants,
    run_pending_jobs,
)
from tests.engine.support import start as start_case

SEANCE = "2027-01-28T18:30:00+01:00"


def _actor(login: str) -> Actor:
    return Actor(f"user:{login}", frozenset({"agent"}), login)


def _project(platform: Platform, objet: str) -> Case:
    """A deliberation drafted by the clerk, with its project PDF uploaded to the case."""
    case = start_case(platform, "deliberation")
    fields = {
        "objet": objet,
        "rapporteur": "Mme Claire Dumas, adjointe",
        "service_porteur": "Service enfance et éducation",
        "texte": "Le conseil municipal fixe le prix du repas à 3,45 euros.",
    }
    pdf = render_pdf(
        RenderRequest(
            template="projet_deliberation",
            context=fields,
            issuer="Commune de Montpellier-le-Test",
            issued_at=platform.clock(),
        )
    )
    with platform.uow() as uow:
        stored = add_case_document(
            uow,
            tenant=SIREN_A,
            case_id=case.id,
            name=pdf.file_name,
            content=pdf.pdf,
            actor=AGENT,
            now=platform.clock(),
            max_bytes=10_000_000,
        )
        uow.commit()
    document = {"id": str(stored.id), "nom": stored.name, "sha256": stored.sha256}
    form = {**fields, "matiere": "7.1", "projet": document, "annexes": []}
    logins = {"chef_service": "chef_service", "dgs": "dgs", "signataire": "maire"}
    complete(platform, case, "rediger_projet", {**form, **logins, "visa_finances_requis": False})
    return case


def _visaed(platform: Platform, objet: str) -> tuple[Case, str]:
    case = _project(platform, objet)
    for login in ("chef_service", "dgs"):
        complete(platform, case, "viser", {"decision": "viser"}, actor=_actor(login))
    run_pending_jobs(platform, case)
    data = get(platform, case).data
    assert data["statut"] == "à inscrire à une séance"
    return case, str(data["numero_projet"])


def _waits(platform: Platform, message: str, correlation: str) -> list[uuid.UUID]:
    with platform.uow() as uow:
        return uow.cases.waiting_for_message(SIREN_A, message, correlation)


def _vote(resultat: str) -> dict[str, Any]:
    return {
        "resultat": resultat,
        "membres_en_exercice": 27,
        "presents": 21,
        "pouvoirs": 3,
        "pour": 19,
        "contre": 3,
        "abstentions": 2,
        "ne_prend_pas_part": 0,
        "motif": "",
    }


@pytest.fixture
def council(platform: Platform) -> Platform:
    make_tenants(platform)
    return platform


def test_agenda_lists_every_problem_and_only_visaed_projects(council: Platform) -> None:
    case, number = _visaed(council, "Tarifs de la restauration scolaire")
    _project(council, "Projet encore au visa")

    with pytest.raises(OperationFailed) as refused:
        call_operation(
            council, "engine.session_agenda", {"points": [number, "2027_PDEL9999", number]}
        )
    assert refused.value.code == "ordre_du_jour_invalide"
    assert "2027_PDEL9999 n'attend pas d'inscription" in refused.value.message
    assert f"{number} figure deux fois" in refused.value.message

    with pytest.raises(OperationFailed, match="vide"):
        call_operation(council, "engine.session_agenda", {"points": []})

    agenda = call_operation(council, "engine.session_agenda", {"points": [number]})["ordre_du_jour"]
    assert agenda == [
        {
            "numero": 1,
            "numero_projet": number,
            "reference": case.reference,
            "objet": "Tarifs de la restauration scolaire",
            "rapporteur": "Mme Claire Dumas, adjointe",
        }
    ]


def test_messages_resume_every_case_or_none(council: Platform) -> None:
    first, first_number = _visaed(council, "Tarifs de la restauration scolaire")
    second, second_number = _visaed(council, "Dénomination de la place du Marché")
    inscription = {"seance": SEANCE, "lieu": "Salle du conseil", "numero_point": 1}

    # The second item is unknown: the first case must not be resumed either.
    with pytest.raises(OperationFailed) as refused:
        call_operation(
            council,
            "engine.notify_cases",
            {
                "message": "seance_inscription",
                "envois": [
                    {"correlation": first_number, "payload": inscription},
                    {"correlation": "2027_PDEL9999", "payload": inscription},
                ],
            },
        )
    assert refused.value.code == "message_non_remis"
    assert _waits(council, "seance_inscription", first_number) == [first.id]

    sendings = {
        "message": "seance_inscription",
        "envois": [
            {"correlation": first_number, "payload": inscription},
            {"correlation": second_number, "payload": {**inscription, "numero_point": 2}},
        ],
    }
    key = "seance-inscription-1"
    result = call_operation(council, "engine.notify_cases", sendings, key=key)
    assert [r["dossier"] for r in result["remis"]] == [str(first.id), str(second.id)]
    assert call_operation(council, "engine.notify_cases", sendings, key=key) == result, (
        "un nouvel essai ne renvoie rien"
    )
    assert get(council, second).data["numero_point"] == 2
    assert _waits(council, "seance_vote", first_number) == [first.id]

    with pytest.raises(OperationFailed, match="inconnu"):
        call_operation(council, "engine.notify_cases", {"message": "autre", "envois": []})


def test_list_of_the_session_waits_for_the_act_numbers(council: Platform) -> None:
    adopted, adopted_number = _visaed(council, "Tarifs de la restauration scolaire")
    rejected, rejected_number = _visaed(council, "Acquisition d'une balayeuse")
    postponed, postponed_number = _visaed(council, "Dénomination de la place du Marché")
    cases = [(adopted, adopted_number), (rejected, rejected_number), (postponed, postponed_number)]
    call_operation(
        council,
        "engine.notify_cases",
        {
            "message": "seance_inscription",
            "envois": [
                {
                    "correlation": n,
                    "payload": {"seance": SEANCE, "lieu": "Mairie", "numero_point": i},
                }
                for i, (_, n) in enumerate(cases, start=1)
            ],
        },
    )
    votes = [_vote("adoptee"), {**_vote("rejetee"), "motif": "Dépense prématurée"}]
    votes.append({**_vote("reporte"), "motif": "Quorum non atteint"})
    delivered = call_operation(
        council,
        "engine.notify_cases",
        {
            "message": "seance_vote",
            "envois": [
                {"correlation": n, "payload": vote}
                for (_, n), vote in zip(cases, votes, strict=True)
            ],
        },
    )["remis"]

    with pytest.raises(OperationRetry):
        call_operation(council, "engine.session_acts", {"dossiers": delivered})

    run_pending_jobs(council, adopted)
    number = get(council, adopted).data["numero_acte"]
    listed = call_operation(council, "engine.session_acts", {"dossiers": delivered})[
        "deliberations"
    ]
    assert listed == [
        {
            "numero": number,
            "reference": adopted.reference,
            "objet": "Tarifs de la restauration scolaire",
            "resultat": "adoptée",
        },
        {
            "numero": "",
            "reference": rejected.reference,
            "objet": "Acquisition d'une balayeuse",
            "resultat": "rejetée",
        },
    ]
    assert get(council, rejected).data["motif_rejet"] == "Dépense prématurée"
    assert get(council, rejected).status.value == "completed"
    assert get(council, postponed).data["statut"] == "reporté"
    assert _waits(council, "seance_inscription", postponed_number) == [postponed.id]
