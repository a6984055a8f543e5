"""Issue 15, item 5: people cannot forge the prefecture's acknowledgement through the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.domain.model import Case, CaseStatus
from tests.engine.support import SIREN_A, run_pending_jobs
from tests.web.support import make_users
from tests.web.test_api import _auth
from web.app import create_app

DRAFT = {"objet": "Arrêté de voirie", "nature": "3", "texte": "Le maire arrête la fermeture."}
BASE = f"/api/tenants/{SIREN_A}"


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    make_users(platform)
    with TestClient(create_app(platform=platform)) as test_client:
        yield test_client


def _waiting_for_ar(client: TestClient, platform: Platform) -> tuple[Case, str]:
    """An arrêté signed and numbered, waiting for the prefecture's acknowledgement."""
    case = client.post(f"{BASE}/cases", json={"procedure": "arrete"}, headers=_auth("agent.a"))
    case_id = case.json()["id"]
    for login, data in (("agent.a", DRAFT), ("elu.a", {"decision": "signer"})):
        task = client.get(f"{BASE}/tasks", headers=_auth(login)).json()[0]
        done = client.post(
            f"{BASE}/cases/{case_id}/tasks/{task['id']}", json={"data": data}, headers=_auth(login)
        )
        assert done.status_code == 200, done.text
    with platform.uow() as uow:
        stored = uow.cases.get(SIREN_A, uuid.UUID(case_id))
    run_pending_jobs(platform, stored)
    with platform.uow() as uow:
        stored = uow.cases.get(SIREN_A, uuid.UUID(case_id))
    return stored, str(stored.data["numero_acte"])


def _deliver(client: TestClient, login: str, number: str, **extra: Any) -> Any:
    body = {"name": "accuse_reception_prefecture", "correlation": number, **extra}
    return client.post(f"{BASE}/messages", json=body, headers=_auth(login))


def _unchanged(platform: Platform, case: Case) -> None:
    with platform.uow() as uow:
        now = uow.cases.get(SIREN_A, case.id)
        kinds = [e.kind for e in uow.journal.for_case(SIREN_A, case.id)]
    assert now.status == CaseStatus.RUNNING and now.version == case.version
    assert "statut" not in now.data or now.data["statut"] != "exécutoire"
    assert "message.received" not in kinds


def test_an_agent_cannot_forge_the_prefecture_acknowledgement(
    client: TestClient, platform: Platform
) -> None:
    case, number = _waiting_for_ar(client, platform)
    forged = _deliver(client, "agent.a", number, payload={"identifiant": "AR-INVENTE"})
    assert forged.status_code == 403, forged.text
    assert forged.headers["content-type"] == "application/problem+json"
    assert "rôle" in forged.json()["detail"]
    # a reason does not make an agent the operator
    claimed = _deliver(
        client, "agent.a", number, payload={"identifiant": "AR-INVENTE"}, reason="urgence"
    )
    assert claimed.status_code == 403, claimed.text
    _unchanged(platform, case)


def test_the_operator_delivers_with_a_reason_and_it_is_journaled(
    client: TestClient, platform: Platform
) -> None:
    case, number = _waiting_for_ar(client, platform)
    blank = _deliver(client, "exploitant", number, payload={"identifiant": "AR-1"}, reason="  ")
    assert blank.status_code == 422 and "motif" in blank.json()["detail"]
    _unchanged(platform, case)
    reason = "Panne du connecteur @ctes ; AR reçu par courriel de la préfecture le 2 mars."
    done = _deliver(
        client,
        "exploitant",
        number,
        payload={"identifiant": f"034-{SIREN_A}-20260302-{number}-AI"},
        reason=reason,
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    with platform.uow() as uow:
        entry = next(
            e for e in uow.journal.for_case(SIREN_A, case.id) if e.kind == "message.received"
        )
    assert entry.actor == "user:exploitant"
    assert entry.payload["origin"] == "operator" and entry.payload["reason"] == reason


def test_a_malformed_payload_is_a_french_422_listing_the_fields(
    client: TestClient, platform: Platform
) -> None:
    case, number = _waiting_for_ar(client, platform)
    for payload in ({}, {"identifiant": 5}, {"identifiant": ""}):
        refused = _deliver(client, "exploitant", number, payload=payload, reason="reprise")
        assert refused.status_code == 422, refused.text
        body = refused.json()
        assert refused.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in body["errors"]] == ["identifiant"]
        assert "Traceback" not in refused.text and "KeyError" not in refused.text
    _unchanged(platform, case)
