"""The tenant admin's RGPD screens in Chromium: the register and a person's export pass axe-core
(WCAG 2.1 A and AA) and are reached from the navigation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from engine.bootstrap import Platform
from tests.browser.conftest import login_as
from tests.engine.support import SIREN_A, start
from tests.web.support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration]
Check = Callable[[Page, str], None]


def test_register_and_access_export(
    page: Page, live_url: str, live_platform: Platform, check_page: Check
) -> None:
    start(
        live_platform,
        "rgpd_test",
        {
            "objet": "Échafaudage rue Foch",
            "typologie": "test",
            "description": "Demande d'échafaudage.",
            "demandeur": {
                "nom": "Kerbrat-Vasseur",
                "prenom": "Lucie",
                "courriel": "lucie.kerbrat@exemple.fr",
            },
            "pieces": [],
        },
    )
    login_as(page, live_url, "admin.a", PASSWORD)
    page.goto(f"{live_url}/c/{SIREN_A}/admin/utilisateurs")
    page.get_by_role("link", name="Données personnelles").click()
    expect(page.get_by_role("heading", name="Registre des traitements")).to_be_visible()
    check_page(page, "30-admin-rgpd")
    page.get_by_label("Nom").fill("Kerbrat-Vasseur")
    page.get_by_role("button", name="Rechercher et exporter").click()
    expect(page.get_by_role("heading", name="Dossiers (1)")).to_be_visible()
    check_page(page, "31-admin-rgpd-export")
    page.goto(f"{live_url}/c/{SIREN_A}/admin/rgpd")
    page.get_by_role("button", name="Rechercher et exporter").click()
    expect(page.get_by_role("alert")).to_contain_text("Indiquez un nom")
    check_page(page, "32-admin-rgpd-erreur")
