"""The trainer's page: a training tenant's date, moving its clock, the FORMATION banner."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.services.tenant_clock import make_training
from tests.engine.support import OPERATOR, SIREN_A

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
