"""Journey 3: a procurement (procedure `commande-publique`) from need to notification, by clicks."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.journeys.support import Walk
from tests.signatures.pdfs import make_pdf

pytestmark = [pytest.mark.journeys, pytest.mark.xdist_group("journeys")]

OBJET = "Extension du groupe scolaire Jules-Ferry (parcours)"


def _need(walk: Walk) -> str:
    """The buyer states the need; the dated thresholds choose the procedure."""
    page = walk.page
    walk.nav("Nouveau dossier")
    walk.press("Démarrer : Marché public", label="besoin")
    page.get_by_label("Objet du marché").fill(OBJET)
    page.get_by_label("Description du besoin").fill("Trois classes, un préau et une cantine.")
    page.get_by_label("Travaux").check()
    page.get_by_label("Valeur estimée du besoin").fill("6200000")
    page.get_by_label("Date prévue de lancement").fill("2026-12-07")
    page.get_by_label("Code CPV principal").fill("45214200-2")
    page.get_by_label("Durée du marché").fill("36")
    walk.press("Enregistrer", label="besoin défini")
    reference = walk.reference()
    # Above the 2026-2027 European threshold for works: a formal procedure, with standstill.
    walk.refresh_until("Publier la consultation")
    data = page.get_by_role("region", name="Données du dossier").or_(page.locator("main"))
    expect(data.first).to_contain_text("Procédure formalisée")
    expect(data.first).to_contain_text("5 404 000 €")
    walk.step("procédure choisie par les seuils")
    return reference


def _publish(walk: Walk, reference: str, tmp_path: Path) -> None:
    page = walk.page
    rules = tmp_path / "reglement-consultation.pdf"
    rules.write_bytes(make_pdf(text="Reglement de la consultation"))
    walk.open_task("Publier la consultation", reference)
    page.get_by_label("Référence de la consultation").fill("2026-AO-PARCOURS")
    page.get_by_label("Date et heure limites de remise des offres").fill("2027-01-18T12:00")
    dce = page.get_by_role("group", name="Dossier de consultation des entreprises")
    dce.get_by_label("Ou ajouter un PDF").set_input_files(str(rules))
    page.get_by_role("checkbox", name="Profil d'acheteur").check()
    page.get_by_role("checkbox", name="BOAMP").check()
    page.get_by_role("checkbox", name="JOUE").check()
    walk.press("Enregistrer", label="consultation publiée")
    expect(page.get_by_role("link", name="reglement-consultation.pdf").first).to_be_visible()
    walk.refresh_until("18 janvier 2027 à 12 h 00")


def test_journey_3_procurement(walk: Walk, tmp_path: Path) -> None:
    walk.login("agent")
    reference = _need(walk)
    _publish(walk, reference, tmp_path)
    # Bids come in as the `offre_deposee` message: no page of the platform delivers it (the
    # procedure allows it from an agent, through the API only), so neither the bids nor the late
    # bid can be entered by clicks. What follows (award, standstill, rejection letters,
    # notification) waits for them.
    pytest.skip(
        "offres : aucune page ne permet de déposer une offre (message « offre_deposee » par "
        "l'API seulement) ; la suite du parcours (offre tardive, attribution, délai de "
        "suspension, lettres de rejet, notification) en dépend"
    )
