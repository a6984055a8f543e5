"""/metrics, readiness details, /api/docs and /openapi.json: for the operator and the internal
networks; /health/live and a detail-free /health/ready for everyone (orchestrators)."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from tests.web.support import PASSWORD, login
from web.app import create_app

INTERNAL_PATHS = ("/metrics", "/openapi.json", "/api/docs")
OUTSIDE = ("203.0.113.7", 40000)
"""A public (documentation) address: the Internet."""


def _client(people: Platform, address: tuple[str, int]) -> TestClient:
    return TestClient(create_app(platform=people), client=address, follow_redirects=False)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.2.3.4", "192.168.1.9", "::1", "fd00::5"])
def test_internal_networks_read_everything(people: Platform, address: str) -> None:
    with _client(people, (address, 40000)) as client:
        assert "dematflow_cases" in client.get("/metrics").text
        assert "/api/tenants" in str(client.get("/openapi.json").json()["paths"])
        assert client.get("/api/docs").status_code == 200
        ready = client.get("/health/ready")
    assert ready.json()["checks"]["base_de_donnees"]["ok"] is True


def test_the_internet_gets_neither_figures_nor_details(people: Platform) -> None:
    with _client(people, OUTSIDE) as client:
        for path in INTERNAL_PATHS:
            assert client.get(path).status_code == 404, path
        assert client.get("/health/live").json() == {"status": "ok"}
        ready = client.get("/health/ready")
        # This test platform has no object store: not ready, without saying which part fails.
        assert ready.status_code == 503
        assert "checks" not in ready.json() and "stockage" not in ready.text
        # A logged-in agent is not the operator.
        login(client, "agent.a")
        assert client.get("/metrics").status_code == 404


def test_the_operator_reads_them_from_anywhere(people: Platform) -> None:
    with _client(people, OUTSIDE) as client:
        login(client, "exploitant")
        for path in INTERNAL_PATHS:
            assert client.get(path).status_code == 200, path
        assert "checks" in client.get("/health/ready").json()
        client.cookies.clear()
        basic = base64.b64encode(f"exploitant:{PASSWORD}".encode()).decode()
        token = client.post("/api/auth/token", headers={"Authorization": f"Basic {basic}"})
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert client.get("/openapi.json", headers=bearer).status_code == 200


def test_internal_networks_are_a_setting(people: Platform) -> None:
    people.settings.internal_networks = ["203.0.113.0/24"]
    with _client(people, OUTSIDE) as client:
        assert client.get("/metrics").status_code == 200
    with _client(people, ("127.0.0.1", 40000)) as client:
        assert client.get("/metrics").status_code == 404
