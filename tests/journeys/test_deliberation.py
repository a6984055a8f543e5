"""Journey 1: a council deliberation from draft to sealed archive, by clicks only, on the
training space: the clerk drafts it with a PDF and an annex, the agents assigned give their
visas, the clerk convenes a séance with it, the trainer moves the clock to the séance, the
attendance and the vote are recorded, the mayor signs, the act goes to the prefecture and comes
back acknowledged, it is published on the register, the trainer moves past the legal delays and
the archivist verifies the sealed package and downloads its DIP."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.journeys.support import Walk, advance_training_clock, french_moment
from tests.signatures.pdfs import make_pdf

pytestmark = [pytest.mark.journeys, pytest.mark.xdist_group("journeys")]

RUN = time.strftime("%H%M%S")  # this run's deliberation among the others of the training space
OBJET = f"Acquisition d'un terrain pour le futur cimetière (parcours {RUN})"


def _pdf(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_bytes(make_pdf(text=text))
    return str(path)


def _task(walk: Walk, task: str, reference: str) -> None:
    """From « Mes tâches », that task of that dossier (reloaded while the worker gets to it)."""
    walk.nav("Mes tâches")
    name = f"{task} (dossier {reference})"
    walk.refresh_until(name)
    walk.page.get_by_role("link", name=name).click()
    walk.step(task)


def _draft(walk: Walk, tmp_path: Path) -> str:
    """The clerk drafts the project with its PDF and an annex; returns the dossier reference."""
    page = walk.page
    walk.login("agent")
    walk.nav("Nouveau dossier")
    walk.press("Démarrer : Délibération du conseil municipal", label="projet à rédiger")
    created = page.get_by_role("status").first.inner_text()  # « Dossier FORM-2027-000002 créé. »
    found = re.search(r"(?:FORM-)?\d{4}-\d{6}", created)
    assert found, created
    reference = found[0]
    page.get_by_label("Objet de la délibération").fill(OBJET)
    page.get_by_label("Rapporteur (élu qui présente le projet)").fill(
        "M. Jean Martin, adjoint à l'urbanisme"
    )
    page.get_by_label("Service porteur").fill("Service urbanisme")
    page.get_by_label("Matière (classification @ctes)").select_option("3.1")
    page.get_by_label("Texte du projet (exposé des motifs et dispositif)").fill(
        "Le conseil municipal décide d'acquérir la parcelle AB 112 pour 45 000 euros."
    )
    projet = page.get_by_role("group", name="Projet de délibération (PDF)")
    projet.get_by_label("Ou ajouter un PDF").set_input_files(
        _pdf(tmp_path, "projet-terrain.pdf", "Projet de deliberation : acquisition du terrain")
    )
    annexes = page.get_by_role("group", name="Annexes (PDF)")
    annexes.get_by_label("Ajouter des PDF").set_input_files(
        _pdf(tmp_path, "plan-parcelle.pdf", "Plan cadastral de la parcelle AB 112")
    )
    walk.step("projet rempli")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(lambda url: "/taches/" not in url)
    walk.step("projet enregistré")
    walk.logout()
    return reference


def _visas(walk: Walk, reference: str) -> None:
    """The head of department then the DGS, as the clerk assigned them, give their visa."""
    page = walk.page
    for login in ("chef_service", "dgs"):
        walk.login(login)
        _task(walk, "Viser le document : projet-terrain.pdf", reference)
        page.get_by_label("Je vise le document").check()
        page.get_by_label("Confirmez avec votre mot de passe").fill(walk.demo.passwords[login])
        walk.press("Enregistrer", label=f"visa de {login}")
        expect(page.get_by_role("status").first).to_contain_text("enregistré")
        walk.logout()


def _training_day(walk: Walk) -> date:
    """The training date the FORMATION banner shows (« Date du jour de formation : 16 février
    2027 à 0 h 02 »)."""
    banner = walk.page.get_by_text("Date du jour de formation").first.inner_text()
    return french_moment(banner.split("Date du jour de formation")[1]).date()


def _convene(walk: Walk, reference: str) -> date:
    """The clerk convenes a séance eight days ahead with the project on its agenda and the
    whole council; returns the séance's day."""
    page = walk.page
    walk.login("agent")
    seance = _training_day(walk) + timedelta(days=8)
    walk.nav("Nouveau dossier")
    walk.press("Démarrer : Séance du conseil municipal", label="séance à convoquer")
    page.get_by_label("Date et heure de la séance").fill(f"{seance.isoformat()}T18:30")
    page.get_by_label("Lieu de la séance").fill("Salle du conseil, mairie de Formation")
    agenda = page.get_by_role("group", name="Ordre du jour")
    agenda.get_by_role("checkbox", name=f"(dossier {reference})").check()
    council = page.get_by_role("group", name="Conseillers municipaux convoqués")
    for checkbox in council.get_by_role("checkbox").all():
        checkbox.check()
    walk.step("séance remplie")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(lambda url: "/taches/" not in url)
    walk.step("séance convoquée")
    walk.logout()
    return seance


def _move_clock_to_seance(walk: Walk, seance: date) -> None:
    """The trainer sees the séance among the coming deadlines and moves the clock to it."""
    page = walk.page
    walk.login("admin")
    walk.nav("Espace de formation")
    walk.refresh_until("Jour et heure de la séance")  # armed by the worker after convening
    page.get_by_label("Date", exact=True).fill(seance.isoformat())
    page.get_by_label("Heure (Paris)").fill("18:35")
    walk.press("Aller à la date", label="horloge à la séance")
    expect(page.get_by_text("minuteur(s) déclenché(s)")).to_be_visible()
    walk.logout()


