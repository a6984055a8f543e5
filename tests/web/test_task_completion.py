"""Completing a task: success once the step is committed even when the broker is down (its jobs
wait in the outbox), and 409 for every loser of a completion race."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from devstack.process import free_port
from engine.bootstrap import Platform
from engine.domain.model import JobState
from engine.services.admin import deploy_directory
from engine.settings import BrokerSettings, Settings
from engine.worker.app import connect_platform
from tests.engine.support import SIREN_A
from tests.fixtures.services import TEST_PROCEDURES
from tests.web.live import live_server
from tests.web.support import PASSWORD, make_users
from web.app import create_app

DRAFT = {"objet": "Arrêté de voirie", "nature": "3", "texte": "Le maire arrête la fermeture."}
BASE = f"/api/tenants/{SIREN_A}"


def _auth(username: str) -> dict[str, str]:
    return {
        "Authorization": "Basic " + base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    }


@pytest.fixture
def broker_down(settings: Settings) -> Iterator[Platform]:
    """The platform as `dematflow web` builds it, its broker a Redis URL on a closed port."""
    dead = BrokerSettings(url=f"redis://127.0.0.1:{free_port()}/0", key_prefix="dead:")
    _celery, platform = connect_platform(settings.model_copy(update={"broker": dead}))
    with platform.uow() as uow:
        deploy_directory(uow, TEST_PROCEDURES, operations=platform.operations, now=platform.clock())
        uow.commit()
    make_users(platform)
    yield platform
    platform.db.dispose()


def _start_and_draft(client: TestClient | httpx.Client) -> tuple[str, dict[str, object]]:
    created = client.post(
        f"{BASE}/cases", json={"procedure": "arrete", "data": {}}, headers=_auth("agent.a")
    )
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    (task,) = client.get(f"{BASE}/tasks", headers=_auth("agent.a")).json()
    done = client.post(
        f"{BASE}/cases/{case_id}/tasks/{task['id']}", json={"data": DRAFT}, headers=_auth("agent.a")
    )
    assert done.status_code == 200, done.text
    (sign,) = client.get(f"{BASE}/tasks", headers=_auth("elu.a")).json()
    return case_id, sign


def test_completion_succeeds_while_the_broker_is_down(
    broker_down: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(create_app(platform=broker_down), raise_server_exceptions=False) as client:
        case_id, sign = _start_and_draft(client)
        started = time.monotonic()
        signed = client.post(
            f"{BASE}/cases/{case_id}/tasks/{sign['id']}",
            json={"data": {"decision": "signer"}},
            headers=_auth("elu.a"),
        )
        elapsed = time.monotonic() - started
    assert signed.status_code == 200, signed.text
    assert elapsed < 30
    assert "left to the outbox relay" in caplog.text
    # The step's jobs are committed: the outbox relay sends them once the broker is back.
    with broker_down.uow() as uow:
        waiting = uow.jobs.unfinished(
            older_than=broker_down.clock(), states=[JobState.PENDING], limit=500
        )
    assert [job.state for job in waiting if str(job.case_id) == case_id] == [JobState.PENDING]


def test_losers_of_a_completion_race_get_409(people: Platform) -> None:
    with (
        live_server(create_app(platform=people)) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as client,
    ):
        created = client.post(
            f"{BASE}/cases", json={"procedure": "arrete", "data": {}}, headers=_auth("agent.a")
        )
        case_id = created.json()["id"]
        (task,) = client.get(f"{BASE}/tasks", headers=_auth("agent.a")).json()
        url = f"{BASE}/cases/{case_id}/tasks/{task['id']}"
        # A bearer token: eight simultaneous password checks would meet the login throttle.
        token = client.post("/api/auth/token", headers=_auth("agent.a")).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        gate = threading.Barrier(8)
        statuses: list[int] = []

        def complete() -> None:
            gate.wait()
            statuses.append(client.post(url, json={"data": DRAFT}, headers=bearer).status_code)

        threads = [threading.Thread(target=complete) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        late = client.post(url, json={"data": DRAFT}, headers=bearer)
        missing = client.post(
            f"{BASE}/cases/{case_id}/tasks/{uuid.uuid4()}", json={"data": DRAFT}, headers=bearer
        )
    assert sorted(statuses) == [200] + [409] * 7
    assert late.status_code == 409
    assert missing.status_code == 404
