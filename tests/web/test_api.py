"""The minimal JSON API: health, cases, tasks, messages, problem+json, tenant isolation."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.services import admin
from tests.engine.support import OPERATOR, SIREN_A, SIREN_B, make_tenants, run_pending_jobs
from tests.signatures.pdfs import make_pdf
from web.app import create_app

PASSWORD = "mot-de-passe-de-test"
DRAFT = {"objet": "Arrêté de voirie", "nature": "3", "texte": "Le maire arrête la fermeture."}


def _auth(username: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    make_tenants(platform)
    with platform.uow() as uow:
        for username, tenant, roles in (
            ("agent.a", SIREN_A, ("agent",)),
            ("maire.a", SIREN_A, ("elu",)),
            ("agent.b", SIREN_B, ("agent",)),
            ("exploitant", None, ()),
        ):
            admin.create_user(
                uow,
                username=username,
                display_name=username,
                password=PASSWORD,
                tenant=tenant,
                roles=roles,
                is_operator=username == "exploitant",
                actor=OPERATOR,
                now=platform.clock(),
            )
        uow.commit()
    with TestClient(create_app(platform=platform)) as test_client:
        yield test_client


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/health/live").json() == {"status": "ok"}
    client = TestClient(client.app, client=("127.0.0.1", 50000))  # an internal network
    ready = client.get("/health/ready")
    checks = ready.json()["checks"]
    assert checks["base_de_donnees"]["ok"] is True
    # This test platform has no object store: readiness says so instead of pretending.
    assert ready.status_code == 503 and checks["stockage"] == {
        "ok": False,
        "detail": "stockage S3 non configuré",
    }
    assert "dematflow_cases" in client.get("/metrics").text
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/tenants/{tenant}/cases/{case_id}/tasks/{task_id}" in paths


def test_authentication_required(client: TestClient) -> None:
    response = client.get(f"/api/tenants/{SIREN_A}/cases")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    wrong = client.get(f"/api/tenants/{SIREN_A}/cases", headers={"Authorization": "Basic YTpi"})
    assert wrong.status_code == 401


def test_case_flow_through_the_api(client: TestClient, platform: Platform) -> None:
    base = f"/api/tenants/{SIREN_A}"
    created = client.post(
        f"{base}/cases", json={"procedure": "arrete", "data": {}}, headers=_auth("agent.a")
    )
    assert created.status_code == 201, created.text
    case = created.json()
    tasks = client.get(f"{base}/tasks", headers=_auth("agent.a")).json()
    assert [t["name"] for t in tasks] == ["rediger"]
    assert client.get(f"{base}/tasks", headers=_auth("maire.a")).json() == []

    bad = client.post(
        f"{base}/cases/{case['id']}/tasks/{tasks[0]['id']}",
        json={"data": {"objet": "X"}},
        headers=_auth("agent.a"),
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in bad.json()["errors"]} == {"objet", "nature", "texte"}

    done = client.post(
        f"{base}/cases/{case['id']}/tasks/{tasks[0]['id']}",
        json={"data": DRAFT, "version": case["version"]},
        headers=_auth("agent.a"),
    )
    assert done.status_code == 200, done.text
    stale = client.post(
        f"{base}/cases/{case['id']}/tasks/{tasks[0]['id']}",
        json={"data": DRAFT, "version": case["version"]},
        headers=_auth("agent.a"),
    )
    assert stale.status_code == 409

    sign = client.get(f"{base}/tasks", headers=_auth("maire.a")).json()[0]
    forbidden = client.post(
        f"{base}/cases/{case['id']}/tasks/{sign['id']}",
        json={"data": {"decision": "signer"}},
        headers=_auth("agent.a"),
    )
    assert forbidden.status_code == 403
    signed = client.post(
        f"{base}/cases/{case['id']}/tasks/{sign['id']}",
        json={"data": {"decision": "signer"}},
        headers=_auth("maire.a"),
    )
    assert signed.status_code == 200
    with platform.uow() as uow:
        stored = uow.cases.get(SIREN_A, uuid.UUID(case["id"]))
    run_pending_jobs(platform, stored)
    detail = client.get(f"{base}/cases/{case['id']}", headers=_auth("agent.a")).json()
    number = detail["data"]["numero_acte"]
    message = client.post(
        f"{base}/messages",
        headers=_auth("exploitant"),
        json={
            "name": "accuse_reception_prefecture",
            "correlation": number,
            "payload": {"identifiant": "AR-1"},
            "reason": "Connecteur @ctes en panne ; AR transmis par la préfecture.",
        },
    )
    assert message.status_code == 200, message.text
    final = client.get(f"{base}/cases/{case['id']}", headers=_auth("agent.a")).json()
    assert final["status"] == "completed"
    assert [e["kind"] for e in final["timeline"]] == [
        "case.started",
        "task.completed",
        "task.completed",
        "job.succeeded",
        "message.received",
    ]
    listed = client.get(f"{base}/cases?status=completed", headers=_auth("agent.a")).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == case["id"]


def test_other_tenant_answers_404(client: TestClient) -> None:
    created = client.post(
        f"/api/tenants/{SIREN_A}/cases", json={"procedure": "arrete"}, headers=_auth("agent.a")
    )
    case_id = created.json()["id"]
    assert (
        client.get(f"/api/tenants/{SIREN_A}/cases/{case_id}", headers=_auth("agent.b")).status_code
        == 404
    )
    assert (
        client.get(f"/api/tenants/{SIREN_B}/cases/{case_id}", headers=_auth("agent.b")).status_code
        == 404
    )
    assert (
        client.get(f"/api/tenants/{SIREN_B}/cases", headers=_auth("agent.b")).json()["total"] == 0
    )


def test_unknown_procedure_is_a_clear_problem(client: TestClient) -> None:
    response = client.post(
        f"/api/tenants/{SIREN_A}/cases", json={"procedure": "inconnue"}, headers=_auth("agent.a")
    )
    assert response.status_code == 404
    assert response.json()["detail"] == "Procédure inconnue « inconnue »."


def test_document_upload_download_and_limits(client: TestClient, platform: Platform) -> None:
    base = f"/api/tenants/{SIREN_A}"
    pdf = make_pdf()
    created = client.post(
        f"{base}/documents",
        headers=_auth("agent.a"),
        files={"fichier": ("délibération.pdf", pdf, "application/pdf")},
    )
    assert created.status_code == 201, created.text
    reference = created.json()
    assert reference["nom"] == "délibération.pdf" and reference["taille"] == len(pdf)
    back = client.get(f"{base}/documents/{reference['id']}", headers=_auth("maire.a"))
    assert back.status_code == 200 and back.content == pdf
    assert back.headers["content-type"] == "application/pdf"
    assert (
        client.get(
            f"/api/tenants/{SIREN_B}/documents/{reference['id']}", headers=_auth("agent.b")
        ).status_code
        == 404
    )
    refused = client.post(
        f"{base}/documents",
        headers=_auth("agent.a"),
        files={"fichier": ("image.png", b"\x89PNG....", "image/png")},
    )
    assert refused.status_code == 422
    assert refused.json()["detail"] == "Seuls les fichiers PDF sont acceptés."
    platform.settings.max_upload_bytes = len(pdf) - 1
    too_big = client.post(
        f"{base}/documents",
        headers=_auth("agent.a"),
        files={"fichier": ("gros.pdf", pdf, "application/pdf")},
    )
    assert too_big.status_code == 422 and "trop volumineux" in too_big.json()["detail"]
