"""Archive tests: a platform with the real dev PKI and a real SeaweedFS, on both databases."""

from __future__ import annotations

import secrets
import socket
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest

from devstack.pki import DevPki
from devstack.s3 import SeaweedServer
from engine.bootstrap import Platform, build_platform
from engine.domain.archives import RetentionRuleRow
from engine.domain.model import Actor, Case
from engine.services import admin
from engine.services.admin import deploy_directory
from engine.services.archives.retention import set_retention_rule
from engine.services.archives.setup import ArchiveSetup, archive_setup
from engine.services.documents import store_document
from engine.settings import PKISettings, Settings, StorageSettings
from tests.engine.support import (
    AGENT,
    OPERATOR,
    SIREN_A,
    SIREN_B,
    complete,
    make_tenants,
    run_pending_jobs,
    start,
)
from tests.fixtures.services import TEST_PROCEDURES
from tests.signatures.pdfs import make_pdf

MAIRE = Actor("user:maire", frozenset({"elu"}), "Marie Dupont")
ARCHIVISTE = Actor("user:archiviste", frozenset({"archiviste"}), "Anne Archiviste")
TYPOLOGIE = "test_archive"

PlatformFactory = Callable[..., Platform]


def storage_for(server: SeaweedServer, prefix: str, endpoint: str | None = "") -> StorageSettings:
    return server.storage_settings(
        prefix,
        endpoint=server.config.endpoint if endpoint == "" else endpoint,
        default_retention_days=0,  # destruction tests destroy at once what they archived
    )


def closed_port() -> str:
    """A 127.0.0.1 port nobody listens on (the object store is down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"


@pytest.fixture
def make_platform(
    settings: Settings, dev_pki: DevPki, s3_server: SeaweedServer
) -> Iterator[PlatformFactory]:
    """Platforms on one fresh database and one fresh bucket prefix; `endpoint` may differ."""
    prefix = f"t{secrets.token_hex(4)}"
    built: list[Platform] = []
    first = [True]

    def factory(endpoint: str | None = "", clock: Callable[[], datetime] | None = None) -> Platform:
        platform = build_platform(
            settings.model_copy(
                update={
                    "pki": PKISettings(dev_dir=dev_pki.directory),
                    "storage": storage_for(s3_server, prefix, endpoint),
                }
            )
        )
        if clock is not None:
            platform.clock = clock
        built.append(platform)
        if first[0]:
            first[0] = False
            _prepare(platform)
        return platform

    yield factory
    for platform in built:
        platform.db.dispose()


def _prepare(platform: Platform) -> None:
    with platform.uow() as uow:
        deploy_directory(uow, TEST_PROCEDURES, operations=platform.operations, now=platform.clock())
        uow.commit()
    make_tenants(platform)
    with platform.uow() as uow:
        admin.create_user(
            uow,
            username="maire",
            display_name="Marie Dupont",
            password=None,
            tenant=SIREN_A,
            roles=("elu",),
            actor=OPERATOR,
            now=platform.clock(),
        )
        uow.commit()


@pytest.fixture
def p(make_platform: PlatformFactory) -> Platform:
    return make_platform()


@pytest.fixture
def setup(p: Platform) -> ArchiveSetup:
    return archive_setup(p.settings)


def set_rule(p: Platform, years: int, final_action: str = "Destroy", tenant: str = SIREN_A) -> None:
    with p.uow() as uow:
        set_retention_rule(
            uow,
            tenant,
            RetentionRuleRow(TYPOLOGIE, f"DUA-TEST-P{years}Y", years, final_action, "AR038"),
            actor=OPERATOR,
            now=p.clock(),
        )
        uow.commit()


def signed_case(p: Platform, *, title: str = "arrete.pdf", years: int = 10) -> Case:
    """A case whose document the mayor signed (B-LTA); it now waits on `archiving.seal_case`."""
    set_rule(p, years)
    with p.uow() as uow:
        document = store_document(
            uow,
            tenant=SIREN_A,
            name=title,
            content=make_pdf(pages=1),
            actor=AGENT,
            now=p.clock(),
            max_bytes=10_000_000,
        )
        uow.commit()
    case = start(p, "archive_test", {"document": document.reference(), "typologie": TYPOLOGIE})
    complete(p, case, "signer", {"confirme": True}, actor=MAIRE)
    outcomes = run_pending_jobs(p, case)
    assert [o.state.value for o in outcomes] == ["done"], outcomes
    return case


def archived_case(p: Platform, **kwargs: object) -> Case:
    case = signed_case(p, **kwargs)  # type: ignore[arg-type]
    outcomes = run_pending_jobs(p, case)
    assert [o.state.value for o in outcomes] == ["done"], outcomes
    return case


def use_platform_env(p: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the CLI (which reads its settings from the environment) at this platform."""
    env = {
        "DEMATFLOW_DATABASE_URL": p.settings.resolved_database_url(),
        "DEMATFLOW_DATA_DIR": str(p.settings.data_dir),
        "DEMATFLOW_PKI__DEV_DIR": str(p.settings.pki.dev_dir),
        "DEMATFLOW_STORAGE__ENDPOINT": str(p.settings.storage.endpoint),
        "DEMATFLOW_STORAGE__ACCESS_KEY": p.settings.storage.access_key,
        "DEMATFLOW_STORAGE__SECRET_KEY": p.settings.storage.secret_key,
        "DEMATFLOW_STORAGE__BUCKET_PREFIX": p.settings.storage.bucket_prefix,
        "DEMATFLOW_STORAGE__DEFAULT_RETENTION_DAYS": str(p.settings.storage.default_retention_days),
        "DEMATFLOW_STORAGE__HOLDS__ACCESS_KEY": p.settings.storage.holds.access_key,
        "DEMATFLOW_STORAGE__HOLDS__SECRET_KEY": p.settings.storage.holds.secret_key,
        "DEMATFLOW_STORAGE__BUCKET_ADMIN__ACCESS_KEY": p.settings.storage.bucket_admin.access_key,
        "DEMATFLOW_STORAGE__BUCKET_ADMIN__SECRET_KEY": p.settings.storage.bucket_admin.secret_key,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def package_of(p: Platform, case: Case):  # type: ignore[no-untyped-def]
    with p.uow() as uow:
        return uow.archives.for_case(case.tenant, case.id)


__all__ = ["ARCHIVISTE", "MAIRE", "SIREN_B", "uuid"]