def _session_task(walk: Walk, task: str) -> None:
    """The séance's task, from « Mes tâches » (its dossier is the séance's, not the project's)."""
    walk.nav("Mes tâches")
    walk.refresh_until(task)
    walk.page.get_by_role("link", name=task).first.click()
    walk.step(task)


def _attend_and_vote(walk: Walk) -> None:
    """At the séance, the clerk records attendance (quorum reached) then the project's vote."""
    page = walk.page
    walk.login("agent")
    _session_task(walk, "Ouvrir la séance : présents, pouvoirs et quorum")
    page.get_by_label("Conseillers en exercice").fill("7")
    page.get_by_label("Conseillers présents à l'ouverture").fill("6")
    page.get_by_label("Pouvoirs (procurations écrites)").fill("1")
    page.get_by_label("Président de séance").select_option(label="Marie Dupont (Maire)")
    page.get_by_label("Secrétaire de séance").select_option(label="Jean Martin (Adjoint au maire)")
    walk.press("Enregistrer", label="présences enregistrées")
    # the vote's task says which point of the agenda it records
    _session_task(walk, f"Enregistrer le vote du point : 1. {OBJET}")
    page.get_by_label("Conseillers présents au moment du vote").fill("6")
    page.get_by_label("Pouvoirs").fill("1")
    page.get_by_label("Voix pour").fill("6")
    page.get_by_label("Voix contre").fill("0")
    page.get_by_label("Abstentions").fill("1")
    page.get_by_label("Ne prennent pas part au vote").fill("0")
    walk.press("Enregistrer", label="vote enregistré")
    walk.logout()


def _sign(walk: Walk, reference: str) -> None:
    """The mayor opens the adopted deliberation from the parapheur and signs it."""
    page = walk.page
    walk.login("maire")
    walk.nav("Parapheur")
    # the task names the document to sign: the act produced with the vote, not the draft
    opened = page.get_by_role(
        "link",
        name=re.compile(
            rf"^Ouvrir « Signer le document : \d{{4}}_DEL\d+\.pdf », dossier {reference}$"
        ),
    )
    walk.refresh_until(f"dossier {reference}")  # the worker produces the act after the vote
    opened.click()
    walk.step("délibération à signer")
    page.get_by_label("Je signe le document").check()
    page.get_by_label("Confirmez avec votre mot de passe").fill(walk.demo.passwords["maire"])
    walk.press("Enregistrer", label="délibération signée")
    expect(page.get_by_role("status").first).to_contain_text("enregistré")
    walk.logout()


def _transmitted_published_then_past_delays(walk: Walk, reference: str) -> None:
    """The trainer follows the dossier until the prefecture's AR is in and the act is online,
    finds it on the commune's public register, then moves the clock a month at a time until the
    legality control and the minimum publication time are over: the case is closed and sealed."""
    page = walk.page
    walk.login("admin")
    walk.nav("Dossiers")
    walk.follow(reference, label="dossier de la délibération")
    walk.refresh_until("Accusé de réception de la préfecture")  # polled by the worker
    walk.refresh_until("Publication sur le registre des actes")
    walk.step("accusé de réception et publication")
    region = page.get_by_role("region", name="Données du dossier")
    data = region.inner_text()
    found = re.search(r"Numéro de l'acte\s+(\d{4}_DEL\d+)", data)
    assert found, data
    # the act's public address opens on the platform as served (its own port)
    public = region.locator(f'a[href*="/registre/{walk.siren}/actes/"]').first
    href = public.get_attribute("href") or ""
    assert href.startswith(f"{walk.base}/registre/"), href
    walk.open(f"/registre/{walk.siren}", "registre des actes")
    row = page.get_by_role("row").filter(has_text=OBJET)
    expect(row).to_contain_text(found[1])
    expect(row).to_contain_text("Signature électronique valide")
    advance_training_clock(walk, past=OBJET)
    walk.logout()


def _archivist(walk: Walk) -> None:
    """The archivist finds the sealed package, verifies it and downloads its DIP."""
    page = walk.page
    walk.login("archiviste")
    walk.nav("Archives")
    page.get_by_label("Mots-clés").fill(RUN)
    walk.press("Rechercher", label="recherche du paquet")
    row = page.get_by_role("row").filter(has_text=OBJET)
    walk.refresh_until("Archivé", row=OBJET)  # sealing runs in the worker after the delays
    expect(row).to_contain_text("Archivé")
    row.get_by_role("link").first.click()
    walk.step("paquet scellé")
    walk.press("Vérifier maintenant", label="paquet vérifié")
    expect(page.get_by_role("status").filter(has_text="Paquet intègre")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le paquet de communication (DIP)").click()
    assert download.value.suggested_filename.endswith(".zip")
    walk.logout()


def test_journey_1_deliberation(walk: Walk, tmp_path: Path) -> None:
    walk.on_training_space()
    reference = _draft(walk, tmp_path)
    _visas(walk, reference)
    seance = _convene(walk, reference)
    _move_clock_to_seance(walk, seance)
    _attend_and_vote(walk)
    _sign(walk, reference)
    _transmitted_published_then_past_delays(walk, reference)
    _archivist(walk)
