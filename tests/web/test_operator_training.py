"""The operator flags a tenant as a training space (espace de formation) and takes the flag off,
after a confirmation, with a journal entry; a tenant that sent real acts cannot be flagged."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from tests.engine.support import SIREN_A, SIREN_B, start
from web.history import EVENT_LABELS

Browser = Callable[[str], tuple[TestClient, str]]


def _page(siren: str) -> str:
    return f"/exploitation/collectivites/{siren}/formation"


def _training(people: Platform, siren: str) -> bool:
    with people.uow() as uow:
        return uow.tenants.clock(siren).training


def _kinds(people: Platform, siren: str) -> list[str]:
    with people.uow() as uow:
        return [entry.kind for entry in uow.journal.iter_entries(siren)]


def test_the_operator_flags_then_unflags_a_tenant_after_confirming(
    people: Platform, browser_as: Browser
) -> None:
    operator, token = browser_as("exploitant")
    listing = operator.get("/exploitation").text
    assert f'href="{_page(SIREN_B)}"' in listing and "Passer en formation" in listing
    confirm = operator.get(_page(SIREN_B))
    assert confirm.status_code == 200
    assert "Confirmer : passer en espace de formation" in confirm.text
    assert "marquée FORMATION" in confirm.text or "mention FORMATION" in confirm.text
    assert not _training(people, SIREN_B)  # the page alone changes nothing

    flagged = operator.post(_page(SIREN_B), data={"csrf_token": token, "etat": "formation"})
    assert flagged.status_code == 303 and _training(people, SIREN_B)
    assert "désormais un espace de formation" in operator.get("/exploitation").text
    assert _kinds(people, SIREN_B)[-1] == "tenant.training"

    assert "Confirmer : quitter le mode formation" in operator.get(_page(SIREN_B)).text
    ended = operator.post(_page(SIREN_B), data={"csrf_token": token, "etat": "reel"})
    assert ended.status_code == 303 and not _training(people, SIREN_B)
    assert _kinds(people, SIREN_B)[-1] == "tenant.training_ended"
    assert EVENT_LABELS["tenant.training_ended"] == "Collectivité sortie du mode formation"


def test_a_tenant_that_sent_real_acts_cannot_be_flagged(
    people: Platform, browser_as: Browser
) -> None:
    case = start(people, "service_test", tenant=SIREN_B)
    with people.uow() as uow:
        row = uow.actes.add(
            tenant=SIREN_B,
            case_id=case.id,
            act_number="2026_001",
            act_unique_id="034-" + SIREN_B + "-20260301-2026_001-DE",
            idempotency_key="real/1",
            archive_sha256="0" * 64,
            now=people.clock(),
        )
        uow.actes.update(SIREN_B, row, people.clock(), state="transmitted", transaction_id="42")
        uow.commit()
    operator, token = browser_as("exploitant")
    refused = operator.post(_page(SIREN_B), data={"csrf_token": token, "etat": "formation"})
    assert refused.status_code == 422
    assert "a déjà transmis 1 acte(s) réel(s) à la préfecture" in refused.text
    assert not _training(people, SIREN_B)
    assert "tenant.training" not in _kinds(people, SIREN_B)


def test_a_training_space_with_cases_stays_one(people: Platform, browser_as: Browser) -> None:
    operator, token = browser_as("exploitant")
    operator.post(_page(SIREN_A), data={"csrf_token": token, "etat": "formation"})
    start(people, "service_test", tenant=SIREN_A)
    refused = operator.post(_page(SIREN_A), data={"csrf_token": token, "etat": "reel"})
    assert refused.status_code == 422
    assert "contient 1 dossier(s) fictif(s)" in refused.text
    assert _training(people, SIREN_A)


def test_a_training_space_is_created_from_the_form(people: Platform, browser_as: Browser) -> None:
    operator, token = browser_as("exploitant")
    created = operator.post(
        "/exploitation/collectivites",
        data={"csrf_token": token, "siren": "356000000", "nom": "Formation", "formation": "oui"},
    )
    assert created.status_code == 303 and _training(people, "356000000")
    assert _kinds(people, "356000000") == ["tenant.created", "tenant.training"]
    plain = operator.post(
        "/exploitation/collectivites",
        data={"csrf_token": token, "siren": "130005481", "nom": "Réelle"},
    )
    assert plain.status_code == 303 and not _training(people, "130005481")


def test_only_the_operator_flags_and_bad_input_is_french(
    people: Platform, browser_as: Browser
) -> None:
    admin, admin_token = browser_as("admin.a")
    assert admin.get(_page(SIREN_A)).status_code in (403, 404)
    posted = admin.post(_page(SIREN_A), data={"csrf_token": admin_token, "etat": "formation"})
    assert posted.status_code in (403, 404) and not _training(people, SIREN_A)
    operator, token = browser_as("exploitant")
    assert operator.get(_page("999999999")).status_code == 404
    odd = operator.post(_page(SIREN_A), data={"csrf_token": token, "etat": "autre"})
    assert odd.status_code == 422 and "Choisissez de passer en formation" in odd.text


def test_a_training_space_numbers_its_dossiers_apart(people: Platform, browser_as: Browser) -> None:
    """The same counters as a real tenant, but every reference says FORM- first."""
    operator, token = browser_as("exploitant")
    operator.post(_page(SIREN_A), data={"csrf_token": token, "etat": "formation"})
    for siren, clerk_login in ((SIREN_A, "agent.a"), (SIREN_B, "agent.b")):
        clerk, clerk_token = browser_as(clerk_login)
        started = clerk.post(
            f"/c/{siren}/procedures/arrete/demarrer", data={"csrf_token": clerk_token}
        )
        assert started.status_code == 303, started.text
    with people.uow() as uow:
        (training,), _ = uow.cases.search(SIREN_A, limit=5)
        (real,), _ = uow.cases.search(SIREN_B, limit=5)
    assert re.fullmatch(r"FORM-\d{4}-000001", training.reference)
    assert re.fullmatch(r"\d{4}-000001", real.reference)


def test_the_trainer_finds_the_prefecture_simulator_only_on_this_machine(
    people: Platform, browser_as: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator, token = browser_as("exploitant")
    operator.post(_page(SIREN_A), data={"csrf_token": token, "etat": "formation"})
    trainer, _ = browser_as("admin.a")
    monkeypatch.setattr(people.settings.actes, "base_url", "http://127.0.0.1:8470")
    page = trainer.get(f"/c/{SIREN_A}/admin/formation").text
    assert '<a href="http://127.0.0.1:8470/">simulateur de la préfecture</a>' in page
    monkeypatch.setattr(people.settings.actes, "base_url", "https://tdt.example.fr")
    page = trainer.get(f"/c/{SIREN_A}/admin/formation").text
    assert "tdt.example.fr" not in page and "Simulateur de la préfecture" not in page
