"""The citizen's journey in Debian's Chromium: request types, the form with its errors, filing
with an attachment, the private follow-up page; axe-core on every screen, screenshots under var/."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.engine.support import SIREN_A
from tests.signatures.pdfs import make_pdf

pytestmark = [pytest.mark.browser, pytest.mark.integration]
Check = Callable[[Page, str], None]


def test_a_citizen_files_a_request_and_follows_it(
    page: Page, live_url: str, check_page: Check, tmp_path: Path
) -> None:
    page.goto(f"{live_url}/demarches/{SIREN_A}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Démarches en ligne")
    check_page(page, "20-demarches")
    page.get_by_role(
        "link", name="Demande à caractère financier (subvention, aide, remise)"
    ).click()
    expect(
        page.get_by_label("Demande à caractère financier (subvention, aide, remise)")
    ).to_be_checked()
    page.get_by_label("Objet de votre demande").fill("Subvention")
    page.get_by_role("button", name="Envoyer ma demande").click()
    expect(page.get_by_role("alert")).to_contain_text("rien n'a été enregistré")
    expect(page.locator("#champ-description-erreur")).to_contain_text("ce champ est obligatoire")
    expect(page.locator("#champ-consentement-erreur")).to_be_visible()
    check_page(page, "21-demande-erreurs")
    page.get_by_label("Objet de votre demande").fill("Subvention pour la fête de quartier")
    page.get_by_label("Précisez votre demande").fill(
        "Le comité des fêtes sollicite une aide de 800 euros pour la fête du 21 juin."
    )
    page.get_by_label("Nom (obligatoire)", exact=True).fill("Moreau")
    page.get_by_label("Prénom").fill("Lucie")
    page.get_by_label("Adresse électronique").fill("lucie.moreau@exemple.fr")
    page.get_by_label("Adresse postale").fill("12 rue des Tilleuls, 34000 Montpellier")
    budget = tmp_path / "budget.pdf"
    budget.write_bytes(make_pdf(text="Budget previsionnel"))
    page.get_by_label("Pièces jointes (PDF)").set_input_files(str(budget))
    page.get_by_label("J'ai pris connaissance de ces informations").check()
    page.get_by_role("button", name="Envoyer ma demande").click()
    expect(page).to_have_url(re.compile(rf"/demarches/{SIREN_A}/suivi/[0-9a-f]{{64}}$"))
    expect(page.get_by_role("status")).to_contain_text("Conservez l'adresse de cette page")
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile(r"DEM-\d{4}-\d{6}"))
    expect(page.get_by_text("Demande reçue", exact=True)).to_be_visible()
    silence = page.locator("section", has=page.get_by_role("heading", name="Décision implicite"))
    expect(silence).to_contain_text("vaut rejet de votre demande à la fin du")
    check_page(page, "22-suivi-demande")
