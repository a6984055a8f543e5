"""The deliberation draft form in Chromium: matière and people picked from lists, the project
PDF uploaded in place with the progress bar, an annex picked among the case's PDFs; axe-core on
the form at 1280 and 320 px, no sideways scrolling on a phone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from engine.bootstrap import Platform
from engine.services.documents import store_document
from tests.browser.conftest import login_as
from tests.engine.support import OPERATOR, SIREN_A, start
from tests.signatures.pdfs import make_pdf
from tests.web.support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration]
Check = Callable[[Page, str], None]


def test_clerk_drafts_a_deliberation_in_the_browser(
    page: Page, live_platform: Platform, live_url: str, check_page: Check, tmp_path: Path
) -> None:
    case = start(live_platform, "deliberation")
    with live_platform.uow() as uow:
        store_document(
            uow,
            tenant=SIREN_A,
            name="annexe-grille-tarifaire.pdf",
            content=make_pdf(text="Annexe grille tarifaire"),
            actor=OPERATOR,
            now=live_platform.clock(),
            max_bytes=10_000_000,
            case_id=case.id,
        )
        (task,) = [t for t in uow.cases.human_tasks(SIREN_A, case_id=case.id)]
        uow.commit()
    project = tmp_path / "projet-tarifs.pdf"
    project.write_bytes(make_pdf(pages=2, text="Projet de deliberation"))

    login_as(page, live_url, "agent.a", PASSWORD)
    page.goto(f"{live_url}/c/{SIREN_A}/dossiers/{case.id}/taches/{task.id}")
    # The case's PDF, with its preview, in each of the three document fields.
    expect(page.locator(".document-choice img.preview-small")).to_have_count(3)
    page.get_by_label("Objet de la délibération").fill("Tarifs de la restauration scolaire")
    page.get_by_label("Rapporteur").fill("Mme Claire Dumas, adjointe")
    page.get_by_label("Service porteur").fill("Service enfance et éducation")
    page.get_by_label("Matière (classification @ctes)").select_option("7.1")
    page.get_by_label("Texte du projet").fill("Le conseil municipal fixe le prix du repas.")
    page.get_by_label("Ou ajouter un PDF").first.set_input_files(project)
    page.locator("#champ-annexes").get_by_label("annexe-grille-tarifaire.pdf").check()
    page.get_by_label("Visa du chef de service").select_option("agent.a")
    page.get_by_label("Visa du directeur général des services").select_option("agent.a")
    page.get_by_label("Signataire de la délibération adoptée").select_option("elu.a")
    check_page(page, "formulaire-deliberation-1280")
    page.set_viewport_size({"width": 320, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    check_page(page, "formulaire-deliberation-320")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("« Rédiger le projet de délibération » : enregistré.")).to_be_visible()
    assert page.evaluate("location.pathname") == f"/c/{SIREN_A}/dossiers/{case.id}"
    with live_platform.uow() as uow:
        data = uow.cases.get(SIREN_A, case.id).data
    assert data["projet"]["nom"] == "projet-tarifs.pdf"
    assert [a["nom"] for a in data["annexes"]] == ["annexe-grille-tarifaire.pdf"]
