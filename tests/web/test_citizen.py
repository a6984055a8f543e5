"""The citizen's side: request types, the public form, the private follow-up page, pieces.

Runs on SQLite and PostgreSQL (the `platform` fixture); the end-to-end test drives the real
worker operations (rendering, the dev PKI's seal, the SMTP server) up to the citizen's mail.
"""

from __future__ import annotations

import email
import hashlib
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from engine.bootstrap import Platform
from engine.domain.deadlines import implicit_decision
from engine.domain.french import format_date_fr
from engine.domain.model import Actor, Case
from engine.operations.runner import run_job
from engine.services import cases as case_services
from engine.services.citizen_requests import follow_up_path
from engine.services.documents import document_from_reference
from tests.engine.support import SIREN_A, SIREN_B
from tests.fixtures.smtp import SmtpServer
from tests.signatures.pdfs import make_pdf
from tests.web.support import csrf_of
from web.app import create_app

FORM = f"/demarches/{SIREN_A}/deposer"
STATUS = re.compile(rf"/demarches/{SIREN_A}/suivi/([0-9a-f]{{64}})$")
PDF = "application/pdf"
AGENT = Actor("user:agent", frozenset({"agent"}), "Agent")


def _client(platform: Platform) -> TestClient:
    return TestClient(create_app(platform=platform), follow_redirects=False)


@pytest.fixture
def citizen(people: Platform) -> Iterator[TestClient]:
    with _client(people) as client:
        yield client


