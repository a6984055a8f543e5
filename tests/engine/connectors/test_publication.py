"""The public register: publish after the AR, list, detail, file, open data, retention, isolation."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from engine.bootstrap import Platform
from engine.domain.errors import NotFound
from engine.domain.model import Case
from engine.operations.base import OperationFailed
from engine.services import publication
from engine.settings import PublicationSettings
from tests.engine.connectors.conftest import reference, start_actes_case, store_pdf
from tests.engine.connectors.helpers import case_data, journal, poll, run_open_jobs
from tests.engine.support import SIREN_A, SIREN_B, call_operation
from tests.fixtures.prefecture import Simulator

pytestmark = pytest.mark.integration


def _published(platform: Platform) -> Case:
    case = start_actes_case(platform)
    run_open_jobs(platform, case)
    poll(platform)
    run_open_jobs(platform, case)
    return case


def test_register_lists_the_published_act(cplatform: Platform, prefecture: Simulator) -> None:
    case = _published(cplatform)
    data = case_data(cplatform, case)
    settings = cplatform.settings.publication
    now = cplatform.clock()
    with cplatform.uow() as uow:
        (entry,) = publication.list_register(uow, settings, SIREN_A, now=now)
        assert entry.publication.number == data["numero_acte"]
        assert entry.publication.ack_id == data["identifiant_ar"]
        assert entry.nature_label == "Délibération"
        assert entry.signature_summary == "Signature électronique valide (PAdES B-LTA)."
        assert entry.publication.online_until is None  # default: kept online permanently
        assert entry.url == data["publication"]["url"]
        detail, content = publication.register_file(
            uow, settings, SIREN_A, entry.publication.id, now=now
        )
        assert detail == entry and content.startswith(b"%PDF-")
        assert entry.publication.sha256 == data["acte"]["sha256"]
        # another tenant sees nothing of it
        assert publication.list_register(uow, settings, SIREN_B, now=now) == []
        with pytest.raises(NotFound):
            publication.register_entry(uow, settings, SIREN_B, entry.publication.id, now=now)
        rows = list(
            csv.DictReader(io.StringIO(publication.open_data_csv(uow, settings, SIREN_A, now=now)))
        )
        as_json = json.loads(publication.open_data_json(uow, settings, SIREN_A, now=now))
    assert len(rows) == 1 and rows[0]["identifiant_ar"] == data["identifiant_ar"]
    assert as_json[0]["numero"] == data["numero_acte"] and as_json[0]["signature_valide"] is True
    assert rows[0]["objet"] == as_json[0]["objet"]
    (published,) = journal(cplatform, case, "act.published")
    assert published.payload["sha256"] == data["acte"]["sha256"]


def test_retention_setting_and_legal_minimum(cplatform: Platform, prefecture: Simulator) -> None:
    _published(cplatform)
    now = cplatform.clock()
    with cplatform.uow() as uow:
        (entry,) = publication.list_register(uow, cplatform.settings.publication, SIREN_A, now=now)
    short = PublicationSettings(retention_days=10)
    until = publication.online_until(short, now)
    assert until is not None and until - now == timedelta(days=publication.MIN_RETENTION_DAYS)
    assert publication.online_until(
        PublicationSettings(retention_days=365), now
    ) == now + timedelta(days=365)
    with cplatform.uow() as uow:
        later = now + timedelta(days=3650)
        assert publication.list_register(uow, short, SIREN_A, now=later) == [
            publication.list_register(uow, short, SIREN_A, now=later)[0]
        ]  # rows published with "permanent" stay online whatever the later setting
    assert entry.publication.online_until is None


def test_an_act_without_acknowledgement_is_not_published(cplatform: Platform) -> None:
    case = start_actes_case(cplatform)
    document = store_pdf(cplatform)
    key = f"test-{uuid.uuid4()}"

    def run_publish(params: dict[str, Any]) -> dict[str, Any]:
        return call_operation(cplatform, "connectors.publish", params, case_id=case.id, key=key)

    params = {
        "document": reference(document),
        "nature": "1",
        "objet": "Acte non transmis",
        "numero": "X1",
        "identifiant_ar": "034-000000000-20260302-X1-DE",
    }
    with pytest.raises(OperationFailed) as caught:
        run_publish(params)
    assert caught.value.code == "acte_non_transmis"
    # the list of a session's deliberations needs no AR
    result = run_publish(
        {**params, "nature": "liste_deliberations", "identifiant_ar": "", "seance": "2026-03-02"},
    )
    assert run_publish(params) == result  # same key: the same entry, never a second one
    with cplatform.uow() as uow:
        (entry,) = publication.list_register(
            uow,
            cplatform.settings.publication,
            SIREN_A,
            now=cplatform.clock(),
            kind="liste_deliberations",
        )
    assert entry.publication.session == "2026-03-02"


def test_public_register_pages_and_open_data(cplatform: Platform, prefecture: Simulator) -> None:
    """What a citizen sees without an account: list, detail, unchanged PDF, JSON and CSV."""
    from fastapi.testclient import TestClient

    from web.app import create_app

    case = _published(cplatform)
    data = case_data(cplatform, case)
    with TestClient(create_app(platform=cplatform)) as client:
        page = client.get(f"/registre/{SIREN_A}")
        assert page.status_code == 200 and data["numero_acte"] in page.text
        assert data["identifiant_ar"] in page.text
        assert "Signature électronique valide (PAdES B-LTA)." in page.text
        with cplatform.uow() as uow:
            (entry,) = publication.list_register(
                uow, cplatform.settings.publication, SIREN_A, now=cplatform.clock()
            )
        base = f"/registre/{SIREN_A}/actes/{entry.publication.id}"
        assert entry.publication.sha256 in client.get(base).text
        pdf = client.get(f"{base}/fichier")
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.headers["content-security-policy"] == "sandbox"
        assert pdf.headers["x-content-type-options"] == "nosniff"
        assert pdf.headers["content-disposition"].startswith("attachment;")
        import hashlib

        assert hashlib.sha256(pdf.content).hexdigest() == data["acte"]["sha256"]
        assert (
            client.get("/registre/" + SIREN_A + "/donnees.json").json()[0]["numero"]
            == data["numero_acte"]
        )
        assert data["identifiant_ar"] in client.get(f"/registre/{SIREN_A}/donnees.csv").text
        # Another commune's register shows nothing of it, and its URL does not exist there.
        assert data["numero_acte"] not in client.get(f"/registre/{SIREN_B}").text
        assert client.get(f"/registre/{SIREN_B}/actes/{entry.publication.id}").status_code == 404
