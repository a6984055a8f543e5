"""Engine-side connector tests: a platform wired to the real simulator, SMTP server and PKI."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.bootstrap import Platform, build_platform
from engine.domain.model import Actor, Case, Document
from engine.services import documents
from engine.services.admin import deploy_directory
from engine.settings import ActesSettings, Settings, SmtpSettings, WebhookSettings
from tests.engine.support import SIREN_A, make_tenants, start
from tests.fixtures.prefecture import Simulator
from tests.fixtures.smtp import SmtpServer

PROCEDURES = Path(__file__).resolve().parent / "procedures"
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
AGENT = Actor("user:agent", frozenset({"agent"}), "Agent")


def connector_settings(
    base: Settings, prefecture: Simulator, smtp: SmtpServer, **changes: Any
) -> Settings:
    pki = prefecture.pki
    assert pki is not None
    values: dict[str, Any] = {
        "smtp": SmtpSettings(host=smtp.host, port=smtp.port, sender="mairie@commune-test.fr"),
        "actes": ActesSettings(
            base_url=prefecture.base_url,
            client_cert=pki.client_cert,
            client_key=pki.client_key,
            ca_bundle=pki.ca,
            timeout_seconds=1.0,
        ),
        "webhooks": WebhookSettings(
            allowed_networks=["127.0.0.1/32"], allowed_schemes=["http"], base_delay_seconds=5
        ),
    }
    values.update(changes)
    return base.model_copy(update=values)


@pytest.fixture
def csettings(
    database_url: str, tmp_path: Path, prefecture: Simulator, smtp_server: SmtpServer
) -> Settings:
    base = Settings(data_dir=tmp_path / "data", database_url=database_url)
    return connector_settings(base, prefecture, smtp_server)


@pytest.fixture
def cplatform(csettings: Settings) -> Iterator[Platform]:
    """A platform with the connector operations configured, test procedures and two tenants."""
    p = build_platform(csettings)
    with p.uow() as uow:
        deploy_directory(uow, PROCEDURES, operations=p.operations, now=p.clock())
        uow.commit()
    make_tenants(p)
    yield p
    p.db.dispose()


def store_pdf(
    platform: Platform, name: str = "deliberation.pdf", tenant: str = SIREN_A
) -> Document:
    content = PDF + uuid.uuid4().hex.encode()
    with platform.uow() as uow:
        document = documents.store_document(
            uow,
            tenant=tenant,
            name=name,
            content=content,
            actor=AGENT,
            now=platform.clock(),
            max_bytes=1_000_000,
        )
        uow.commit()
    return document


def reference(document: Document) -> dict[str, Any]:
    return {
        "id": str(document.id),
        "nom": document.name,
        "sha256": document.sha256,
        "taille": document.size,
        "type": document.media_type,
    }


def act_number() -> str:
    return "T" + uuid.uuid4().hex[:12].upper()


def start_actes_case(platform: Platform, **changes: Any) -> Case:
    act = store_pdf(platform)
    data: dict[str, Any] = {
        "acte": reference(act),
        "annexes": [reference(store_pdf(platform, "annexe.pdf"))],
        "matiere": "5.2",
        "numero_acte": act_number(),
        "objet": "Tarifs de la restauration scolaire pour l'année 2026",
        "seance": "2026-03-02T18:30:00+01:00",
        "validation": {"valide": True, "niveau": "B-LTA"},
    }
    data.update(changes)
    return start(platform, "actes_test", data)