def _valid(**changes: Any) -> dict[str, str]:
    values = {
        "type_demande": "decision_individuelle",
        "objet": "Permission de voirie pour un échafaudage",
        "description": "Échafaudage au 8 rue Foch du 2 au 20 mars, trottoir côté pair.",
        "demandeur-nom": "Moreau",
        "demandeur-prenom": "Lucie",
        "demandeur-courriel": "lucie.moreau@exemple.fr",
        "demandeur-adresse": "12 rue des Tilleuls, 34000 Montpellier",
        "consentement": "oui",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def _pdf_files(*names: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("pieces", (n, make_pdf(text=n), "application/pdf")) for n in names]


def _submit(client: TestClient, values: dict[str, str], files: list[Any] | None = None) -> Any:
    token = csrf_of(client.get(FORM).text)
    return client.post(FORM, data={**values, "csrf_token": token}, files=files or [])


def _counts(platform: Platform) -> dict[str, int]:
    with platform.uow() as uow:
        return {
            table: int(uow.connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("cases", "documents", "public_requests", "jobs")
        }


def _only_case(platform: Platform) -> Case:
    with platform.uow() as uow:
        cases, total = uow.cases.search(SIREN_A, procedure="demande-usager", limit=10, offset=0)
        assert total == 1
        return uow.cases.get(SIREN_A, cases[0].id)


def test_request_types_come_from_the_dmn(citizen: TestClient) -> None:
    page = citizen.get(f"/demarches/{SIREN_A}")
    assert page.status_code == 200
    html = page.text
    assert "Demande à caractère financier (subvention, aide, remise)" in html
    financial = html.split("Demande à caractère financier")[1].split("</li>")[0]
    assert "rejetée" in financial and "Art. L231-4, 3° CRPA" in financial
    documents = html.split("Communication d&#39;un document administratif")[1].split("</li>")[0]
    assert "1 mois" in documents
    form = citizen.get(f"{FORM}?type=demande_financiere").text
    assert 'value="demande_financiere" checked' in form
    assert "10 Mo au plus chacun" in form and 'name="csrf_token"' in form
    assert citizen.get("/demarches/999999999").status_code == 404


def test_submission_files_one_case_with_its_acknowledgement_job(
    citizen: TestClient, people: Platform
) -> None:
    before = _counts(people)
    response = _submit(citizen, _valid(), _pdf_files("plan.pdf", "photo.pdf"))
    assert response.status_code == 303, response.text
    match = STATUS.search(response.headers["location"])
    assert match
    token = match.group(1)
    after = _counts(people)
    assert after["cases"] == before["cases"] + 1
    assert after["documents"] == before["documents"] + 2
    assert after["public_requests"] == before["public_requests"] + 1
    case = _only_case(people)
    assert case.created_by == "system:usager"
    assert re.fullmatch(r"DEM-\d{4}-000001", case.data["reference"])
    assert [p["nom"] for p in case.data["pieces"]] == ["plan.pdf", "photo.pdf"]
    with people.uow() as uow:
        jobs = uow.jobs.for_case(SIREN_A, case.id)
        events = uow.journal.for_case(SIREN_A, case.id)
        stored = uow.connection.execute(text("SELECT * FROM public_requests")).one()
        attached = uow.documents.for_case(SIREN_A, case.id)
    # The acknowledgement chain starts: its first step computes the implicit decision date.
    assert [j.operation for j in jobs] == ["engine.compute_deadline"]
    assert len(attached) == 2
    assert any("déposée en ligne par l'usager" in str(e.payload.get("message")) for e in events)
    # Only the token's hash is stored.
    assert stored.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in " ".join(str(v) for v in stored)
    assert token not in str(case.data)
    with people.uow() as uow:
        path = follow_up_path(uow, people.settings.secret_key, SIREN_A, case.id)
    assert path == response.headers["location"]  # derived again for later mails
    page = citizen.get(response.headers["location"])
    assert page.status_code == 200
    assert case.data["reference"] in page.text and "Conservez l&#39;adresse" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"


def test_invalid_form_shows_french_errors_and_files_nothing(
    citizen: TestClient, people: Platform
) -> None:
    before = _counts(people)
    response = _submit(
        citizen,
        _valid(objet=None, consentement=None, **{"demandeur-courriel": "pas-une-adresse"}),
        [*_pdf_files("plan.pdf"), ("pieces", ("photo.jpg", b"\xff\xd8\xff\xe0JFIF", "image/jpeg"))],
    )
    assert response.status_code == 422
    html = response.text
    assert 'id="champ-objet-erreur">Erreur : ce champ est obligatoire' in html
    assert 'id="champ-demandeur-courriel-erreur">Erreur : format email attendu' in html
    assert "« photo.jpg » n&#39;est pas un fichier PDF." in html
    assert 'id="champ-consentement-erreur"' in html
    assert "rien n'a été enregistré" in html
    # What was typed comes back; nothing was filed.
    assert 'value="Moreau"' in html
    after = _counts(people)
    assert {k: after[k] for k in ("cases", "documents", "public_requests", "jobs")} == {
        k: before[k] for k in ("cases", "documents", "public_requests", "jobs")
    }


def test_too_many_files_and_the_honeypot_are_refused(citizen: TestClient, people: Platform) -> None:
    before = _counts(people)
    many = _submit(citizen, _valid(), _pdf_files(*[f"p{i}.pdf" for i in range(6)]))
    assert many.status_code == 422 and "5 fichiers au plus" in many.text
    flood = _submit(citizen, _valid(), _pdf_files(*[f"p{i}.pdf" for i in range(8)]))
    assert flood.status_code == 400 and "Envoi refusé" in flood.text
    robot = _submit(citizen, _valid(site_web="http://promo.example"), _pdf_files("plan.pdf"))
    assert robot.status_code == 400
    no_csrf = citizen.post(FORM, data=_valid())
    assert no_csrf.status_code == 403
    assert _counts(people) == before


def test_submissions_are_limited_per_address(citizen: TestClient, people: Platform) -> None:
    token = csrf_of(citizen.get(FORM).text)
    statuses = [
        citizen.post(FORM, data={**_valid(objet=None), "csrf_token": token}).status_code
        for _ in range(11)
    ]
    assert statuses == [422] * 10 + [429]
    refused = citizen.post(FORM, data={**_valid(), "csrf_token": token})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "réessayez dans" in refused.text
    assert _counts(people)["public_requests"] == 0


def _run_jobs(platform: Platform, case: Case, *, rounds: int = 20) -> list[str]:
    """Run the case's pending jobs, as the worker does, until none is left; their outcomes."""
    outcomes = []
    for _ in range(rounds):
        with platform.uow() as uow:
            pending = [
                j for j in uow.jobs.for_case(SIREN_A, case.id) if j.state.value in ("pending",)
            ]
        if not pending:
            break
        for job in pending:
            outcome = run_job(
                job.id,
                uow_factory=platform.uow,
                operations=platform.operations,
                clock=platform.clock,
            )
            detail = "" if outcome.state.value == "done" else f" ({outcome.detail})"
            outcomes.append(f"{job.operation}:{outcome.state.value}{detail}")
    return outcomes


def test_status_page_shows_the_silence_date_from_the_deadlines_library(
    citizen: TestClient, people: Platform
) -> None:
    response = _submit(citizen, _valid(type_demande="demande_financiere"))
    url = response.headers["location"]
    case = _only_case(people)
    expected = implicit_decision(
        datetime.fromisoformat(case.data["recu_le"]), acceptance=False, months=2
    )
    assert expected is not None
    page = citizen.get(url).text
    assert "Demande reçue" in page
    assert f"à la fin du <strong>{format_date_fr(expected.local_date)}</strong>" in page
    assert "vaut <strong>rejet</strong>" in page and "Art. L231-4" in page
    # Once the worker computed it, the page shows the case's own computation (same date).
    assert _run_jobs(people, case, rounds=1) == ["engine.compute_deadline:done"]
    assert _only_case(people).data["echeance_implicite"]["local_date"] == (
        expected.local_date.isoformat()
    )
    page = citizen.get(url).text
    assert f"à la fin du <strong>{format_date_fr(expected.local_date)}</strong>" in page
    assert expected.explanation in page


def test_another_token_answers_404_like_an_unknown_one(
    citizen: TestClient, people: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        url = _submit(citizen, _valid()).headers["location"]
        token = url.rsplit("/", 1)[1]
        assert citizen.get(url).status_code == 200
    # The access log names the route template only (the test client logs its own requests).
    access = "\n".join(r.getMessage() for r in caplog.records if r.name == "web.access")
    assert "/demarches/{tenant}/suivi/{jeton}" in access
    assert token not in access
    assert not [r for r in caplog.records if r.name != "httpx2" and token in r.getMessage()]
    other = ("0" if token[0] != "0" else "1") + token[1:]
    unknown = citizen.get(f"/demarches/{SIREN_A}/suivi/{other}")
    assert unknown.status_code == 404
    for path in (
        f"/demarches/{SIREN_B}/suivi/{token}",  # the right token in another tenant
        f"/demarches/{SIREN_A}/suivi/pas-un-jeton",
        f"/demarches/{SIREN_A}/suivi/{other}/accuse",
        f"/demarches/{SIREN_A}/suivi/{token.upper()}",
    ):
        response = citizen.get(path)
        assert response.status_code == 404, path
        assert response.text == unknown.text
    # The acknowledgement is not ready yet (no worker ran): 404 too, nothing else said.
    assert citizen.get(f"{url}/accuse").status_code == 404
    assert citizen.get(f"{url}/decision").status_code == 404


def test_the_public_requests_table_matches_its_migration(people: Platform) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from engine.persistence.tables import metadata

    with people.db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if "public_requests" in str(d)] == []


# -- through the real worker operations -----------------------------------------------------


def _acknowledged(platform: Platform, client: TestClient) -> tuple[str, Case, list[str]]:
    """File a request and run its acknowledgement chain in the worker's operations."""
    url = _submit(client, _valid(), _pdf_files("plan.pdf")).headers["location"]
    case = _only_case(platform)
    return url, case, _run_jobs(platform, case)


def _sealed_acknowledgement(platform: Platform, case: Case) -> bytes:
    with platform.uow() as uow:
        reference = uow.cases.get(SIREN_A, case.id).data["accuse_scelle"]["document"]
        return uow.documents.content(document_from_reference(uow, SIREN_A, reference))


@pytest.mark.integration
def test_the_acknowledgement_is_rendered_sealed_and_downloadable(live_platform: Platform) -> None:
    with _client(live_platform) as client:
        url, case, outcomes = _acknowledged(live_platform, client)
        assert outcomes[:3] == [
            "engine.compute_deadline:done",
            "documents.render:done",
            "signatures.seal:done",
        ]
        sealed = _sealed_acknowledgement(live_platform, case)
        assert b"/ByteRange" in sealed
        page = client.get(url).text
        assert f'href="{url}/accuse"' in page
        download = client.get(f"{url}/accuse")
        assert download.status_code == 200 and download.content == sealed
        assert download.headers["content-type"] == "application/pdf"
        assert client.get(f"{url}/decision").status_code == 404  # no decision yet


@pytest.mark.integration
def test_the_acknowledgement_mail_goes_out_with_the_sealed_pdf(
    live_platform: Platform, smtp_server: SmtpServer
) -> None:
    with _client(live_platform) as client:
        _, case, outcomes = _acknowledged(live_platform, client)
    assert outcomes[-1] == "connectors.send_mail:done"
    mails = [m for m in smtp_server.received if "lucie.moreau@exemple.fr" in m.recipients]
    assert len(mails) == 1
    message = email.message_from_bytes(mails[0].data)
    pdfs = [p.get_payload(decode=True) for p in message.walk() if p.get_content_type() == PDF]
    assert pdfs == [_sealed_acknowledgement(live_platform, case)]


@pytest.mark.integration
def test_pieces_sent_from_the_status_page_resume_the_case(
    live_platform: Platform, smtp_server: SmtpServer
) -> None:
    with _client(live_platform) as client:
        url, case, outcomes = _acknowledged(live_platform, client)
        assert outcomes[-1] == "connectors.send_mail:done", outcomes
        page = client.get(url).text
        assert "En cours d&#39;instruction" in page
        # No piece asked for yet: the upload is refused, nothing is stored.
        token = csrf_of(client.get(FORM).text)
        documents = _counts(live_platform)["documents"]
        early = client.post(f"{url}/pieces", data={"csrf_token": token}, files=_pdf_files("x.pdf"))
        assert early.status_code == 409
        assert _counts(live_platform)["documents"] == documents
        _ask_for_pieces(live_platform, case)
        assert _run_jobs(live_platform, case) == ["connectors.send_mail:done"]
        page = client.get(url).text
        assert "Pièces demandées le" in page
        assert "Plan d&#39;emprise de l&#39;échafaudage" in page
        assert "Le délai est suspendu" in page
        empty = client.post(f"{url}/pieces", data={"csrf_token": token})
        assert empty.status_code == 422 and "Joignez au moins une pièce" in empty.text
        sent = client.post(
            f"{url}/pieces", data={"csrf_token": token}, files=_pdf_files("plan_emprise.pdf")
        )
        assert sent.status_code == 303, sent.text
        assert "Vos pièces ont bien été reçues" in client.get(url).text
        resumed = _only_case(live_platform)
        assert [p["nom"] for p in resumed.data["pieces"]] == ["plan.pdf", "plan_emprise.pdf"]
        assert resumed.data["statut"] == "complétée"
        with live_platform.uow() as uow:
            waiting = uow.cases.waiting_for_message(
                SIREN_A, "pieces_complementaires", resumed.data["reference"]
            )
            pending = [
                j.operation
                for j in uow.jobs.for_case(SIREN_A, case.id)
                if j.state.value == "pending"
            ]
        assert waiting == []
        assert pending == ["engine.compute_deadline"]  # the date is computed again (L114-5)
        assert _run_jobs(live_platform, case) == ["engine.compute_deadline:done"]
        restarted = _only_case(live_platform).data["echeance_implicite"]
        received = datetime.fromisoformat(resumed.data["suspensions"][0]["recues_le"])
        expected = implicit_decision(received, acceptance=True, months=2)
        assert expected is not None  # acceptance: the whole delay runs again from receipt
        assert restarted["local_date"] == expected.local_date.isoformat()
        page = client.get(url).text
        assert "En cours d&#39;instruction" in page and "Le délai est suspendu" not in page
        assert f"à la fin du <strong>{format_date_fr(expected.local_date)}</strong>" in page
        again = client.post(
            f"{url}/pieces", data={"csrf_token": token}, files=_pdf_files("encore.pdf")
        )
        assert again.status_code == 409


def _ask_for_pieces(platform: Platform, case: Case) -> None:
    with platform.uow() as uow:
        task = next(
            t
            for t in uow.cases.human_tasks(SIREN_A, case_id=case.id)
            if t.name == "verifier_completude"
        )
        case_services.complete_task(
            uow,
            tenant=SIREN_A,
            case_id=case.id,
            task_id=task.id,
            data={
                "dossier_complet": False,
                "pieces_manquantes": ["Plan d'emprise de l'échafaudage"],
                "delai_production": "2027-01-15T18:00:00+01:00",
            },
            actor=AGENT,
            now=platform.clock(),
        )
        uow.commit()
