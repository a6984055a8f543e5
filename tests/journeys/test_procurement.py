"""Journey 3: a procurement (procedure `commande-publique`) from need to notification, by clicks,
on the training space: the trainer moves its clock to the bids' deadline and past the standstill."""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.journeys.support import Walk, french_moment
from tests.signatures.pdfs import make_pdf

pytestmark = [pytest.mark.journeys, pytest.mark.xdist_group("journeys")]

RUN = time.strftime("%H%M%S")  # this run's consultation, told apart from earlier runs' ones
OBJET = f"Extension du groupe scolaire Jules-Ferry (parcours {RUN})"
CONSULTATION = f"AO-PARCOURS-{RUN}"
BIDDERS = {
    "Bâtiments du Midi SA": "offres@batiments-midi.example",
    "Constructions Occitanes SARL": "marches@constructions-occitanes.example",
}
WINNER = "Bâtiments du Midi SA"
LATE = ("Retard et Fils", "contact@retard-fils.example")


def _pdf(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_bytes(make_pdf(text=text))
    return str(path)


def _training_now(walk: Walk) -> datetime:
    """The training day and hour (Paris) the trainer's page shows."""
    walk.page.goto(walk.space)
    walk.nav("Espace de formation")
    return french_moment(walk.page.locator(".training-now").inner_text())


def _go_to(walk: Walk, moment: datetime) -> None:
    """The trainer moves the training clock to a date and hour (Paris)."""
    page = walk.page
    page.goto(walk.space)
    walk.nav("Espace de formation")
    page.get_by_label("Date", exact=True).fill(moment.date().isoformat())
    page.get_by_label("Heure (Paris)").fill(moment.strftime("%H:%M"))
    walk.press("Aller à la date", label=f"horloge au {moment:%Y-%m-%d %H:%M}")


def _as(walk: Walk, login: str) -> None:
    walk.page.context.clear_cookies()
    walk.login(login)


def _case(walk: Walk, reference: str) -> None:
    walk.page.goto(walk.space)
    walk.nav("Dossiers")
    walk.follow(reference, label=f"dossier {reference}")


def _need(walk: Walk, launch: date) -> str:
    """The buyer states the need; the dated thresholds choose the procedure."""
    page = walk.page
    walk.nav("Nouveau dossier")
    walk.press("Démarrer : Marché public", label="besoin")
    page.get_by_label("Objet du marché").fill(OBJET)
    page.get_by_label("Description du besoin").fill("Trois classes, un préau et une cantine.")
    page.get_by_label("Travaux").check()
    page.get_by_label("Valeur estimée du besoin").fill("6200000")
    page.get_by_label("Date prévue de lancement").fill(launch.isoformat())
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


def _publish(walk: Walk, reference: str, tmp_path: Path, deadline: datetime) -> None:
    """A deadline under the legal minimum is refused with its French reason, then corrected."""
    page = walk.page
    walk.open_task("Publier la consultation", reference)
    page.get_by_label("Référence de la consultation").fill(CONSULTATION)
    too_soon = deadline - timedelta(days=20)
    limit = page.get_by_label("Date et heure limites de remise des offres")
    limit.fill(too_soon.strftime("%Y-%m-%dT%H:%M"))
    dce = page.get_by_role("group", name="Dossier de consultation des entreprises")
    dce.get_by_label("Ou ajouter un PDF").set_input_files(
        _pdf(tmp_path, "reglement-consultation.pdf", "Reglement de la consultation")
    )
    page.get_by_role("checkbox", name="Profil d'acheteur").check()
    page.get_by_role("checkbox", name="BOAMP").check()
    page.get_by_role("checkbox", name="JOUE").check()
    page.get_by_role("button", name="Enregistrer").click()  # the page's script sends the PDF
    expect(page.get_by_role("alert").first).to_contain_text("au moins 35 jours")
    expect(page.get_by_role("alert").first).to_contain_text("R2161-2")
    walk.step("délai trop court refusé")
    # The PDF sent with the refused form stays in the dossier, picked in its field.
    expect(dce.get_by_role("radio", name=re.compile("reglement-consultation"))).to_be_checked()
    limit = page.get_by_label("Date et heure limites de remise des offres")
    limit.fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    walk.press("Enregistrer", label="consultation publiée")
    expect(page.get_by_role("link", name="reglement-consultation.pdf").first).to_be_visible()
    walk.refresh_until("Enregistrer une offre reçue")
    expect(page.locator("main")).to_contain_text("consultation en cours")


def _record_bid(walk: Walk, tmp_path: Path, name: str, mail: str, at: datetime) -> None:
    page = walk.page
    walk.follow("Enregistrer une offre reçue", label=f"offre de {name}")
    page.get_by_label("Candidat (raison sociale)").fill(name)
    page.get_by_label("Adresse électronique du candidat").fill(mail)
    page.get_by_label("Date et heure de réception de l'offre").fill(at.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Référence du pli").fill(f"pli-{name[:4].lower()}")
    slug = re.sub(r"[^a-z]+", "-", name.lower())
    page.get_by_label("Ou ajouter un PDF").set_input_files(
        _pdf(tmp_path, f"offre-{slug}.pdf", f"Offre de {name}")
    )
    walk.press("Enregistrer", label=f"offre de {name} enregistrée")
    expect(
        page.get_by_role("status").filter(has_text="Enregistrer une offre reçue")
    ).to_contain_text("enregistré")


def _analyse(walk: Walk, reference: str, tmp_path: Path) -> None:
    page = walk.page
    walk.open_task("Ouvrir et analyser les offres", reference)
    page.get_by_label("Pondération du critère prix").fill("60")
    page.get_by_label("Pondération de la valeur technique").fill("40")
    rows = [
        (WINNER, "5980000", "18", "16", "17.2", "1"),
        ("Constructions Occitanes SARL", "6150000", "17.5", "14", "16.1", "2"),
    ]
    for index, (name, price, note_price, note_tech, note, rank) in enumerate(rows, start=1):
        group = page.get_by_role("group", name=f"Ligne {index}")
        if group.count() == 0:
            page.get_by_role("button", name="Ajouter une ligne").click()
            group = page.get_by_role("group", name=re.compile(f"Ligne {index}|Nouvelle ligne"))
        group = group.last
        group.get_by_label("Candidat").fill(name)
        group.get_by_label("Prix de l'offre").fill(price)
        group.get_by_label("Note prix").fill(note_price)
        group.get_by_label("Note technique").fill(note_tech)
        group.get_by_label("Note pondérée").fill(note)
        group.get_by_label("Rang").fill(rank)
    page.get_by_label("Offre économiquement la plus avantageuse").fill(WINNER)
    page.get_by_label("Montant de l'offre retenue").fill("5980000")
    page.get_by_label("Adresses de tous les candidats").fill("\n".join(BIDDERS.values()))
    rejected = [mail for name, mail in BIDDERS.items() if name != WINNER]
    page.get_by_label("Adresses des candidats évincés").fill("\n".join([*rejected, LATE[1]]))
    report = page.get_by_role("group", name="Rapport d'analyse des offres")
    report.get_by_label("Ou ajouter un PDF").set_input_files(
        _pdf(tmp_path, "rapport-analyse.pdf", "Rapport d'analyse des offres")
    )
    walk.press("Enregistrer", label="offres analysées")
    expect(page.locator("main")).to_contain_text("attribution à décider")


def _sign_task(walk: Walk, task: str, reference: str, choice: str) -> None:
    page = walk.page
    walk.open_task(task, reference)
    page.get_by_label(choice).check()
    page.get_by_label("Confirmez avec votre mot de passe").fill(walk.demo.passwords["maire"])
    walk.press("Enregistrer", label=f"{task} : fait")


def _prepare_contract(walk: Walk, reference: str, tmp_path: Path) -> None:
    page = walk.page
    walk.open_task("Préparer le marché à signer", reference)
    contract = page.get_by_role("group", name="Acte d'engagement")
    contract.get_by_label("Ou ajouter un PDF").set_input_files(
        _pdf(tmp_path, "acte-engagement.pdf", "Acte d'engagement")
    )
    page.get_by_label("Montant du marché").fill("5980000")
    holder = page.get_by_role("group", name="Titulaire")
    holder.get_by_label("Raison sociale").fill(WINNER)
    holder.get_by_label("SIRET").fill("51234567800021")
    holder.get_by_label("Adresse électronique").fill(BIDDERS[WINNER])
    walk.press("Enregistrer", label="marché préparé")


def _mails_to(walk: Walk, address: str) -> list[str]:
    """The recipients (To, Cc) of each message of the mail drop sent to `address`."""
    found = []
    for path in sorted((walk.data_dir / "courriels").glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        recipients = ", ".join(str(message[h]) for h in ("To", "Cc", "Bcc") if message[h])
        if address in recipients and OBJET[:30] in path.read_text(errors="replace"):
            found.append(recipients)
    return found


def _refresh_until_progress(walk: Walk, value: str, *, timeout: float) -> None:
    """Reload the case page until its « Avancement » reads `value` (the worker transmits to
    the prefecture, whose acknowledgement is polled, then notifies)."""
    progress = walk.page.get_by_text(value, exact=True)
    deadline = time.monotonic() + timeout
    while progress.count() == 0:
        assert time.monotonic() < deadline, f"{walk.page.url} : avancement « {value} » absent"
        walk.page.wait_for_timeout(500)  # between two reloads, not a fixed wait
        walk.page.reload()


def _wait_for_mails(walk: Walk, address: str, *, timeout: float = 300.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while not (found := _mails_to(walk, address)):
        assert time.monotonic() < deadline, f"aucun courriel pour {address}"
        walk.page.wait_for_timeout(500)  # the worker sends; the drop writes a file
    return found


@pytest.mark.timeout(900)  # the serve's start-up, then about twenty pages and the worker's steps
def test_journey_3_procurement(walk: Walk, tmp_path: Path) -> None:
    walk.on_training_space()
    page = walk.page
    walk.login("admin")
    now = _training_now(walk)
    deadline = datetime.combine(now.date() + timedelta(days=40), datetime.min.time()).replace(
        hour=12
    )
    walk.logout()

    _as(walk, "agent")
    reference = _need(walk, now.date())
    _publish(walk, reference, tmp_path, deadline)

    # Bids come in over the weeks: the trainer moves the clock, the buyer records them.
    _as(walk, "admin")
    _go_to(walk, deadline - timedelta(days=1))
    _as(walk, "agent")
    _case(walk, reference)
    for offset, (name, mail) in zip((3, 2), BIDDERS.items(), strict=True):
        _record_bid(walk, tmp_path, name, mail, deadline - timedelta(days=offset, hours=-1))
    expect(page.locator("main")).to_contain_text("Offres reçues dans les délais")

    # The deadline passes; an envelope arrives the same afternoon: eliminated, not analysed.
    _as(walk, "admin")
    _go_to(walk, deadline + timedelta(hours=5))
    _as(walk, "agent")
    _case(walk, reference)
    walk.refresh_until("Ouvrir et analyser les offres")
    _record_bid(walk, tmp_path, *LATE, deadline + timedelta(hours=2, minutes=30))
    expect(page.locator("main")).to_contain_text("Offres reçues hors délai")
    expect(page.locator("main")).to_contain_text(LATE[0])
    walk.step("offre hors délai éliminée")
    _analyse(walk, reference, tmp_path)

    _as(walk, "maire")
    _sign_task(walk, "Décider de l'attribution", reference, "J'attribue le marché")

    # Rejection letters: one mail per rejected bidder, each showing only its own address.
    for name, mail in [*((n, m) for n, m in BIDDERS.items() if n != WINNER), LATE]:
        for recipients in _wait_for_mails(walk, mail):
            assert recipients.strip() == mail, f"{name} voit d'autres adresses : {recipients}"

    # The standstill (11 days from the letters) runs on the training clock.
    _as(walk, "agent")
    _case(walk, reference)
    walk.refresh_until("Fin du délai de suspension avant signature du marché")
    expect(page.locator("main")).to_contain_text("délai de suspension en cours")
    walk.step("délai de suspension en cours")
    _as(walk, "admin")
    _go_to(walk, deadline + timedelta(days=13))
    _as(walk, "agent")
    _case(walk, reference)
    walk.refresh_until("Préparer le marché à signer")
    expect(page.locator("main")).to_contain_text("délai écoulé")
    walk.step("délai de suspension écoulé")
    _prepare_contract(walk, reference, tmp_path)

    _as(walk, "maire")
    walk.open_task("Signer le marché", reference)
    page.get_by_label("Je signe le marché au nom de la collectivité").check()
    page.get_by_label("Confirmez avec votre mot de passe").fill(walk.demo.passwords["maire"])
    walk.press("Enregistrer", label="marché signé")

    # Prefecture (simulator), then notification to the holder.
    _as(walk, "agent")
    _case(walk, reference)
    _refresh_until_progress(walk, "notifié", timeout=300)
    walk.step("marché notifié")
    notices = _wait_for_mails(walk, BIDDERS[WINNER])
    assert all(r.strip() == BIDDERS[WINNER] for r in notices), notices
