"""The case page's message forms (« Enregistrer une offre reçue »): who may send, French errors,
nothing half-written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.domain.french import PARIS
from engine.domain.model import Case
from tests.engine.support import SIREN_A, complete, get, run_pending_jobs, start
from tests.signatures.pdfs import make_pdf
from tests.web.support import login, make_users
from web.app import create_app

NEED = {
    "objet": "Nettoyage des bâtiments communaux",
    "description_besoin": "Besoin défini par le service, quantités au cahier des charges.",
    "type_marche": "services",
    "montant_estime_ht": 120000,
    "date_lancement": "2026-12-01",
    "code_cpv": "90910000-9",
}
DCE = {"id": "doc-dce", "nom": "rc.pdf", "sha256": "a" * 64, "taille": 100}


@pytest.fixture
def people(platform: Platform) -> Platform:
    make_users(platform)
    return platform


@pytest.fixture
def waiting(people: Platform) -> Case:
    """A MAPA whose consultation is published: it waits for bids until a month from now."""
    case = start(people, "commande-publique")
    complete(people, case, "definir_besoin", NEED)
    run_pending_jobs(people, get(people, case))
    limit = (people.clock() + timedelta(days=30)).astimezone(PARIS).replace(microsecond=0)
    publish = {
        "reference_consultation": "2026-MAPA-77",
        "date_limite_offres": limit.isoformat(),
        "dce": DCE,
        "supports_publicite": ["profil_acheteur"],
    }
    complete(people, get(people, case), "publier_consultation", publish)
    run_pending_jobs(people, get(people, case))
    return get(people, case)


@pytest.fixture
def client(people: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform=people), follow_redirects=False) as test_client:
        yield test_client


def _url(case: Case) -> str:
    return f"/c/{SIREN_A}/dossiers/{case.id}/messages/offre_deposee"


def _journal(people: Platform, case: Case) -> list[str]:
    with people.uow() as uow:
        return [e.kind for e in uow.journal.for_case(SIREN_A, case.id)]


def _documents(people: Platform, case_id: uuid.UUID) -> int:
    with people.uow() as uow:
        return len(uow.documents.for_case(SIREN_A, case_id))


def test_the_buyer_sees_the_action_and_records_a_bid(
    people: Platform, waiting: Case, client: TestClient
) -> None:
    token = login(client, "agent.a")
    received = (people.clock() - timedelta(hours=1)).astimezone(PARIS)
    received = received.replace(second=0, microsecond=0)
    page = client.get(f"/c/{SIREN_A}/dossiers/{waiting.id}")
    assert "Enregistrer une offre reçue" in page.text
    form = client.get(_url(waiting))
    assert form.status_code == 200
    assert "Date et heure de réception de l&#39;offre" in form.text or "réception de l" in form.text
    sent = client.post(
        _url(waiting),
        data={
            "csrf_token": token,
            "candidat": "Nettoyage Occitan SARL",
            "courriel": "offres@nettoyage-occitan.example",
            "deposee_le": received.strftime("%Y-%m-%dT%H:%M"),
        },
        files={"offre.fichier": ("offre.pdf", make_pdf(text="Offre"), "application/pdf")},
    )
    assert sent.status_code == 303, sent.text
    after = get(people, waiting)
    assert after.data["nombre_offres"] == 1
    bid = after.data["offres"][0]
    assert bid["candidat"] == "Nettoyage Occitan SARL"
    assert bid["deposee_le"] == received.isoformat()  # typed in Paris, kept with its offset
    assert bid["offre"]["nom"] == "offre.pdf"
    assert "message.received" in _journal(people, waiting)


@pytest.mark.parametrize("login_name", ["elu.a", "archiviste.a"])
def test_a_role_the_procedure_does_not_allow_gets_403(
    people: Platform, waiting: Case, client: TestClient, login_name: str
) -> None:
    token = login(client, login_name)
    page = client.get(f"/c/{SIREN_A}/dossiers/{waiting.id}")
    assert "Enregistrer une offre reçue" not in page.text
    assert client.get(_url(waiting)).status_code == 403
    posted = client.post(
        _url(waiting),
        data={"csrf_token": token, "candidat": "X", "deposee_le": "2026-12-10T09:30"},
    )
    assert posted.status_code == 403
    assert get(people, waiting).version == waiting.version


def test_another_tenant_gets_404(waiting: Case, client: TestClient) -> None:
    login(client, "agent.b")
    assert client.get(_url(waiting)).status_code in (403, 404)


def test_a_bad_file_is_refused_in_french_and_nothing_is_written(
    people: Platform, waiting: Case, client: TestClient
) -> None:
    token = login(client, "agent.a")
    before = _documents(people, waiting.id)
    sent = client.post(
        _url(waiting),
        data={
            "csrf_token": token,
            "candidat": "Nettoyage Occitan SARL",
            "deposee_le": "2026-12-10T09:30",
        },
        files={"offre.fichier": ("offre.pdf", b"ceci n'est pas un PDF", "application/pdf")},
    )
    assert sent.status_code == 422
    assert "« offre.pdf » refusé" in sent.text
    assert "rien n&#39;est enregistré" in sent.text or "Rien n" in sent.text
    after = get(people, waiting)
    assert after.version == waiting.version and after.data.get("nombre_offres") == 0
    assert _documents(people, waiting.id) == before
    assert "message.received" not in _journal(people, waiting)


def test_a_missing_field_and_a_good_pdf_write_nothing(
    people: Platform, waiting: Case, client: TestClient
) -> None:
    token = login(client, "agent.a")
    before = _documents(people, waiting.id)
    sent = client.post(
        _url(waiting),
        data={"csrf_token": token, "deposee_le": "2026-12-10T09:30"},
        files={"offre.fichier": ("offre.pdf", make_pdf(text="Offre"), "application/pdf")},
    )
    assert sent.status_code == 422
    assert "ce champ est obligatoire" in sent.text
    assert get(people, waiting).version == waiting.version
    assert _documents(people, waiting.id) == before


def test_without_a_csrf_token_nothing_is_delivered(
    people: Platform, waiting: Case, client: TestClient
) -> None:
    login(client, "agent.a")
    sent = client.post(_url(waiting), data={"candidat": "X", "deposee_le": "2026-12-10T09:30"})
    assert sent.status_code in (400, 403)
    assert get(people, waiting).version == waiting.version


def test_a_bid_received_after_now_is_refused_in_french(
    people: Platform, waiting: Case, client: TestClient
) -> None:
    token = login(client, "agent.a")
    tomorrow = (people.clock() + timedelta(days=1)).astimezone(PARIS)
    sent = client.post(
        _url(waiting),
        data={
            "csrf_token": token,
            "candidat": "Nettoyage Occitan SARL",
            "deposee_le": tomorrow.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert sent.status_code == 422
    assert "ne peut pas avoir été reçue après maintenant" in sent.text.replace("&#39;", "'")
    assert get(people, waiting).version == waiting.version
    assert "message.received" not in _journal(people, waiting)
