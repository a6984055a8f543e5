"""Inbox, parapheur and the API task list say which dossier each task belongs to, for whom it is
done, and filter and sort with plain GET parameters."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.domain.model import Actor, Case
from engine.services import admin, delegations
from tests.engine.support import OPERATOR, SIREN_A, complete, start
from tests.web.support import PASSWORD

Login = Callable[[str], tuple[TestClient, str]]

SUBJECTS = ("Tarifs de la restauration scolaire", "Acquisition d'une balayeuse de voirie")


def _draft(subject: str) -> dict[str, Any]:
    return {
        "objet": subject,
        "rapporteur": "Mme Claire Dumas, adjointe",
        "service_porteur": "Service enfance et éducation",
        "matiere": "7.1",
        "texte": "Le conseil municipal, après en avoir délibéré, décide.",
        "projet": {"id": "doc-1", "nom": "projet.pdf", "sha256": "1" * 64, "taille": 48211},
        "annexes": [],
        "visa_finances_requis": False,
        "chef_service": "chef.a",
        "dgs": "dgs.a",
        "signataire": "elu.a",
    }


def _visas(people: Platform) -> list[Case]:
    """Two deliberations waiting for the visa of the chef de service (an agent)."""
    with people.uow() as uow:
        for login, name, roles in (
            ("chef.a", "Claire Chef", ("agent",)),
            ("dgs.a", "Paul Directeur", ("agent",)),
            ("adjoint.a", "Jean Adjoint", ("agent",)),
        ):
            admin.create_user(
                uow,
                username=login,
                display_name=name,
                password=PASSWORD,
                tenant=SIREN_A,
                roles=roles,
                actor=OPERATOR,
                now=people.clock(),
            )
        uow.commit()
    cases = []
    for subject in SUBJECTS:
        case = start(people, "deliberation")
        complete(people, case, "rediger_projet", _draft(subject))
        cases.append(case)
    return cases


def _rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
        for row in body.split("</tr>")[:-1]
    ]


def test_the_inbox_says_which_dossier_each_visa_belongs_to(
    browser_as: Login, people: Platform
) -> None:
    cases = _visas(people)
    references = [c.reference for c in cases]
    chef, _token = browser_as("chef.a")
    inbox = chef.get(f"/c/{SIREN_A}/taches")
    assert inbox.status_code == 200
    rows = _rows(inbox.text)
    assert len(rows) == 2
    for row, reference, subject in zip(rows, references, SUBJECTS, strict=True):
        assert row.startswith("Visa : Viser le document"), row
        assert reference in row and subject in row, row
        assert "Délibération du conseil municipal" in row and "Aucune" in row
    assert "Élu signataire" not in inbox.text.split("<tbody>", 1)[1]

    # The assigned agent opens the visa (refused with 403 « rôle elu » before).
    task_url = re.search(rf'href="(/c/{SIREN_A}/dossiers/{cases[0].id}/taches/[^"]+)"', inbox.text)
    assert task_url and chef.get(task_url.group(1)).status_code == 200

    newest_first = _rows(chef.get(f"/c/{SIREN_A}/taches?tri=recent").text)
    assert newest_first == list(reversed(rows))
    by_deadline = _rows(chef.get(f"/c/{SIREN_A}/taches?tri=echeance").text)
    assert by_deadline == rows  # no deadline yet: oldest first
    only = chef.get(f"/c/{SIREN_A}/taches?procedure=deliberation&etat=sans_echeance")
    assert len(_rows(only.text)) == 2
    assert (
        'value="deliberation" selected' in only.text
        and 'value="sans_echeance" selected' in only.text
    )
    for query in ("procedure=arrete", "etat=en_retard", "etat=proche"):
        assert "Aucune tâche ne vous attend avec ces filtres" in html.unescape(
            chef.get(f"/c/{SIREN_A}/taches?{query}").text
        )
    assert chef.get(f"/c/{SIREN_A}/taches?tri=n-importe").status_code == 422


def test_a_deputy_sees_for_whom_and_the_api_says_so(browser_as: Login, people: Platform) -> None:
    cases = _visas(people)
    now = people.clock()
    with people.uow() as uow:
        delegations.create_delegation(
            uow,
            tenant=SIREN_A,
            delegator="chef.a",
            deputy="adjoint.a",
            starts=now - timedelta(hours=1),
            ends=now + timedelta(days=5),
            reason="Congés",
            actor=Actor("user:chef.a", frozenset({"agent"}), "Claire Chef"),
            now=now,
        )
        uow.commit()
    deputy, _token = browser_as("adjoint.a")
    rows = _rows(deputy.get(f"/c/{SIREN_A}/taches?assignation=moi").text)
    assert len(rows) == 2
    assert all("pour le compte de Claire Chef" in row for row in rows)
    listed = deputy.get(f"/api/tenants/{SIREN_A}/tasks", auth=("adjoint.a", PASSWORD)).json()
    assert [t["case_reference"] for t in listed] == [c.reference for c in cases]
    first = listed[0]
    assert first["on_behalf_of"] == "chef.a" and first["on_behalf_of_name"] == "Claire Chef"
    assert (
        first["kind"] == "Visa" and first["procedure_title"] == "Délibération du conseil municipal"
    )
    assert first["case_title"] == SUBJECTS[0] and first["state"] == "sans_echeance"
    opened = deputy.get(
        f"/api/tenants/{SIREN_A}/cases/{first['case_id']}/tasks/{first['id']}",
        auth=("adjoint.a", PASSWORD),
    )
    assert opened.status_code == 200 and opened.json()["on_behalf_of"] == "chef.a"
    # The chef's own list says nothing of a deputy; another agent sees none of these visas.
    own = deputy.get(f"/api/tenants/{SIREN_A}/tasks", auth=("chef.a", PASSWORD)).json()
    assert [t["on_behalf_of"] for t in own] == [None, None]
    other = deputy.get(f"/api/tenants/{SIREN_A}/tasks", auth=("agent.a", PASSWORD)).json()
    assert [t["case_id"] for t in other if t["name"] == "viser"] == []
