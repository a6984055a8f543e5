"""POST /api/tenants/{t}/cases/{id}/signals/{name}: declared signals only, role-checked, journaled."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from engine.bootstrap import Platform
from engine.services.admin import deploy_directory
from tests.engine.support import SIREN_A
from tests.engine.test_signals import _write
from tests.web.support import make_users
from tests.web.test_api import _auth
from web.app import create_app

BASE = f"/api/tenants/{SIREN_A}"


@pytest.fixture
def client(platform: Platform, tmp_path: Path) -> Iterator[TestClient]:
    _write(tmp_path / "signaux")
    with platform.uow() as uow:
        deploy_directory(
            uow, tmp_path, operations=platform.operations.names(), now=platform.clock()
        )
        uow.commit()
    make_users(platform)
    with TestClient(create_app(platform=platform)) as test_client:
        yield test_client


def _signal(client: TestClient, case_id: str, name: str, login: str, **body: str) -> Response:
    url = f"{BASE}/cases/{case_id}/signals/{name}"
    return client.post(url, json=body or None, headers=_auth(login))


def test_signals_through_the_api(client: TestClient, platform: Platform) -> None:
    started = client.post(f"{BASE}/cases", json={"procedure": "signaux"}, headers=_auth("agent.a"))
    assert started.status_code == 201, started.text
    case_id = started.json()["id"]
    undeclared = _signal(client, case_id, "inconnu", "agent.a")
    assert undeclared.status_code == 422
    assert "n'est pas déclaré" in undeclared.json()["detail"]
    wrong_role = _signal(client, case_id, "reprise", "elu.a")
    assert wrong_role.status_code == 403
    unknown = _signal(client, str(uuid.uuid4()), "reprise", "agent.a")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    done = _signal(client, case_id, "reprise", "agent.a")
    assert done.status_code == 200, done.text
    no_reason = _signal(client, case_id, "annulation", "exploitant")
    assert no_reason.status_code == 422
    operator = _signal(client, case_id, "annulation", "exploitant", reason="demande retirée")
    assert operator.status_code == 200, operator.text
    assert operator.json()["status"] == "completed"
    with platform.uow() as uow:
        kinds = [e.kind for e in uow.journal.for_case(SIREN_A, uuid.UUID(case_id))]
    assert kinds.count("signal.received") == 2
