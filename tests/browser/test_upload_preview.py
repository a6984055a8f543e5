"""Clerk and signatory screens in Chromium: upload with progress (and without script), previews,
deadlines counting down, the delegation screen; axe-core on each, screenshots under var/."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from engine.bootstrap import Platform
from engine.domain.deadlines import implicit_decision, legality_control_end
from engine.services import admin
from engine.services.documents import store_document
from tests.browser.conftest import login_as
from tests.engine.support import OPERATOR, SIREN_A, start
from tests.signatures.pdfs import make_pdf
from tests.web.support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration]
Check = Callable[[Page, str], None]


def _pdf_file(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _case_with_deadlines(platform: Platform) -> str:
    now = platform.clock()
    implicit = implicit_decision(now - timedelta(days=70), acceptance=True)
    assert implicit is not None
    data = {
        "fin_controle": legality_control_end(now - timedelta(days=20)).to_dict(),
        "echeance_implicite": implicit.to_dict(),
    }
    case = start(platform, "arrete", data)
    return f"/c/{SIREN_A}/dossiers/{case.id}"


def test_clerk_uploads_with_progress_and_sees_the_preview(
    page: Page, live_platform: Platform, live_url: str, check_page: Check, tmp_path: Path
) -> None:
    case_url = _case_with_deadlines(live_platform)
    login_as(page, live_url, "agent.a", PASSWORD)
    page.goto(live_url + case_url)
    expect(page.get_by_role("heading", name="Échéances")).to_be_visible()
    expect(page.locator(".deadline-depasse .countdown")).to_contain_text("dépassé depuis")
    expect(page.locator(".deadline-ouvert .countdown")).to_contain_text("dans ")
    expect(page.get_by_text("Taille maximale : 50 Mo.")).to_be_visible()

    # Not a PDF: refused by the server, the error is announced next to the field.
    page.get_by_label("Ajouter un document PDF").set_input_files(
        _pdf_file(tmp_path, "photo.pdf", b"GIF89a, pas un PDF")
    )
    page.get_by_role("button", name="Ajouter le document").click()
    error = page.locator("#champ-fichier-erreur")
    expect(error).to_have_text("Erreur : Seuls les fichiers PDF sont acceptés.")
    expect(page.get_by_label("Ajouter un document PDF")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("button", name="Ajouter le document")).to_be_enabled()
    check_page(page, "30-dossier-envoi-refuse")

    # A PDF of a few MB goes through the script: progress, then the page shows it.
    big = make_pdf(pages=3, text="Arrete de voirie", padding=3_000_000)
    page.get_by_label("Ajouter un document PDF").set_input_files(
        _pdf_file(tmp_path, "arrete-voirie.pdf", big)
    )
    with page.expect_request(lambda r: r.method == "POST" and "/documents" in r.url) as sent:
        page.get_by_role("button", name="Ajouter le document").click()
    assert sent.value.headers.get("x-requested-with") == "XMLHttpRequest"
    expect(page.get_by_role("status").first).to_contain_text("« arrete-voirie.pdf » ajouté")
    preview = page.get_by_role("img", name="Aperçu de la première page de « arrete-voirie.pdf »")
    expect(preview).to_be_visible()
    # Visible is not loaded: the preview is rendered on request, which takes a while on a busy
    # machine. A preview that fails to load never gets a width, and the wait fails.
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 100", arg=preview.element_handle()
    )
    link = page.get_by_role("link", name=re.compile("arrete-voirie.pdf"))
    response = page.request.get(live_url + str(link.get_attribute("href")))
    assert response.headers["content-security-policy"] == "sandbox"
    assert response.body() == big
    check_page(page, "31-dossier-documents-echeances")


def test_upload_works_without_javascript(
    browser: Browser, live_platform: Platform, live_url: str, tmp_path: Path
) -> None:
    case = start(live_platform, "arrete")
    context = browser.new_context(locale="fr-FR", java_script_enabled=False)
    page = context.new_page()
    try:
        login_as(page, live_url, "agent.a", PASSWORD)
        page.goto(f"{live_url}/c/{SIREN_A}/dossiers/{case.id}")
        page.get_by_label("Ajouter un document PDF").set_input_files(
            _pdf_file(tmp_path, "sans-script.pdf", make_pdf())
        )
        page.get_by_role("button", name="Ajouter le document").click()
        expect(page.get_by_role("status").first).to_contain_text("« sans-script.pdf » ajouté")
        expect(page.get_by_role("img", name=re.compile("sans-script.pdf"))).to_be_visible()
    finally:
        context.close()


def test_delegation_screen_and_the_deputys_parapheur_on_a_tablet(
    browser: Browser, live_platform: Platform, live_url: str, check_page: Check
) -> None:
    deputy = f"adjoint-{uuid.uuid4().hex[:6]}"
    with live_platform.uow() as uow:
        admin.create_user(
            uow,
            username=deputy,
            display_name="Jean Adjoint",
            password=PASSWORD,
            tenant=SIREN_A,
            roles=("elu",),
            actor=OPERATOR,
            now=live_platform.clock(),
        )
        uow.commit()
    etapes = [{"type": "signature", "signataires": ["elu.a"], "regle": "un", "qualite": "Maire"}]
    reference = {"id": str(uuid.uuid4()), "nom": "a.pdf", "sha256": "0", "taille": 1}
    case = start(
        live_platform, "circuit_test", {"circuit": {"etapes": etapes, "document": reference}}
    )
    with live_platform.uow() as uow:
        store_document(
            uow,
            tenant=SIREN_A,
            name="convention.pdf",
            content=make_pdf(text="Convention"),
            actor_id="system",
            now=live_platform.clock(),
            max_bytes=1_000_000,
            case_id=case.id,
        )
        uow.commit()
    context = browser.new_context(
        locale="fr-FR",
        viewport={"width": 768, "height": 1024},
        has_touch=True,
        is_mobile=True,
        bypass_csp=True,
    )
    page = context.new_page()
    try:
        login_as(page, live_url, "elu.a", PASSWORD)
        page.get_by_role("navigation").get_by_role("link", name="Délégations").click()
        page.get_by_role("button", name="Enregistrer la délégation").click()
        expect(page.get_by_role("alert")).to_contain_text("choisissez la personne")
        expect(page.locator("#champ-delegataire-erreur")).to_be_visible()
        check_page(page, "32-delegations-erreurs")
        page.get_by_label("Délégataire").select_option(deputy)
        today = datetime.now(UTC).date()
        page.locator("#champ-fin").fill((today + timedelta(days=5)).isoformat())
        page.get_by_label("Motif").fill("Congés")
        page.get_by_role("button", name="Enregistrer la délégation").click()
        expect(page.get_by_role("status").first).to_contain_text("Délégation à Jean Adjoint")
        expect(page.get_by_text("Jean Adjoint me remplace")).to_be_visible()
        check_page(page, "33-delegations")
        page.get_by_role("button", name="Se déconnecter").click()

        login_as(page, live_url, deputy, PASSWORD)
        page.get_by_role("link", name="Parapheur").first.click()
        item = page.locator(".sign-item", has=page.locator(f"input[value^='{case.id}:']"))
        expect(item).to_contain_text("pour le compte de Elu.a")
        expect(item.get_by_role("img", name=re.compile("convention.pdf"))).to_be_visible()
        check_page(page, "34-parapheur-delegation-tablette")
        page.get_by_role("link", name="Mes tâches").first.click()
        expect(page.get_by_text("pour le compte de Elu.a").first).to_be_visible()
        check_page(page, "35-taches-delegation")
    finally:
        context.close()
