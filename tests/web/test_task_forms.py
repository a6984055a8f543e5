"""Task forms through the HTML pages: a deliberation drafted with a PDF uploaded in place and
an annex picked, a séance convened with its agenda and councillors picked, the council kept by
the tenant admin."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.domain.model import Actor
from engine.services import council
from tests.engine.support import OPERATOR, SIREN_A, complete, get, run_pending_jobs
from tests.signatures.pdfs import make_pdf

Login = Callable[[str], tuple[TestClient, str]]
PARIS = ZoneInfo("Europe/Paris")
CLERK = Actor("user:agent.a", frozenset({"agent"}), "Agent.a")
DRAFT = {
    "objet": "Tarifs de la restauration scolaire",
    "rapporteur": "Mme Claire Dumas, adjointe",
    "service_porteur": "Service enfance et éducation",
    "matiere": "7.1",
    "texte": "Le conseil municipal fixe le prix du repas à 3,45 euros.",
    "chef_service": "agent.a",
    "dgs": "agent.a",
    "signataire": "elu.a",
}


def _start(client: TestClient, token: str, procedure: str) -> str:
    started = client.post(
        f"/c/{SIREN_A}/procedures/{procedure}/demarrer", data={"csrf_token": token}
    )
    assert started.status_code == 303
    return str(started.headers["location"])


def _version(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found
    return found.group(1)


def _case_id(task_url: str) -> uuid.UUID:
    return uuid.UUID(task_url.split("/dossiers/")[1].split("/")[0])


def _draft_through_the_page(client: TestClient, token: str, people: Platform) -> uuid.UUID:
    """The clerk's draft: annex uploaded on the case page first, then the form, where the
    project PDF is uploaded in place and the annex picked."""
    task_url = _start(client, token, "deliberation")
    case_url = task_url.split("/taches/")[0]
    annex = client.post(
        f"{case_url}/documents",
        data={"csrf_token": token},
        files={"fichier": ("annexe-tarifs.pdf", make_pdf(pages=1), "application/pdf")},
    )
    assert annex.status_code == 303
    page = client.get(task_url)
    assert page.status_code == 200
    assert "ne peut pas" not in page.text
    assert 'enctype="multipart/form-data"' in page.text
    assert 'name="projet.fichier"' in page.text and 'name="annexes.fichiers"' in page.text
    annex_id = re.search(r'name="annexes" id="champ-annexes-1" value="([0-9a-f-]{36})"', page.text)
    assert annex_id and "annexe-tarifs.pdf" in page.text
    assert '<option value="7.1">7.1 Décisions budgétaires</option>' in page.text
    assert '<optgroup label="7. Finances locales">' in page.text
    assert re.search(
        r'<select name="chef_service"[^>]*>.*?<option value="agent.a"', page.text, re.S
    )
    signatory = re.search(r'<select name="signataire".*?</select>', page.text, re.S)
    assert signatory and 'value="elu.a"' in signatory.group(0)
    assert 'value="agent.a"' not in signatory.group(0)  # only élus sign

    # First try: the objet is missing. The uploaded PDF stays in the case, picked.
    project = ("projet-tarifs.pdf", make_pdf(pages=2), "application/pdf")
    fields = {k: v for k, v in DRAFT.items() if k != "objet"}
    refused = client.post(
        task_url,
        data={
            "csrf_token": token,
            "version": _version(page.text),
            **fields,
            "annexes": annex_id.group(1),
        },
        files={"projet.fichier": project},
    )
    assert refused.status_code == 422
    assert 'id="champ-objet-erreur"' in refused.text and "ce champ est obligatoire" in refused.text
    assert 'value="Mme Claire Dumas, adjointe"' in refused.text  # nothing lost
    kept = re.search(
        r'<input type="radio" name="projet" id="champ-projet-\d+" value="([0-9a-f-]{36})" checked>',
        refused.text,
    )
    assert kept, "the uploaded project PDF is picked when the form comes back"
    assert re.search(rf'value="{annex_id.group(1)}" checked', refused.text)

    done = client.post(
        task_url,
        data={
            "csrf_token": token,
            "version": _version(refused.text),
            **DRAFT,
            "projet": kept.group(1),
            "annexes": annex_id.group(1),
        },
    )
    assert done.status_code == 303, done.text
    case_id = _case_id(task_url)
    with people.uow() as uow:
        case = uow.cases.get(SIREN_A, case_id)
        names = {str(d.id): d for d in uow.documents.for_case(SIREN_A, case_id)}
    assert names[case.data["projet"]["id"]].name == "projet-tarifs.pdf"
    assert case.data["projet"]["sha256"] == names[kept.group(1)].sha256
    assert [a["nom"] for a in case.data["annexes"]] == ["annexe-tarifs.pdf"]
    assert case.data["matiere"] == "7.1" and case.data["signataire"] == "elu.a"
    return case_id


def test_clerk_drafts_a_deliberation_with_a_pdf_and_an_annex(
    browser_as: Login, people: Platform
) -> None:
    client, token = browser_as("agent.a")
    _draft_through_the_page(client, token, people)


def test_bad_upload_in_place_is_refused_next_to_its_field(browser_as: Login) -> None:
    client, token = browser_as("agent.a")
    task_url = _start(client, token, "deliberation")
    page = client.get(task_url)
    refused = client.post(
        task_url,
        data={"csrf_token": token, "version": _version(page.text), **DRAFT},
        files={"projet.fichier": ("faux.pdf", b"ceci n'est pas un PDF", "application/pdf")},
    )
    assert refused.status_code == 422
    assert 'id="champ-projet-erreur"' in refused.text and "« faux.pdf » refusé" in refused.text
    assert 'value="Service enfance et éducation"' in refused.text


def _councillors(people: Platform, seance_day: date) -> None:
    with people.uow() as uow:
        for name, email, role, start, end in (
            ("Marie Dupont", "marie.dupont@mairie.test", "maire", date(2020, 7, 1), None),
            ("Jean Martin", "jean.martin@mairie.test", "adjoint", date(2020, 7, 1), None),
            (
                "Luc Ancien",
                "luc.ancien@mairie.test",
                "conseiller",
                date(2020, 7, 1),
                seance_day - timedelta(days=1),
            ),
        ):
            given = council.CouncillorInput(
                name, email, role, start.isoformat(), end.isoformat() if end else ""
            )
            council.save_councillor(
                uow, council.parse_councillor(SIREN_A, given), actor=OPERATOR, now=people.clock()
            )
        uow.commit()


def test_clerk_convenes_a_seance_picking_agenda_and_councillors(
    browser_as: Login, people: Platform
) -> None:
    client, token = browser_as("agent.a")
    case_id = _draft_through_the_page(client, token, people)
    with people.uow() as uow:
        project = uow.cases.get(SIREN_A, case_id)
    for _ in ("chef_service", "dgs"):
        complete(people, project, "viser", {"decision": "viser"}, actor=CLERK)
    run_pending_jobs(people, project)
    number = str(get(people, project).data["numero_projet"])

    seance = (people.clock().astimezone(PARIS) + timedelta(days=10)).replace(
        hour=18, minute=30, second=0, microsecond=0
    )
    _councillors(people, seance.date())
    task_url = _start(client, token, "seance-conseil")
    page = client.get(task_url)
    assert "ne peut pas" not in page.text
    assert f'name="projets" id="champ-projets-1" value="{number}"' in page.text
    assert "Tarifs de la restauration scolaire" in page.text
    assert 'type="datetime-local" name="seance"' in page.text and "Heure de Paris." in page.text
    assert 'value="marie.dupont@mairie.test"' in page.text
    # Luc Ancien is still in mandate today (his mandate ends the day before the séance).
    assert 'value="luc.ancien@mairie.test"' in page.text

    typed = seance.strftime("%Y-%m-%dT%H:%M")
    chosen = {
        "csrf_token": token,
        "seance": typed,
        "lieu": "Salle du conseil",
        "projets": number,
    }
    refused = client.post(
        task_url,
        data={
            **chosen,
            "version": _version(page.text),
            "conseillers": ["marie.dupont@mairie.test", "luc.ancien@mairie.test"],
        },
    )
    assert refused.status_code == 422
    assert f"pas en mandat le {seance:%d/%m/%Y} : luc.ancien@mairie.test" in refused.text
    assert f'value="{typed}"' in refused.text  # the date-time comes back as typed, Paris time
    assert 'value="luc.ancien@mairie.test"' not in refused.text  # not offered at that date

    done = client.post(
        task_url,
        data={
            **chosen,
            "version": _version(refused.text),
            "conseillers": ["marie.dupont@mairie.test", "jean.martin@mairie.test"],
        },
    )
    assert done.status_code == 303, done.text
    with people.uow() as uow:
        data = uow.cases.get(SIREN_A, _case_id(task_url)).data
    assert data["projets"] == [number]
    assert data["conseillers"] == ["marie.dupont@mairie.test", "jean.martin@mairie.test"]
    assert data["seance"] == seance.isoformat()


def test_tenant_admin_keeps_the_council(browser_as: Login, people: Platform) -> None:
    client, token = browser_as("admin.a")
    page = client.get(f"/c/{SIREN_A}/admin/conseil")
    assert page.status_code == 200 and "Aucun conseiller enregistré" in page.text
    bad = client.post(
        f"/c/{SIREN_A}/admin/conseil",
        data={
            "csrf_token": token,
            "nom": "Marie Dupont",
            "courriel": "pas-une-adresse",
            "fonction": "maire",
            "debut_mandat": "2020-07-01",
            "fin_mandat": "2019-01-01",
        },
    )
    assert bad.status_code == 422
    assert "adresse électronique invalide" in bad.text
    assert "la fin du mandat précède son début" in bad.text
    assert 'value="Marie Dupont"' in bad.text  # nothing lost

    good = {
        "csrf_token": token,
        "nom": "Marie Dupont",
        "courriel": "Marie.Dupont@mairie.test",
        "fonction": "maire",
        "debut_mandat": "2020-07-01",
        "fin_mandat": "",
    }
    assert client.post(f"/c/{SIREN_A}/admin/conseil", data=good).status_code == 303
    listed = client.get(f"/c/{SIREN_A}/admin/conseil")
    assert "marie.dupont@mairie.test" in listed.text and "du 01/07/2020, en cours" in listed.text
    twice = client.post(f"/c/{SIREN_A}/admin/conseil", data=good)
    assert twice.status_code == 422 and "a déjà cette adresse sur la même période" in twice.text

    councillor_id = re.search(r"\?modifier=([0-9a-f-]{36})", listed.text)
    assert councillor_id
    edit = client.get(f"/c/{SIREN_A}/admin/conseil?modifier={councillor_id.group(1)}")
    assert 'value="2020-07-01"' in edit.text
    changed = client.post(
        f"/c/{SIREN_A}/admin/conseil",
        data={**good, "conseiller": councillor_id.group(1), "fin_mandat": "2026-03-15"},
    )
    assert changed.status_code == 303
    with people.uow() as uow:
        (kept,) = council.councillors(uow, SIREN_A)
        assert kept.mandate_end == date(2026, 3, 15)
        assert council.councillors(uow, SIREN_A, at=date(2026, 3, 16)) == []
    removed = client.post(
        f"/c/{SIREN_A}/admin/conseil/{councillor_id.group(1)}/retirer", data={"csrf_token": token}
    )
    assert removed.status_code == 303
    assert "Aucun conseiller enregistré" in client.get(f"/c/{SIREN_A}/admin/conseil").text

    clerk, _ = browser_as("agent.a")
    assert clerk.get(f"/c/{SIREN_A}/admin/conseil").status_code == 403


def test_the_councillors_table_matches_its_migration(people: Platform) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from engine.persistence.tables import metadata

    with people.db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if "councillors" in str(d)] == []
