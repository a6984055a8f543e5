"""The citizen side on a phone: the public form, its errors and the follow-up page at 320 px wide
without horizontal scrolling, and the counter form an agent uses; axe-core on each screen."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import login_as
from tests.engine.support import SIREN_A
from tests.signatures.pdfs import make_pdf
from tests.web.support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration]
Check = Callable[[Page, str], None]
WIDTH = 320


def _fits(page: Page, name: str) -> None:
    width = int(page.evaluate("document.documentElement.scrollWidth"))
    assert width <= WIDTH, f"{name} : {width} px de large à {WIDTH} px"


def test_the_public_form_and_status_page_fit_a_320_px_phone(
    page: Page, live_url: str, check_page: Check, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": WIDTH, "height": 800})
    page.goto(f"{live_url}/demarches/{SIREN_A}")
    _fits(page, "démarches")
    check_page(page, "320-demarches")
    page.goto(f"{live_url}/demarches/{SIREN_A}/deposer")
    _fits(page, "formulaire")
    check_page(page, "320-formulaire")
    page.get_by_role("button", name="Envoyer ma demande").click()
    expect(page.get_by_role("alert")).to_contain_text("rien n'a été enregistré")
    _fits(page, "formulaire en erreur")
    check_page(page, "320-formulaire-erreurs")
    page.get_by_label("Demande d'autorisation ou de décision individuelle").check()
    page.get_by_label("Objet de votre demande").fill("Permission de voirie pour un échafaudage")
    page.get_by_label("Précisez votre demande").fill(
        "Échafaudage au 8 rue Foch du 2 au 20 mars, trottoir côté pair."
    )
    page.get_by_label("Nom (obligatoire)", exact=True).fill("Moreau")
    page.get_by_label("Prénom").fill("Lucie")
    page.get_by_label("Adresse électronique").fill("lucie.moreau@exemple.fr")
    page.get_by_label("Téléphone").fill("06 12 34 56 78")
    page.get_by_label("Adresse postale").fill("12 rue des Tilleuls, 34000 Montpellier")
    plan = tmp_path / "plan_de_situation_de_l_echafaudage_rue_foch.pdf"
    plan.write_bytes(make_pdf(text="Plan"))
    page.get_by_label("Pièces jointes (PDF)").set_input_files(str(plan))
    page.get_by_label("J'ai pris connaissance de ces informations").check()
    _fits(page, "formulaire rempli")
    page.get_by_role("button", name="Envoyer ma demande").click()
    expect(page).to_have_url(re.compile(rf"/demarches/{SIREN_A}/suivi/[0-9a-f]{{64}}$"))
    _fits(page, "suivi")  # the 64-character private address wraps
    check_page(page, "320-suivi")


def test_the_counter_form_fits_320_px(page: Page, live_url: str, check_page: Check) -> None:
    page.set_viewport_size({"width": WIDTH, "height": 800})
    login_as(page, live_url, "agent.a", PASSWORD)
    page.goto(f"{live_url}/c/{SIREN_A}/guichet")
    expect(page.get_by_role("heading", level=1)).to_contain_text("reçue au guichet")
    _fits(page, "guichet")
    check_page(page, "320-guichet")
