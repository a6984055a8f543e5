"""The trainer's page: a training tenant's date, moving its clock, the FORMATION banner."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.services.tenant_clock import make_training
from tests.engine.support import OPERATOR, SIREN_A
from tests.web.live import live_server
from web.app import create_app

Browser = Callable[[str], tuple[TestClient, str]]
PAGE = f"/c/{SIREN_A}/admin/formation"


def _train(p: Platform) -> None:
    with p.uow() as uow:
        make_training(uow, tenant=SIREN_A, actor=OPERATOR, now=p.clock())
        uow.commit()


def test_a_real_tenant_has_no_training_page(people: Platform, browser_as: Browser) -> None:
    client, _ = browser_as("admin.a")
    assert client.get(PAGE).status_code == 404
    assert "FORMATION" not in client.get(f"/c/{SIREN_A}").text


def test_the_trainer_moves_the_clock_forward(people: Platform, browser_as: Browser) -> None:
    _train(people)
    client, csrf = browser_as("admin.a")
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "Date du jour de formation" in page.text and "training-banner" in page.text
    assert "Avancer de 7 jours" in page.text

    moved = client.post(f"{PAGE}/horloge", data={"avancer": "7j", "csrf_token": csrf})
    assert moved.status_code == 303
    with people.uow() as uow:
        offset = uow.tenants.clock(SIREN_A).offset
    assert timedelta(days=7) <= offset < timedelta(days=7, minutes=5)
    assert "minuteur(s) déclenché(s)" in client.get(PAGE).text

    yesterday = (datetime.now(UTC) + timedelta(days=6)).date().isoformat()
    back = client.post(
        f"{PAGE}/horloge", data={"date": yesterday, "heure": "09:00", "csrf_token": csrf}
    )
    assert back.status_code == 422 and "ne recule jamais" in back.text


def test_every_page_of_a_training_tenant_shows_the_banner(
    people: Platform, browser_as: Browser
) -> None:
    _train(people)
    client, _ = browser_as("agent.a")
    for path in (f"/c/{SIREN_A}", f"/c/{SIREN_A}/taches", f"/c/{SIREN_A}/dossiers"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "FORMATION" in page.text and "<title>FORMATION" in page.text
    assert client.get(PAGE).status_code == 403, "the trainer is the tenant's admin"


def test_a_tenant_request_waiting_for_the_database_does_not_stop_the_server(
    people: Platform,
) -> None:
    """The tenant clock is read before the request runs. On SQLite that read waits while another
    transaction writes; it must wait in a worker thread, not on the event loop, or the whole
    server stops answering (and the writer's own answer with it) until the lock times out."""
    if not people.one_writer:
        pytest.skip("PostgreSQL readers do not wait for writers")
    with live_server(create_app(platform=people)) as server:
        base = f"http://127.0.0.1:{server.port}"
        waiting: list[int] = []
        with people.uow():  # holds SQLite's writer lock (BEGIN IMMEDIATE)
            tenant_request = threading.Thread(
                target=lambda: waiting.append(
                    httpx.get(f"{base}/demarches/{SIREN_A}", timeout=60).status_code
                )
            )
            tenant_request.start()
            time.sleep(0.5)  # the tenant request is now waiting for the lock
            live = httpx.get(f"{base}/health/live", timeout=5)
            assert live.status_code == 200
        tenant_request.join(timeout=60)
    assert waiting == [200]
