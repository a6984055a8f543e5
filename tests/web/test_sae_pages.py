"""Versement to the SAE from the archive pages: the archivist starts it, sees its state and
the SAE's reasons; the tenant's admin sets the SAE (never an internal address)."""

from __future__ import annotations

import html

import pytest
from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.jobs.sae_polling import run_sae_exchanges
from engine.services import admin
from engine.services.archives.setup import archive_setup
from tests.engine.archives.conftest import (  # noqa: F401 (fixtures)
    PlatformFactory,
    archived_case,
    make_platform,
    package_of,
)
from tests.engine.archives.test_sae_transfer import SECRETS, configure
from tests.engine.support import OPERATOR, SIREN_A
from tests.fixtures.sae import SaeSimulatorProcess
from tests.web.support import PASSWORD, login
from tests.web.test_pages_archives import ARCHIVES, _add_archivists
from web.app import create_app

pytestmark = pytest.mark.integration


def _client(p: Platform, username: str) -> tuple[TestClient, str]:
    client = TestClient(create_app(platform=p), follow_redirects=False)
    client.__enter__()
    return client, login(client, username)


def _run(p: Platform) -> None:
    run_sae_exchanges(p.uow, archive_setup(p.settings), now=p.clock(), secrets=SECRETS)


def test_archivist_transfers_from_the_package_page_and_reads_the_sae_reasons(
    make_platform: PlatformFactory,  # noqa: F811
    sae_simulator: SaeSimulatorProcess,
) -> None:
    sae_simulator.reset()
    p = make_platform()
    _add_archivists(p)
    refused = package_of(p, archived_case(p, title="refuse.pdf"))
    kept = package_of(p, archived_case(p, title="accepte.pdf"))
    assert refused is not None and kept is not None
    client, token = _client(p, "archiviste.a")
    try:
        page = html.unescape(client.get(f"{ARCHIVES}/paquets/{refused.package_id}").text)
        assert "Aucun système d'archivage électronique (SAE) n'est configuré" in page
        assert "Verser au SAE" not in page
        configure(p, "asalae", sae_simulator.base_url)
        sae_simulator.settings(decision="reject", reason="Convention CV-2026-012 expirée")
        response = client.post(
            f"{ARCHIVES}/paquets/{refused.package_id}/versement", data={"csrf_token": token}
        )
        assert response.status_code == 303
        waiting = html.unescape(client.get(f"{ARCHIVES}/paquets/{refused.package_id}").text)
        assert "Un échange avec le SAE est en cours" in waiting and "Verser au SAE" not in waiting
        _run(p)
        _run(p)
        page = html.unescape(client.get(f"{ARCHIVES}/paquets/{refused.package_id}").text)
        assert "Refusé par le SAE" in page and "Convention CV-2026-012 expirée" in page
        home = html.unescape(client.get(ARCHIVES).text)
        assert "Versements refusés par le SAE" in home and refused.package_id in home
        tasks = html.unescape(client.get(f"/c/{SIREN_A}/taches").text)
        assert "Versements refusés par le SAE : à reprendre" in tasks
        assert refused.package_id in tasks and "Convention CV-2026-012 expirée" in tasks
        sae_simulator.settings(decision="accept")
        client.post(f"{ARCHIVES}/paquets/{kept.package_id}/versement", data={"csrf_token": token})
        _run(p)
        _run(p)
        page = html.unescape(client.get(f"{ARCHIVES}/paquets/{kept.package_id}").text)
        assert "Accepté par le SAE" in page and "Identifiant(s) au SAE" in page
        assert "Versé aux Archives départementales" in page
        assert "Demander l'élimination au SAE" in page
    finally:
        client.__exit__(None, None, None)


def test_tenant_admin_sets_the_sae_but_not_an_internal_address(
    make_platform: PlatformFactory,  # noqa: F811
) -> None:
    p = make_platform()
    with p.uow() as uow:
        admin.create_user(
            uow, username="admin.sae", display_name="Admin", password=PASSWORD, tenant=SIREN_A,
            roles=("admin",), actor=OPERATOR, now=p.clock(),
        )  # fmt: skip
        uow.commit()
    client, token = _client(p, "admin.sae")
    url = f"/c/{SIREN_A}/admin/sae"
    try:
        assert "Type de SAE" in client.get(url).text
        internal = {"kind": "vitam", "url": "https://127.0.0.1:8443", "vitam_tenant": "1"}
        response = client.post(url, data={**internal, "csrf_token": token})
        assert response.status_code == 422
        assert "Adresse refusée" in html.unescape(response.text)
        secret = {"kind": "asalae", "url": "https://127.0.0.1", "username": "versement"}
        response = client.post(
            url, data={**secret, "secret_ref": "DEMATFLOW_DATABASE_URL", "csrf_token": token}
        )
        assert response.status_code == 422
        assert "commence par DEMATFLOW_SAE_" in html.unescape(response.text)
    finally:
        client.__exit__(None, None, None)
