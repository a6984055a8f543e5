"""The delegation screen, and inboxes/parapheur listing the tasks of the people one deputises for."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.domain.french import PARIS
from engine.domain.model import Case
from engine.services import admin
from engine.services.documents import store_document
from tests.engine.support import OPERATOR, SIREN_A, start
from tests.signatures.pdfs import make_pdf
from tests.web.support import PASSWORD

Login = Callable[[str], tuple[TestClient, str]]
SIGNATURE = [{"type": "signature", "signataires": ["elu.a"], "regle": "un", "qualite": "Le Maire"}]


@pytest.fixture
def deputy(people: Platform) -> str:
    """A second élu of tenant A, who will stand in for elu.a."""
    with people.uow() as uow:
        admin.create_user(
            uow,
            username="adjointe.a",
            display_name="Jeanne Adjointe",
            password=PASSWORD,
            tenant=SIREN_A,
            roles=("elu",),
            actor=OPERATOR,
            now=people.clock(),
        )
        uow.commit()
    return "adjointe.a"


def _signature_case(people: Platform) -> Case:
    """A circuit whose signature is assigned to elu.a personally, with its PDF attached."""
    reference = {"id": str(uuid.uuid4()), "nom": "arrete.pdf", "sha256": "0", "taille": 1}
    case = start(people, "circuit_test", {"circuit": {"etapes": SIGNATURE, "document": reference}})
    with people.uow() as uow:
        store_document(
            uow,
            tenant=SIREN_A,
            name="arrete-a-signer.pdf",
            content=make_pdf(text="Arrete a signer"),
            actor_id="system",
            now=people.clock(),
            max_bytes=1_000_000,
            case_id=case.id,
        )
        uow.commit()
    return case


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _days(people: Platform, offset: int) -> str:
    return (people.clock().astimezone(PARIS).date() + timedelta(days=offset)).isoformat()


def _delegations(people: Platform, login: str) -> list[tuple[str, str, bool]]:
    with people.uow() as uow:
        found = uow.delegations.for_person(SIREN_A, login, since=people.clock())
        return [(d.delegator, d.deputy, d.revoked_at is not None) for d in found]


def _journal_kinds(people: Platform) -> list[str]:
    with people.uow() as uow:
        return [e.kind for e in uow.journal.iter_entries(SIREN_A)]


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"debut": "TODAY", "fin": "TODAY"}, "delegataire", "choisissez la personne"),
        (
            {"delegataire": "agent.b", "debut": "TODAY", "fin": "TODAY"},
            "delegataire",
            "membre actif",
        ),
        ({"delegataire": "elu.a", "debut": "TODAY", "fin": "TODAY"}, "delegataire", "membre actif"),
        ({"delegataire": "adjointe.a", "debut": "TODAY+3", "fin": "TODAY+1"}, "fin", "la fin doit"),
        ({"delegataire": "adjointe.a", "debut": "TODAY-1", "fin": "TODAY+1"}, "debut", "passé"),
        (
            {"delegataire": "adjointe.a", "debut": "TODAY", "fin": "TODAY+400"},
            "fin",
            "un an au plus",
        ),
        (
            {"delegataire": "adjointe.a", "debut": "03/05/2026", "fin": "TODAY"},
            "debut",
            "AAAA-MM-JJ",
        ),
        ({"delegataire": "adjointe.a", "fin": "TODAY"}, "debut", "indiquez la date de début"),
    ],
)
def test_a_wrong_delegation_is_explained_next_to_its_field_and_not_recorded(
    browser_as: Login, people: Platform, deputy: str, form: dict[str, str], field: str, message: str
) -> None:
    client, token = browser_as("elu.a")
    values = dict(form)
    for key, value in values.items():
        if value.startswith("TODAY"):
            values[key] = _days(people, int(value.removeprefix("TODAY") or 0))
    refused = client.post(f"/c/{SIREN_A}/delegations", data={"csrf_token": token, **values})
    assert refused.status_code == 422
    error = re.search(rf'id="champ-{field}-erreur">([^<]*)<', refused.text)
    assert error and message in html.unescape(error.group(1)), refused.text
    assert f'href="#champ-{field}"' in refused.text  # the error summary links to the field
    assert 'aria-invalid="true"' in refused.text
    assert _delegations(people, "elu.a") == []
    assert "delegation.created" not in _journal_kinds(people)


def test_a_deputy_sees_and_handles_the_tasks_of_whom_they_stand_in_for(
    browser_as: Login, people: Platform, deputy: str
) -> None:
    case = _signature_case(people)
    stand_in, _stand_in_token = browser_as(deputy)
    assert "arrete-a-signer.pdf" not in stand_in.get(f"/c/{SIREN_A}/parapheur").text
    assert str(case.id) not in stand_in.get(f"/c/{SIREN_A}/taches").text

    elu, token = browser_as("elu.a")
    screen = elu.get(f"/c/{SIREN_A}/delegations")
    assert screen.status_code == 200
    options = re.findall(r'<option value="([^"]+)"', screen.text)
    assert deputy in options and "agent.a" in options
    assert "elu.a" not in options and "agent.b" not in options  # not me, not another tenant
    given = elu.post(
        f"/c/{SIREN_A}/delegations",
        data={
            "csrf_token": token,
            "delegataire": deputy,
            "debut": _days(people, 0),
            "fin": _days(people, 6),
            "motif": "Congés",
        },
    )
    assert given.status_code == 303, given.text
    mine = _text(elu.get(f"/c/{SIREN_A}/delegations").text)
    assert "Délégation à Jeanne Adjointe enregistrée" in mine
    assert "Jeanne Adjointe me remplace" in mine and "en vigueur" in mine and "Congés" in mine
    assert _delegations(people, "elu.a") == [("elu.a", deputy, False)]
    assert "delegation.created" in _journal_kinds(people)

    assert "Je remplace Elu.a" in _text(stand_in.get(f"/c/{SIREN_A}/delegations").text)
    parapheur = stand_in.get(f"/c/{SIREN_A}/parapheur")
    assert "pour le compte de Elu.a" in _text(parapheur.text)
    assert f'value="{case.id}:' in parapheur.text
    assert "arrete-a-signer.pdf" in parapheur.text and "/apercu.png" in parapheur.text
    inbox = stand_in.get(f"/c/{SIREN_A}/taches")
    assert f"/dossiers/{case.id}/taches/" in inbox.text
    assert "pour le compte de Elu.a" in _text(inbox.text)
    mine_only = stand_in.get(f"/c/{SIREN_A}/taches?assignation=moi")
    assert f"/dossiers/{case.id}/taches/" in mine_only.text
    service = stand_in.get(f"/c/{SIREN_A}/taches?assignation=service")
    assert f"/dossiers/{case.id}/taches/" not in service.text  # assigned: not the lane's
    bearer = stand_in.post("/api/auth/token", auth=(deputy, PASSWORD)).json()["access_token"]
    api = stand_in.get(
        f"/api/tenants/{SIREN_A}/tasks", headers={"Authorization": f"Bearer {bearer}"}
    )
    assert [t["case_id"] for t in api.json()] == [str(case.id)]
    task_url = re.search(rf'href="(/c/{SIREN_A}/dossiers/{case.id}/taches/[^"]+)"', inbox.text)
    assert task_url
    task_page = _text(stand_in.get(task_url.group(1)).text)
    assert "pour le compte de Elu.a, par délégation" in task_page

    # Nobody else revokes it; the delegator does, and the deputy loses the task at once.
    delegation_id = re.search(r'name="delegation" value="([^"]+)"', screen.text)
    assert delegation_id is None  # nothing to revoke before it existed
    delegation_id = re.search(
        r'name="delegation" value="([^"]+)"', elu.get(f"/c/{SIREN_A}/delegations").text
    )
    assert delegation_id
    clerk, clerk_token = browser_as("agent.a")
    denied = clerk.post(
        f"/c/{SIREN_A}/delegations/revocation",
        data={"csrf_token": clerk_token, "delegation": delegation_id.group(1)},
    )
    assert denied.status_code == 403 and "révoquer" in denied.text
    unknown = elu.post(
        f"/c/{SIREN_A}/delegations/revocation",
        data={"csrf_token": token, "delegation": str(uuid.uuid4())},
    )
    assert unknown.status_code == 404
    revoked = elu.post(
        f"/c/{SIREN_A}/delegations/revocation",
        data={"csrf_token": token, "delegation": delegation_id.group(1)},
    )
    assert revoked.status_code == 303
    assert "révoquée le" in elu.get(f"/c/{SIREN_A}/delegations").text
    assert _delegations(people, "elu.a") == [("elu.a", deputy, True)]
    assert "delegation.revoked" in _journal_kinds(people)
    assert f'value="{case.id}:' not in stand_in.get(f"/c/{SIREN_A}/parapheur").text
