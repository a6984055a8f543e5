"""The tenant admin's RGPD page: the processing register, and the right of access — everything
the tenant's platform holds about one person, nothing of another person or another tenant."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.services import admin
from engine.services.documents import store_document
from engine.services.personal_access import ACCESS_KIND
from tests.engine.support import AGENT, OPERATOR, SIREN_A, SIREN_B, start
from tests.signatures.pdfs import make_pdf
from tests.web.support import PASSWORD

Browser = Callable[[str], tuple[TestClient, str]]
URL = f"/c/{SIREN_A}/admin/rgpd"
MOREAU = {
    "nom": "Moreau",
    "prenom": "Lucie",
    "courriel": "lucie.moreau@exemple.fr",
    "telephone": "06 12 34 56 78",
}
BERNARD = {
    "nom": "Bernard",
    "prenom": "Paul",
    "courriel": "paul.bernard@exemple.fr",
    "telephone": "07 11 22 33 44",
}


def _request(people: Platform, person: dict[str, str], tenant: str, objet: str) -> None:
    with people.uow() as uow:
        piece = store_document(
            uow,
            tenant=tenant,
            name=f"piece_{person['nom']}.pdf",
            content=make_pdf(text=person["nom"]),
            actor=AGENT,
            now=people.clock(),
            max_bytes=10_000_000,
        )
        uow.commit()
    start(
        people,
        "rgpd_test",
        {
            "objet": objet,
            "typologie": "test",
            "description": "Demande d'échafaudage.",
            "demandeur": dict(person),
            "pieces": [piece.reference()],
        },
        tenant=tenant,
    )


def _seed(people: Platform) -> None:
    _request(people, MOREAU, SIREN_A, "Échafaudage rue Foch")
    _request(people, BERNARD, SIREN_A, "Terrasse place du Marché")
    _request(people, MOREAU, SIREN_B, "Dossier lyonnais de Lucie")
    with people.uow() as uow:
        admin.create_user(
            uow,
            username="lmoreau",
            display_name="Lucie Moreau",
            email=MOREAU["courriel"],
            password=PASSWORD,
            tenant=SIREN_A,
            roles=("agent",),
            actor=OPERATOR,
            now=people.clock(),
        )
        uow.commit()


def _export(client: TestClient, csrf: str, url: str = URL, **search: str) -> Any:
    return client.post(f"{url}/acces", data={"csrf_token": csrf, "format": "json", **search})


def test_the_register_lists_each_processing_from_the_declarations(browser_as: Browser) -> None:
    client, _csrf = browser_as("admin.a")
    page = client.get(URL)
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Registre des traitements" in text
    assert "Procédure « Procédure de test du RGPD »" in text
    assert "2 mois après la notification de la décision (délai de recours contentieux)" in text
    assert "1 an après la clôture du dossier" in text
    assert "Journal d'audit" in text and "Archives électroniques" in text
    # A test procedure without a declaration says so rather than inventing one.
    assert "ne déclare pas ses données personnelles" in text


def test_the_export_holds_the_person_from_every_place_and_nobody_else(
    people: Platform, browser_as: Browser
) -> None:
    _seed(people)
    client, csrf = browser_as("admin.a")
    response = _export(client, csrf, courriel=MOREAU["courriel"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    export = response.json()
    (case,) = export["dossiers"]
    assert case["titre"] == "Échafaudage rue Foch"
    declared = case["donnees_personnelles_declarees"]
    assert declared["demandeur.telephone"]["valeur"] == MOREAU["telephone"]
    assert declared["demandeur.courriel"]["categorie"].startswith("Coordonnées")
    assert [d["nom"] for d in case["documents"]] == ["piece_Moreau.pdf"]  # referred to by its data
    (account,) = export["comptes"]
    assert account["identifiant"] == "lmoreau" and account["roles"] == ["agent"]
    body = json.dumps(export, ensure_ascii=False)
    assert "Bernard" not in body and "paul.bernard" not in body  # another person
    assert "lyonnais" not in body  # another tenant

    # By name: the same person's case; the readable page shows it too.
    page = client.post(f"{URL}/acces", data={"csrf_token": csrf, "nom": "Moreau"})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = html.unescape(page.text)
    assert "Échafaudage rue Foch" in text and "Terrasse" not in text
    assert "06 12 34 56 78" in text

    # Journaled, without the search terms.
    with people.uow() as uow:
        entries = [e for e in uow.journal.iter_entries(SIREN_A) if e.kind == ACCESS_KIND]
    assert len(entries) == 2 and entries[0].actor == "user:admin.a"
    assert entries[0].payload["dossiers"] == 1 and entries[0].payload["comptes"] == 1
    assert "moreau" not in json.dumps([e.payload for e in entries]).lower()


def test_another_tenant_and_other_roles_get_nothing(people: Platform, browser_as: Browser) -> None:
    _seed(people)
    client, csrf = browser_as("admin.a")
    other = f"/c/{SIREN_B}/admin/rgpd"
    assert client.get(other).status_code == 404
    assert _export(client, csrf, other, courriel=MOREAU["courriel"]).status_code == 404
    agent, agent_csrf = browser_as("agent.a")
    assert agent.get(URL).status_code == 403
    assert _export(agent, agent_csrf, courriel=MOREAU["courriel"]).status_code == 403
    with people.uow() as uow:
        assert not [e for e in uow.journal.iter_entries(SIREN_B) if e.kind == ACCESS_KIND]


def test_a_bad_search_is_refused_in_french(browser_as: Browser) -> None:
    client, csrf = browser_as("admin.a")
    empty = client.post(f"{URL}/acces", data={"csrf_token": csrf})
    assert empty.status_code == 422
    assert "Indiquez un nom, une adresse électronique ou un téléphone." in html.unescape(empty.text)
    bad = client.post(f"{URL}/acces", data={"csrf_token": csrf, "courriel": "pas-une-adresse"})
    assert bad.status_code == 422 and "Adresse électronique invalide." in html.unescape(bad.text)
    huge = client.post(f"{URL}/acces", data={"csrf_token": csrf, "nom": "x" * 5000})
    assert huge.status_code == 422


def test_a_name_with_accents_is_found_whatever_its_case(
    people: Platform, browser_as: Browser
) -> None:
    dupre = {"nom": "DUPRÉ", "prenom": "Hélène", "courriel": "helene.dupre@exemple.fr"}
    _request(people, dupre, SIREN_A, "Occupation du domaine public")
    client, csrf = browser_as("admin.a")
    export = _export(client, csrf, nom="Dupré").json()
    assert [c["titre"] for c in export["dossiers"]] == ["Occupation du domaine public"]
    assert _export(client, csrf, nom="hélène").json()["dossiers"][0]["titre"] == (
        "Occupation du domaine public"
    )


def test_an_erased_document_says_so_instead_of_serving_an_empty_file(
    people: Platform, browser_as: Browser
) -> None:
    case = start(people, "arrete")
    with people.uow() as uow:
        document = store_document(
            uow,
            tenant=SIREN_A,
            name="piece-identite.pdf",
            content=make_pdf(pages=1),
            actor=AGENT,
            now=people.clock(),
            max_bytes=10_000_000,
        )
        uow.documents.attach(SIREN_A, document.id, case.id)
        uow.commit()
    client, _csrf = browser_as("agent.a")
    url = f"/c/{SIREN_A}/documents/{document.id}/pdf"
    assert client.get(url).status_code == 200
    with people.uow() as uow:
        assert uow.personal_data.erase_document(
            SIREN_A, document.id, case_id=case.id, now=people.clock(), name=document.name
        )
        uow.commit()
    page = client.get(url)
    assert page.status_code == 404
    assert "effacé au terme de sa durée de conservation" in html.unescape(page.text)
