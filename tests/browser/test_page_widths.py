"""Long inputs in Chromium: nothing cut silently, no page wider than the screen (320, 1280 px)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from engine.bootstrap import Platform
from tests.browser.conftest import login_as
from tests.engine.support import SIREN_A, complete, start
from tests.web.support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration]

Check = Callable[[Page, str], None]
WORD = "Anticonstitutionnellement" * 12  # 300 characters without a space
LONG = {
    "objet": (f"Réglementation {WORD} " * 3)[:499],
    "nature": "3",
    "texte": f"Le maire arrête : {WORD} {WORD}.",
}


def _width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_long_words_wrap_at_320_and_1280_px(
    page: Page, live_platform: Platform, live_url: str, check_page: Check
) -> None:
    case = start(live_platform, "arrete")
    complete(live_platform, case, "rediger", LONG)
    login_as(page, live_url, "agent.a", PASSWORD)
    urls = {
        "dossier": f"/c/{SIREN_A}/dossiers/{case.id}",
        "dossiers": f"/c/{SIREN_A}/dossiers",
        "taches": f"/c/{SIREN_A}/taches",
        "accueil": f"/c/{SIREN_A}",
    }
    for width in (320, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        for name, url in urls.items():
            page.goto(live_url + url)
            assert _width(page) <= width, f"{name} à {width} px : {_width(page)} px de large"
            if name == "dossier":
                expect(
                    page.get_by_text("Heures indiquées à l'heure de Paris.", exact=True)
                ).to_be_visible()
                check_page(page, f"dossier-long-{width}")


def test_a_pasted_long_title_is_kept_whole_and_counted(
    page: Page, live_platform: Platform, live_url: str
) -> None:
    case = start(live_platform, "arrete")
    login_as(page, live_url, "agent.a", PASSWORD)
    page.set_viewport_size({"width": 320, "height": 900})
    page.goto(f"{live_url}/c/{SIREN_A}/dossiers/{case.id}")
    page.get_by_role("link", name="Rédiger le projet d'arrêté").click()
    title = ("Stationnement " * 70)[:900]
    field = page.get_by_label("Objet de l'arrêté")
    field.fill(title)
    assert len(field.input_value()) == 900  # not cut to 499
    expect(page.locator("#champ-objet-longueur")).to_have_text(
        "900 caractères pour 499 au plus : raccourcissez le texte de 401 caractère(s)."
    )
    assert _width(page) <= 320
    page.get_by_label("Acte individuel").check()
    page.get_by_label("Texte de l'arrêté").fill("Le maire arrête la fermeture de la rue.")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("le texte saisi en compte 900").first).to_be_visible()
    assert len(page.get_by_label("Objet de l'arrêté").input_value()) == 900
