"""The case page as a secretary reads it: labels, formats, names, Paris time, no cuts."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from tests.engine.support import SIREN_A
from web.display import datetime_fr

Login = Callable[[str], tuple[TestClient, str]]
DRAFT = {"objet": "Arrêté de voirie", "nature": "3", "texte": "Le maire arrête la fermeture."}


def _text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _draft(client: TestClient, token: str) -> tuple[str, str]:
    started = client.post(f"/c/{SIREN_A}/procedures/arrete/demarrer", data={"csrf_token": token})
    task_url = str(started.headers["location"])
    return task_url, task_url.split("/taches/")[0]


def test_a_too_long_title_is_refused_with_a_clear_message_never_cut(browser_as: Login) -> None:
    client, token = browser_as("agent.a")
    task_url, case_url = _draft(client, token)
    form = client.get(task_url).text
    # No HTML maxlength (a browser silently cuts a pasted text there): the page's script
    # counts instead, from data-maxlength.
    assert ' maxlength="499"' not in form and 'data-maxlength="499"' in form
    title = ("Réglementation du stationnement " * 30)[:900]
    refused = client.post(task_url, data={"csrf_token": token, **DRAFT, "objet": title})
    assert refused.status_code == 422
    text = _text(refused.text)
    assert "499 caractères au plus ; le texte saisi en compte 900 : raccourcissez-le" in text
    assert html.escape(title, quote=True) in refused.text  # given back whole, to be shortened
    page = _text(client.get(case_url).text)
    assert title[:499] not in page  # nothing was recorded, cut or not


def test_case_data_history_and_times_are_for_people(browser_as: Login, people: Platform) -> None:
    client, token = browser_as("agent.a")
    task_url, case_url = _draft(client, token)
    done = client.post(task_url, data={"csrf_token": token, **DRAFT})
    assert done.status_code == 303
    page = client.get(case_url).text
    text = _text(page)
    # The form's labels and formatted values, not keys and Python.
    assert "Objet de l'arrêté Arrêté de voirie" in text
    assert "Nature de l'acte Acte individuel" in text  # the enum's label, not "3"
    assert "rediger_par" not in text and "{'" not in text and "None" not in text
    assert "Procédure Arrêté du maire (circuit simple)" in text
    # Current step: where the case is, not the 30-day reminder on the signature.
    steps = text.split("Étape en cours")[1].split("Documents")[0]
    assert "Signer ou refuser l'arrêté" in steps and "30 jours" not in steps
    # History: French labels, display names, Paris time said so.
    history = text.split("Historique")[1]
    assert "Heures indiquées à l'heure de Paris" in history
    assert "Dossier créé" in history and "par Agent.a (agent.a)" in history
    assert "user:" not in history and "case.started" not in history
    assert datetime_fr(people.clock()).split(" à ")[0] in history
    assert re.search(r"à \d{1,2} h \d{2}", history)


def test_favicon_is_served(web: TestClient) -> None:
    icon = web.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO directory
    svg = web.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.text.startswith("<svg")
    assert 'rel="icon" href="/static/favicon.svg"' in web.get("/connexion").text


def test_deadlines_change_once_met_or_waited_out() -> None:
    import uuid
    from datetime import UTC, datetime

    from engine.domain.deadlines import convocation_deadline, legality_control_end
    from engine.domain.model import JournalEntry
    from web.pages.cases import deadline_state

    convocation = convocation_deadline(datetime(2026, 3, 5, 18, 0, tzinfo=UTC))  # by 27 Feb
    sent = JournalEntry(
        tenant=SIREN_A,
        seq=4,
        kind="mail.sent",
        case_id=uuid.uuid4(),
        actor="system:mail",
        payload={"modele": "convocation_conseil"},
        recorded_at=datetime(2026, 2, 20, 8, 15, tzinfo=UTC),
        prev_hash="0" * 64,
        hash="1" * 64,
    )
    later = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    assert deadline_state(convocation, later) == ("dépassé depuis 11 jours", "depasse")
    assert deadline_state(convocation, later, [sent]) == (
        "respecté le 20 février 2026 à 9 h 15",
        "respecte",
    )
    legality = legality_control_end(datetime(2026, 1, 15, 9, 0, tzinfo=UTC))  # 16 March
    assert deadline_state(legality, datetime(2026, 3, 20, tzinfo=UTC)) == (
        "délai écoulé",
        "ecoule",
    )
    assert deadline_state(legality, later, open_case=False)[1] == "ecoule"
