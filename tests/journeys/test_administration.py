"""Journey 4: the tenant admin invites an agent, grants and revokes roles, disables a procedure,
sets the councillors and the citizen-request contacts; the operator retries a case in error."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.journeys.support import Walk

pytestmark = [pytest.mark.journeys, pytest.mark.xdist_group("journeys")]

GYMNASE = "Convention de mise à disposition du gymnase au collège Jean-Moulin"
"""The demo's deliberation awaiting the mayor's signature (identifiants-demo.txt)."""
REJECTION = "Préfecture fermée pour inventaire (formation)"
NEW_AGENT = "nina.nouvelle"
NEW_PASSWORD = "Parcours-admin-2026!"
COUNCIL = (
    ("Marie Dupont", "marie.dupont@demo.dematflow.fr", "Maire"),
    ("Jean Martin", "jean.martin@demo.dematflow.fr", "Adjoint au maire"),
    ("Awa Diallo", "awa.diallo@demo.dematflow.fr", "Conseiller municipal"),
)


def _invite(walk: Walk) -> None:
    page = walk.page
    walk.nav("Utilisateurs")
    page.get_by_label("Identifiant").fill(NEW_AGENT)
    page.get_by_label("Nom affiché").fill("Nina Nouvelle")
    page.get_by_label("Courriel").fill("nina.nouvelle@demo.dematflow.fr")
    page.get_by_label("Mot de passe initial").fill(NEW_PASSWORD)
    page.get_by_role("checkbox", name="Agent", exact=True).check()
    walk.press("Créer le compte", label="agent invité")
    row = page.get_by_role("row").filter(has_text=NEW_AGENT)
    expect(row).to_contain_text("Nina Nouvelle")
    expect(row).to_contain_text("Agent")


def _grant_and_revoke(walk: Walk) -> None:
    page = walk.page
    walk.nav("Utilisateurs")
    walk.follow(f"Gérer le compte {NEW_AGENT}", label="fiche du membre")
    page.get_by_role("checkbox", name="Archiviste").check()
    walk.press("Enregistrer les rôles", label="rôle archiviste accordé")
    expect(page.get_by_role("checkbox", name="Archiviste")).to_be_checked()
    walk.nav("Utilisateurs")
    expect(page.get_by_role("row").filter(has_text=NEW_AGENT)).to_contain_text("Archiviste")
    walk.follow(f"Gérer le compte {NEW_AGENT}", label="fiche du membre")
    page.get_by_role("checkbox", name="Archiviste").uncheck()
    walk.press("Enregistrer les rôles", label="rôle archiviste retiré")
    walk.nav("Utilisateurs")
    expect(page.get_by_role("row").filter(has_text=NEW_AGENT)).not_to_contain_text("Archiviste")


def _set_procedure(walk: Walk, title: str, state: str) -> None:
    walk.nav("Catalogue")
    card = walk.page.get_by_role("region", name=title)
    card.get_by_role("radio", name=state, exact=True).check()
    walk.press(f"Enregistrer : {title}", label=f"{title} {state.lower()}")


def _councillors(walk: Walk) -> None:
    page = walk.page
    walk.nav("Conseil municipal")
    for name, mail, role in COUNCIL:
        page.get_by_label("Prénom et nom").fill(name)
        page.get_by_label("Adresse électronique").fill(mail)
        page.get_by_label("Fonction").select_option(label=role)
        page.get_by_label("Début du mandat").fill("2026-03-22")
        walk.press("Enregistrer", label=f"conseiller {name}")
    for name, _mail, _role in COUNCIL:
        expect(page.get_by_role("main")).to_contain_text(name)


def _citizen_contacts(walk: Walk) -> None:
    page = walk.page
    walk.nav("Paramètres")
    page.get_by_label("Désignation du service").fill("Guichet unique de la mairie")
    page.get_by_label("Adresse postale").fill("1 place de la Mairie, 34000 Démonstration")
    page.get_by_label("Téléphone").fill("04 67 00 00 00")
    page.get_by_label("Adresse électronique", exact=True).fill("guichet@demo.dematflow.fr")
    walk.press("Enregistrer les paramètres", label="contacts des demandes d'usagers")
    expect(page.get_by_label("Désignation du service")).to_have_value("Guichet unique de la mairie")


def _new_agent_sees_catalogue(walk: Walk) -> None:
    """The invited agent logs in; the disabled procedure is not offered."""
    page = walk.page
    walk.logout()
    page.get_by_label("Identifiant").fill(NEW_AGENT)
    page.get_by_label("Mot de passe").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    walk.step("connexion de l'agent invité")
    # A password chosen by an administrator is provisional: the agent chooses their own first.
    page.get_by_label("Mot de passe actuel").fill(NEW_PASSWORD)
    page.get_by_label("Nouveau mot de passe", exact=True).fill("trois pommes vertes au marché")
    page.get_by_label("Nouveau mot de passe (confirmation)").fill("trois pommes vertes au marché")
    walk.press("Changer mon mot de passe", label="mot de passe choisi")
    walk.nav("Nouveau dossier")
    expect(page.get_by_role("button", name="Démarrer : Marché public")).to_be_visible()
    expect(page.get_by_role("button", name="Démarrer : Arrêté du maire")).to_have_count(0)
    walk.logout()


def _prefecture(walk: Walk, state: str, *, reason: str = "") -> None:
    """From « État de la plateforme », the tiers de télétransmission's page: on the platform
    `make run` starts, the prefecture simulator's, where a tester or a trainer sets its state;
    then back to « État de la plateforme »."""
    page = walk.page
    page.locator(
        "xpath=//dt[contains(., 'Tiers de télétransmission')]/following-sibling::dd//a"
    ).click()
    walk.step("simulateur de la préfecture")
    page.get_by_role("radio", name=state).check()
    if reason:
        page.get_by_label("Motif du rejet").fill(reason)
    walk.press("Appliquer", label=f"préfecture : {state}")
    page.goto(f"{walk.base}/")  # back to the platform, at the address the README gives
    walk.follow("État de la plateforme")


def _sign(walk: Walk, objet: str) -> None:
    """The mayor signs the deliberation the demo leaves in the parapheur."""
    page = walk.page
    walk.login("maire")
    walk.nav("Parapheur")
    page.get_by_role("listitem").filter(has_text=objet).get_by_role("checkbox").check()
    page.get_by_label("Confirmez avec votre mot de passe").fill(walk.demo.passwords["maire"])
    walk.press("Signer la sélection", label="délibération signée")
    walk.logout()


def _operator(walk: Walk) -> None:
    """A prefecture that rejects deposits puts the signed act's case in error; the operator
    sees it (collectivité, reference, French reason), waits for the prefecture to work again
    and retries it; the case goes on to the prefecture's acknowledgement."""
    page = walk.page
    walk.login("operateur")
    walk.follow("État de la plateforme")
    _prefecture(walk, "Rejet des dépôts", reason=REJECTION)
    _sign(walk, GYMNASE)
    walk.login("operateur")
    walk.follow("État de la plateforme")
    walk.refresh_until(GYMNASE)
    row = page.get_by_role("row").filter(has_text=GYMNASE)
    expect(row).to_contain_text("Commune de Démonstration")
    expect(row).to_contain_text(f"SIREN {walk.demo.siren}")
    expect(row).to_contain_text("Le tiers de télétransmission a refusé l'envoi de l'acte")
    expect(row).to_contain_text(REJECTION)
    found = re.search(r"\d{4}-\d{6}", row.inner_text())
    assert found, row.inner_text()
    reference = found[0]
    walk.step("dossier en erreur")
    _prefecture(walk, "Fonctionnement normal")
    walk.press(f"Relancer le dossier {reference}", label="dossier relancé")
    expect(page.get_by_role("status")).to_contain_text(f"Dossier {reference} relancé.")
    expect(page.get_by_role("row").filter(has_text=GYMNASE)).to_have_count(0)
    walk.logout()
    # The case goes on: the worker transmits the act again, now accepted; in the commune's
    # list the case runs past the transmission (awaiting or holding the acknowledgement).
    walk.login("maire")
    walk.nav("Dossiers")
    case_row = page.get_by_role("row").filter(has_text=reference)
    deadline = time.monotonic() + 90
    while "Transmettre à la préfecture" in case_row.inner_text():
        assert time.monotonic() < deadline, case_row.inner_text()
        page.wait_for_timeout(500)  # between two reloads, not a fixed wait
        page.reload()
    expect(case_row).to_contain_text("En cours")
    expect(case_row).to_contain_text("préfecture")  # its acknowledgement, awaited or watched
    walk.step("dossier poursuivi")


def test_journey_4_tenant_admin(walk: Walk) -> None:
    walk.login("admin")
    _invite(walk)
    _set_procedure(walk, "Arrêté du maire (circuit simple)", "Désactivée")
    _councillors(walk)
    _citizen_contacts(walk)
    _new_agent_sees_catalogue(walk)
    walk.login("admin")
    _set_procedure(walk, "Arrêté du maire (circuit simple)", "Activée")
    _grant_and_revoke(walk)


def test_journey_4_operator(walk: Walk) -> None:
    _operator(walk)
