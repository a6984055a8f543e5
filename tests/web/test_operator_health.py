"""The operator's « État de la plateforme »: a case in error shows its collectivité by name and
SIREN, its reference and title, since when and why, in French; « Relancer » says it did."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.domain.model import CaseStatus
from tests.engine.support import SIREN_A, complete, get, run_pending_jobs, start

Browser = Callable[[str], tuple[TestClient, str]]


def test_a_case_in_error_is_shown_for_a_person_and_retried(
    people: Platform, browser_as: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = start(people, "service_test")
    complete(people, case, "saisir", {"mode": "panne"})
    run_pending_jobs(people, case)
    assert get(people, case).status == CaseStatus.ERROR
    monkeypatch.setattr(people.settings.actes, "base_url", "http://127.0.0.1:8470")
    operator, token = browser_as("exploitant")
    page = operator.get("/exploitation/sante").text
    row = page[page.index(f">{case.reference}<") - 300 : page.index("Relancer<span")]
    assert "Commune de Montpellier-le-Test" in row and f"SIREN {SIREN_A}" in row
    assert "Le service distant a refusé la demande." in row
    assert " à " in row and " h " in row  # since when, in Paris time (« 7 décembre 2026 à 9 h 59 »)
    assert '<a href="http://127.0.0.1:8470/">http://127.0.0.1:8470</a>' in page
    retried = operator.post(
        f"/exploitation/dossiers/{case.tenant}/{case.id}/relancer", data={"csrf_token": token}
    )
    assert retried.status_code == 303
    after = operator.get("/exploitation/sante").text
    assert f"Dossier {case.reference} relancé." in after and "Aucun dossier en erreur." in after
