"""The main screens in Debian's Chromium: the journeys of a clerk, an élu and an archivist,
a wrong-tenant URL, keyboard access; axe-core on every screen, screenshots under var/."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from engine.bootstrap import Platform
from tests.browser.conftest import login_as
from tests.engine.support import SIREN_A, SIREN_B, ready, start
from tests.web.support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration]
Check = Callable[[Page, str], None]


def test_clerk_starts_a_case_and_completes_a_task(
    page: Page, live_url: str, check_page: Check
) -> None:
    page.goto(f"{live_url}/c/{SIREN_A}/taches")
    expect(page).to_have_url(re.compile(r"/connexion\?suivant="))
    check_page(page, "01-connexion")
    login_as(page, live_url, "agent.a", PASSWORD)
    expect(page.get_by_role("heading", name="Mes tâches")).to_be_visible()
    page.get_by_role("link", name="Nouveau dossier").first.click()
    check_page(page, "02-catalogue")
    page.get_by_role("button", name="Démarrer : Arrêté du maire (circuit simple)").click()
    expect(page.get_by_role("heading", name="Rédiger le projet d'arrêté")).to_be_visible()
    page.get_by_label("Objet de l'arrêté").fill("X")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("alert")).to_contain_text("au moins 3 caractère(s)")
    expect(page.locator("#champ-nature-erreur")).to_contain_text("ce champ est obligatoire")
    check_page(page, "03-formulaire-erreurs")
    page.get_by_label("Objet de l'arrêté").fill("Fermeture de la rue des Écoles")
    page.get_by_label("Acte individuel").check()
    page.get_by_label("Texte de l'arrêté").fill("Le maire arrête la fermeture de la rue.")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status").first).to_contain_text("enregistré")
    expect(page.get_by_role("heading", name="Historique")).to_be_visible()
    expect(page.locator(".timeline li")).to_have_count(2)
    check_page(page, "04-dossier")
    page.get_by_role("navigation").get_by_role("link", name="Dossiers", exact=True).click()
    check_page(page, "05-liste-dossiers")


def test_elu_signs_on_a_tablet(
    browser: object, live_platform: Platform, live_url: str, check_page: Check
) -> None:
    case = start(live_platform, "arrete")
    from tests.engine.support import complete

    complete(
        live_platform,
        case,
        "rediger",
        {"objet": "Arrêté à signer", "nature": "3", "texte": "Texte de l'arrêté."},
    )
    context = browser.new_context(  # type: ignore[attr-defined]
        locale="fr-FR",
        viewport={"width": 768, "height": 1024},
        has_touch=True,
        is_mobile=True,
        bypass_csp=True,
    )
    page = context.new_page()
    try:
        login_as(page, live_url, "elu.a", PASSWORD)
        page.get_by_role("link", name="Parapheur").first.click()
        check_page(page, "06-parapheur-tablette")
        boxes = page.get_by_label(re.compile("Signer ou refuser l'arrêté"))
        for index in range(boxes.count()):
            boxes.nth(index).check()
        page.get_by_label("Confirmez avec votre mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Signer la sélection").click()
        expect(page.get_by_role("status").first).to_contain_text("signé(s)")
        check_page(page, "07-parapheur-signe")
    finally:
        context.close()
    with live_platform.uow() as uow:
        assert uow.cases.get(SIREN_A, case.id).data.get("signer_par", {}).get("utilisateur") in (
            None,
            "user:elu.a",
        )
    assert "signer" not in ready(live_platform, case)


def test_archivist_verifies_the_journal(page: Page, live_url: str, check_page: Check) -> None:
    login_as(page, live_url, "archiviste.a", PASSWORD)
    page.get_by_role("link", name="Archives").first.click()
    page.get_by_role("button", name="Vérifier le journal maintenant").click()
    # No archive store on this platform: the chain holds, the seals cannot be checked, and the
    # page says so rather than « intègre » (the full check: tests/web/test_pages_archives.py).
    expect(page.locator("#rapport")).to_contain_text("sceaux non vérifiés")
    expect(page.locator("#rapport")).to_contain_text("La chaîne seule est cohérente")
    check_page(page, "08-archives-journal")


def test_wrong_tenant_url_shows_404(
    page: Page, live_platform: Platform, live_url: str, check_page: Check
) -> None:
    case = start(live_platform, "arrete")
    login_as(page, live_url, "agent.b", PASSWORD)
    response = page.goto(f"{live_url}/c/{SIREN_A}/dossiers/{case.id}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page introuvable")
    response = page.goto(f"{live_url}/c/{SIREN_B}/dossiers/{case.id}")
    assert response is not None and response.status == 404
    check_page(page, "09-introuvable")


def test_keyboard_reaches_the_content_first(page: Page, live_url: str) -> None:
    login_as(page, live_url, "admin.a", PASSWORD)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_admin_and_operator_screens(page: Page, live_url: str, check_page: Check) -> None:
    login_as(page, live_url, "admin.a", PASSWORD)
    page.goto(f"{live_url}/c/{SIREN_A}/admin/utilisateurs")
    check_page(page, "10-admin-utilisateurs")
    page.goto(f"{live_url}/public/{SIREN_A}/actes")
    check_page(page, "11-registre-public")
    page.get_by_role("button", name="Se déconnecter").click()
    login_as(page, live_url, "exploitant", PASSWORD)
    page.goto(f"{live_url}/exploitation")
    check_page(page, "12-exploitation")
    page.goto(f"{live_url}/exploitation/sante")
    check_page(page, "13-sante")
