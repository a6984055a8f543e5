"""Journey 2: a citizen's request with attachments, missing pieces asked and added through the
status link, the decision drafted by the agent, signed by the élu and downloaded by the citizen;
a second request accepted implicitly once the training clock passes its SVA date."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.journeys.support import Walk, advance_training_clock
from tests.signatures.pdfs import make_pdf

pytestmark = [pytest.mark.journeys, pytest.mark.xdist_group("journeys")]

RUN = time.strftime("%H%M%S")  # the objects tell this run's requests apart in the task lists
OBJET = f"Autorisation d'occuper le trottoir pour un déménagement (parcours {RUN})"
OBJET_SVA = f"Autorisation d'installer un échafaudage rue Haute (parcours {RUN})"


def _pdf(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_bytes(make_pdf(text=text))
    return str(path)


def _file_request(walk: Walk, tmp_path: Path, objet: str) -> str:
    """The citizen files the request from the public page; returns their status link."""
    page = walk.page
    walk.open(f"/demarches/{walk.siren}", "démarches en ligne")
    walk.follow("Demande d'autorisation ou de décision individuelle", label="formulaire")
    page.get_by_label("Objet de votre demande").fill(objet)
    page.get_by_label("Précisez votre demande").fill("Le 15 janvier, de 8 h à 18 h, 10 mètres.")
    page.get_by_label("Nom (obligatoire)", exact=True).fill("Moreau")
    page.get_by_label("Prénom").fill("Lucie")
    page.get_by_label("Adresse électronique").fill("lucie.moreau@exemple.fr")
    page.get_by_label("Adresse postale").fill("12 rue des Tilleuls, 34000 Démonstration")
    page.get_by_label("Pièces jointes (PDF)").set_input_files(
        [
            _pdf(tmp_path, "plan-emplacement.pdf", "Plan de l'emplacement"),
            _pdf(tmp_path, "piece-identite.pdf", "Piece d'identite"),
        ]
    )
    page.get_by_label("J'ai pris connaissance de ces informations").check()
    walk.press("Envoyer ma demande", label="demande envoyée")
    expect(page.get_by_role("status")).to_contain_text("Conservez l'adresse de cette page")
    return page.url


def _agent_task(walk: Walk, task: str, objet: str) -> None:
    walk.nav("Mes tâches")
    walk.refresh_until(objet)  # the worker first acknowledges the request
    row = walk.page.get_by_role("row").filter(has_text=objet).filter(has_text=task)
    row.get_by_role("link").first.click()
    walk.step(task)


def _ask_missing_pieces(walk: Walk, objet: str) -> None:
    page = walk.page
    walk.login("agent")
    _agent_task(walk, "Vérifier la complétude du dossier", objet)
    expect(page.get_by_role("link", name="plan-emplacement.pdf")).to_be_visible()
    page.get_by_label("Le dossier est complet").uncheck()
    page.get_by_label("Pièces manquantes").fill("Justificatif de domicile\nAttestation d'assurance")
    page.get_by_label("Date et heure limites pour produire les pièces").fill("2027-01-06T17:00")
    walk.press("Enregistrer", label="pièces demandées")
    walk.logout()


def _add_pieces(walk: Walk, status: str, tmp_path: Path) -> None:
    """The citizen comes back with the link of their status page and adds the pieces."""
    page = walk.page
    page.goto(status)
    walk.refresh_until("Justificatif de domicile")
    walk.step("suivi : pièces demandées")
    page.get_by_label("Pièces complémentaires (PDF)").set_input_files(
        [
            _pdf(tmp_path, "justificatif-domicile.pdf", "Justificatif de domicile"),
            _pdf(tmp_path, "attestation-assurance.pdf", "Attestation d'assurance"),
        ]
    )
    walk.press("Envoyer les pièces", label="pièces envoyées")


def _instruct(walk: Walk, objet: str, tmp_path: Path) -> None:
    """The agent finds the dossier complete and drafts the decision."""
    page = walk.page
    walk.login("agent")
    _agent_task(walk, "Vérifier la complétude du dossier", objet)
    expect(page.get_by_role("link", name="attestation-assurance.pdf")).to_be_visible()
    page.get_by_label("Le dossier est complet").check()
    walk.press("Enregistrer", label="dossier complet")
    _agent_task(walk, "Instruire la demande", objet)
    page.get_by_label("Accorder").check()
    page.get_by_label("Rapport d'instruction").fill(
        "Pièces complètes ; l'emplacement ne gêne ni les piétons ni la circulation."
    )
    walk.press("Enregistrer", label="décision proposée")
    walk.logout()


def _decide(walk: Walk, objet: str) -> None:
    """The élu grants the request; the decision is produced and signed."""
    page = walk.page
    walk.login("maire")
    _agent_task(walk, "Décider", objet)
    page.get_by_label("J'accorde la demande").check()
    page.get_by_label("Confirmez avec votre mot de passe").fill(walk.demo.passwords["maire"])
    walk.press("Enregistrer", label="décision signée")
    walk.logout()


def _download_decision(walk: Walk, status: str) -> None:
    page = walk.page
    page.goto(status)
    walk.refresh_until("Décision (PDF)")
    walk.step("suivi : décision rendue")
    with page.expect_download() as download:
        page.get_by_role("link", name="Décision (PDF)").click()
    assert download.value.suggested_filename.endswith(".pdf")


def test_journey_2_citizen_request(walk: Walk, tmp_path: Path) -> None:
    status = _file_request(walk, tmp_path, OBJET)
    _ask_missing_pieces(walk, OBJET)
    _add_pieces(walk, status, tmp_path)
    _instruct(walk, OBJET, tmp_path)
    _decide(walk, OBJET)
    _download_decision(walk, status)


def test_journey_2_implicit_acceptance(walk: Walk, tmp_path: Path) -> None:
    """On the training space nobody answers: the trainer moves its clock past the SVA date (two
    months) and the citizen's status page shows the implicit acceptance and its certificate."""
    walk.on_training_space()
    status = _file_request(walk, tmp_path, OBJET_SVA)
    expect(walk.page.get_by_role("heading", name="Décision implicite")).to_be_visible()
    walk.login("admin")
    advance_training_clock(walk, past=OBJET_SVA)
    walk.logout()
    walk.page.goto(status)
    walk.refresh_until("Votre demande a été acceptée implicitement.")
    # The sealed attestation (art. L232-3 CRPA), once it has been sent: named so, not « Décision ».
    walk.refresh_until("Attestation d'acceptation implicite (PDF)")
    walk.step("suivi : acceptation implicite")
    expect(walk.page.get_by_role("link", name="Décision (PDF)")).to_have_count(0)
    with walk.page.expect_download() as download:
        walk.page.get_by_role("link", name="Attestation d'acceptation implicite (PDF)").click()
    assert download.value.suggested_filename.endswith(".pdf")
