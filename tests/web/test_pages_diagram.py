"""Where a case stands, drawn: the case page, the operator's case view and version diagrams."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.runtime.specs import ProcessBundle
from tests.engine.support import SIREN_A, SIREN_B
from web.diagram import DiagramView, StepRow, version_diagram
from web.templating import ENV

Login = Callable[[str], tuple[TestClient, str]]
DRAFT = {"objet": "Arrêté de voirie", "nature": "3", "texte": "Le maire arrête la fermeture."}


def _text(page: str) -> str:
    page = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _case_at_signature(browser_as: Login) -> tuple[TestClient, str]:
    client, token = browser_as("agent.a")
    started = client.post(f"/c/{SIREN_A}/procedures/arrete/demarrer", data={"csrf_token": token})
    task_url = str(started.headers["location"])
    assert client.post(task_url, data={"csrf_token": token, **DRAFT}).status_code == 303
    return client, task_url.split("/taches/")[0]


def _shape(page: str, element: str) -> str:
    found = re.search(rf'<g class="bpmn-shape bpmn-(\w+)" data-element="{element}">', page)
    assert found, element
    return found.group(1)


def test_the_case_page_draws_the_path_the_current_task_and_lists_the_same(
    browser_as: Login,
) -> None:
    client, case_url = _case_at_signature(browser_as)
    page = client.get(case_url).text
    assert "Où en est le dossier" in page and '<svg xmlns="http://www.w3.org/2000/svg"' in page
    assert _shape(page, "rediger") == "done" and _shape(page, "signer") == "current"
    assert _shape(page, "delai_signature") == "waiting" and _shape(page, "numeroter") == "pending"
    # The hover text: the step, when and by whom (a person's name, not a login code).
    tooltip = re.search(r'data-element="rediger">\s*<title>([^<]*)</title>', page)
    assert tooltip and "Rédiger le projet d'arrêté" in tooltip.group(1)
    assert "par Agent.a (agent.a)" in html.unescape(tooltip.group(1))
    # A focusable scroll region (never wider than a phone's screen) and the text alternative.
    assert 'class="diagram-scroll" tabindex="0" role="region"' in page
    table = _text(page).split("Étapes du dossier, en texte")[1].split("Historique")[0]
    assert "Rédiger le projet d'arrêté Faite le " in table and "Agent.a (agent.a)" in table
    assert "Signer ou refuser l'arrêté En cours depuis le" in table
    assert "30 jours sans signature En attente jusqu'au" in table


def test_another_tenants_case_is_not_found(browser_as: Login) -> None:
    _, case_url = _case_at_signature(browser_as)
    other, _ = browser_as("agent.b")
    assert other.get(case_url).status_code == 404
    assert other.get(case_url.replace(SIREN_A, SIREN_B)).status_code == 404


def test_the_operator_sees_the_case_and_any_version(browser_as: Login, people: Platform) -> None:
    _, case_url = _case_at_signature(browser_as)
    case_id = case_url.rsplit("/", 1)[1]
    operator, _ = browser_as("exploitant")
    page = operator.get(f"/exploitation/dossiers/{SIREN_A}/{case_id}").text
    assert _shape(page, "signer") == "current" and "Étapes du dossier, en texte" in page
    digest = re.search(r'href="/exploitation/procedures/([0-9a-f]{64})"', page)
    assert digest
    catalogue = operator.get("/exploitation/procedures").text
    assert f"/exploitation/procedures/{digest.group(1)}" in catalogue
    version = operator.get(f"/exploitation/procedures/{digest.group(1)}").text
    assert _shape(version, "signer") == "none" and "Étapes du dossier" not in version
    assert operator.get("/exploitation/procedures/" + "0" * 64).status_code == 404
    assert operator.get("/exploitation/procedures/pas-une-empreinte").status_code == 404
    # The tenant admin opens the versions its catalogue offers, from the catalogue page.
    admin, _ = browser_as("admin.a")
    listed = admin.get(f"/c/{SIREN_A}/admin/procedures").text
    link = f"/c/{SIREN_A}/admin/procedures/versions/{digest.group(1)}"
    assert link in listed
    assert _shape(admin.get(link).text, "rediger") == "none"
    assert admin.get(f"/c/{SIREN_A}/admin/procedures/versions/{'0' * 64}").status_code == 404


def test_a_model_that_cannot_be_drawn_says_so_in_french() -> None:
    hostile = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "a">]><d id="p">&a;</d>'
    bundle = ProcessBundle("essai", "Essai", "p", {"essai.bpmn": hostile}, "f" * 64)
    view = version_diagram(bundle)
    assert view.svg is None and view.unavailable is not None
    assert view.unavailable.startswith("Schéma non disponible : le modèle BPMN déclare")


def test_without_a_drawing_the_case_still_lists_its_steps() -> None:
    view = DiagramView(
        None,
        "Schéma non disponible : essai.",
        (StepRow("Rédiger", "Faite", "le 2 mars", "X"),),
        False,
    )
    section = ENV.get_template("_diagram.html").module.diagram_section(view)  # type: ignore[attr-defined]
    text = _text(str(section))
    assert "Schéma non disponible : essai." in text and "<svg" not in str(section)
    assert "Rédiger Faite le 2 mars X" in text and '<details class="diagram-steps" open>' in section
