"""End-to-end harness: the real procedures of `processes/` on the production stack.

One `Stack` per test: a fresh PostgreSQL database, a Celery worker subprocess on Redis (the
same `dematflow worker` command as production), the production operations wired to the
session's SeaweedFS (archives under Object Lock), development PKI (signatures, seal, TSA,
OCSP), prefecture simulator (@ctes over mutual TLS) and SMTP server. The test process plays
the users (through the same use cases the web API calls) and the scheduler (timers, @ctes
polling), at a time it chooses; the worker runs every service task. The CLI checks
(`dematflow archives verify`, `dematflow audit verify`) run as subprocesses.
"""

from __future__ import annotations

import email
import email.policy
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devstack.pki import DevPki
from devstack.s3 import SeaweedServer
from engine.bootstrap import Platform, build_operations, build_platform
from engine.domain.model import Actor, Case, CaseStatus, JournalEntry
from engine.jobs.actes_polling import PollReport, poll_transmissions
from engine.jobs.timers import fire_due_timers
from engine.operations.actes import tdt_config
from engine.runtime.clock import frozen_now
from engine.services import admin
from engine.services import cases as case_services
from engine.services.admin import deploy_directory
from engine.services.archives.exports import export_package_dip
from engine.services.archives.setup import archive_setup
from engine.services.documents import add_case_document
from engine.services.messages import MessageOrigin
from engine.services.steps import load_case
from engine.settings import (
    ActesSettings,
    BrokerSettings,
    PKISettings,
    Settings,
    SmtpSettings,
)
from engine.worker.app import connect_platform
from tests.engine.support import luhn_siren
from tests.fixtures.prefecture import Simulator
from tests.fixtures.processes import Process, run_dematflow
from tests.fixtures.processes import worker as start_worker
from tests.fixtures.services import BROKER_PREFIX
from tests.fixtures.smtp import SmtpServer

PARIS = ZoneInfo("Europe/Paris")
SIREN = luhn_siren("21340017")
TENANT_NAME = "Commune de Saint-Exemple"
USERS = (
    # login, display name (the élus are signers of the session's dev PKI), roles
    ("agent", "Claire Agent", ("agent",)),
    ("maire", "Marie Dupont", ("elu",)),
    ("archiviste", "Paul Archiviste", ("archiviste",)),
)
WAIT_SECONDS = 120.0
"""Longest wait for the worker (its start-up included): generous, the CI machine is shared."""
OPEN_JOB_STATES = ("pending", "sent", "running")
SYSTEM = Actor.system("e2e")


def actor(login: str) -> Actor:
    """The user `login` as the web API would see them (`user:<login>`, their roles)."""
    name, roles = next((n, r) for lg, n, r in USERS if lg == login)
    return Actor(f"user:{login}", frozenset(roles), name)


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Stack:
    """The platform as the test drives it, and the services around it."""

    platform: Platform
    settings: Settings
    worker: Process
    smtp: SmtpServer
    prefecture: Simulator
    pki: DevPki
    tmp: Path
    tenant: str = SIREN
    timings: dict[str, float] = field(default_factory=dict)

    # -- users and messages -------------------------------------------------------------------

    def start(
        self, procedure: str, data: dict[str, Any] | None = None, login: str = "agent"
    ) -> Case:
        with self.platform.uow() as uow:
            case = case_services.start_case(
                uow,
                tenant=self.tenant,
                procedure=procedure,
                data=data or {},
                actor=actor(login),
                now=self.platform.clock(),
            )
            uow.commit()
        return case

    def ready(self, case: Case) -> dict[str, uuid.UUID]:
        """The human tasks the case waits for, by name."""
        with self.platform.uow() as uow:
            return {t.name: t.id for t in uow.cases.human_tasks(self.tenant, case_id=case.id)}

    def complete(self, case: Case, task: str, data: dict[str, Any], login: str = "agent") -> Case:
        """Complete `task` as `login` (form validated as for the web API); waits for it first."""
        self.wait(lambda: task in self.ready(case), f"the task {task}", case)
        with self.platform.uow() as uow:
            updated = case_services.complete_task(
                uow,
                tenant=self.tenant,
                case_id=case.id,
                task_id=self.ready(case)[task],
                data=data,
                actor=actor(login),
                now=self.platform.clock(),
            )
            uow.commit()
        return updated

    def deliver(
        self,
        message: str,
        correlation: str | None,
        payload: dict[str, Any],
        *,
        at: datetime | None = None,
    ) -> Case:
        """An outside message (e.g. a bid from the buyer's profile) delivered to the waiting case."""
        now = at or self.platform.clock()
        with frozen_now(now), self.platform.uow() as uow:
            case = case_services.deliver_message(
                uow,
                tenant=self.tenant,
                message=message,
                correlation=correlation,
                payload=payload,
                origin=MessageOrigin.connector(SYSTEM),
                now=now,
            )
            uow.commit()
        return case

    def upload(self, case: Case, name: str, content: bytes, login: str = "agent") -> dict[str, Any]:
        """A PDF a user adds to the case (the web upload's checks), as a form's reference."""
        with self.platform.uow() as uow:
            stored = add_case_document(
                uow,
                tenant=self.tenant,
                case_id=case.id,
                name=name,
                content=content,
                actor=actor(login),
                now=self.platform.clock(),
                max_bytes=self.settings.max_upload_bytes,
            )
            uow.commit()
        return {
            "id": str(stored.id),
            "nom": stored.name,
            "sha256": stored.sha256,
            "taille": stored.size,
        }

    # -- the scheduler's periodic jobs, at a time the test chooses ------------------------------

    def fire_timers(self, at: datetime) -> int:
        """What beat's timer job does, as if it ran at `at`; the next steps go to the worker."""
        with frozen_now(at):
            return fire_due_timers(self.platform.uow, now=at)

    def poll_prefecture(self) -> PollReport:
        """What beat's @ctes polling job does: acknowledgements resume the waiting cases."""
        return poll_transmissions(
            self.platform.uow, tdt_config(self.settings.actes), now=self.platform.clock()
        )

    # -- waiting for the worker ---------------------------------------------------------------

    def wait(self, condition: Callable[[], bool], what: str, case: Case | None = None) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if condition():
                return
            self.worker.check_alive()
            if case is not None and self.case(case).status == CaseStatus.ERROR:
                raise AssertionError(
                    f"case in error while waiting for {what}: {self.case(case).error}"
                )
            time.sleep(0.1)
        raise AssertionError(
            f"timed out waiting for {what}; data: {self.data(case) if case else ''}"
        )

    def idle(self, case: Case) -> bool:
        with self.platform.uow() as uow:
            jobs = uow.jobs.for_case(self.tenant, case.id)
        return all(j.state.value not in OPEN_JOB_STATES for j in jobs)

    def settle(self, case: Case) -> Case:
        """Wait until the worker has run every job of the case (jobs that start jobs too)."""
        self.wait(lambda: self.idle(case), "the worker to finish the case's jobs", case)
        current = self.case(case)
        with self.platform.uow() as uow:
            failed = [
                j
                for j in uow.jobs.for_case(self.tenant, case.id)
                if j.state.value in ("failed", "dead")
            ]
        assert current.status != CaseStatus.ERROR, f"case in error: {current.error}"
        assert not failed, f"failed jobs: {[(j.operation, j.state.value) for j in failed]}"
        return current

    def wait_completed(self, case: Case) -> Case:
        self.wait(lambda: self.case(case).status == CaseStatus.COMPLETED, "the case to end", case)
        return self.case(case)

    # -- reading state ------------------------------------------------------------------------

    def case(self, case: Case) -> Case:
        with self.platform.uow() as uow:
            return uow.cases.get(self.tenant, case.id)

    def data(self, case: Case) -> dict[str, Any]:
        with self.platform.uow() as uow:
            return dict(load_case(uow, self.tenant, case.id).runtime.data)

    def journal(self, case: Case, kind: str | None = None) -> list[JournalEntry]:
        with self.platform.uow() as uow:
            entries = uow.journal.for_case(self.tenant, case.id)
        return [e for e in entries if kind is None or e.kind == kind]

    def document_bytes(self, reference: dict[str, Any]) -> bytes:
        with self.platform.uow() as uow:
            document = uow.documents.get(self.tenant, uuid.UUID(str(reference["id"])))
            return uow.documents.content(document)

    def mails_to(self, address: str) -> list[EmailMessage]:
        """Messages the SMTP server received for `address`, oldest first, parsed."""
        return [
            email.message_from_bytes(m.data, _class=EmailMessage, policy=email.policy.default)
            for m in list(self.smtp.received)
            if address in m.recipients
        ]

    # -- the command line, as an operator or an archivist runs it ------------------------------

    def cli(self, *args: str) -> CliResult:
        started = time.monotonic()
        completed = run_dematflow(self.settings, *args)
        self.timings[f"cli {args[0]} {args[1]}"] = time.monotonic() - started
        return CliResult(completed.returncode, completed.stdout, completed.stderr)

    def export_package(self, package_id: str) -> Path:
        """The package's DIP zip, as the archivist downloads it (journaled)."""
        target = self.tmp / f"{package_id}.zip"
        with self.platform.uow() as uow:
            export_package_dip(
                uow,
                archive_setup(self.settings),
                self.tenant,
                package_id,
                target,
                actor=actor("archiviste"),
                now=self.platform.clock(),
            )
            uow.commit()
        return target

    def assert_archive_and_journal_verify(self, package_id: str) -> None:
        """Both CLI checks at once (each subprocess mostly waits on imports and I/O)."""
        with ThreadPoolExecutor(max_workers=2) as pool:
            archive = pool.submit(self.assert_archive_verifies, package_id)
            journal = pool.submit(self.assert_journal_verifies)
            archive.result()
            journal.result()

    def assert_archive_verifies(self, package_id: str) -> str:
        """`dematflow archives verify` on the exported package exits 0; returns its output."""
        zipped = self.export_package(package_id)
        result = self.cli(
            "archives",
            "verify",
            str(zipped),
            "--package-id",
            package_id,
            "--trust-root",
            str(self.pki.root_cert_path),
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "paquet intègre" in result.stdout
        return result.stdout

    def assert_journal_verifies(self) -> str:
        """`dematflow audit verify` on the tenant's hash-chained journal exits 0."""
        result = self.cli("audit", "verify", "--tenant", self.tenant)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "journal intègre" in result.stdout
        return result.stdout


def _deploy_and_seed(settings: Settings) -> None:
    setup = build_platform(settings)
    try:
        with setup.uow() as uow:
            deploy_directory(
                uow,
                settings.processes_dir,
                operations=build_operations(settings),
                now=datetime.now(UTC),
            )
            uow.commit()
        with setup.uow() as uow:
            now = datetime.now(UTC)
            admin.create_tenant(uow, siren=SIREN, name=TENANT_NAME, actor=SYSTEM, now=now)
            for login, name, roles in USERS:
                admin.create_user(
                    uow,
                    username=login,
                    display_name=name,
                    password=None,
                    email=f"{login}@saint-exemple.fr",
                    tenant=SIREN,
                    roles=roles,
                    actor=SYSTEM,
                    now=now,
                )
            uow.commit()
    finally:
        setup.db.dispose()


@pytest.fixture
def stack(
    pg_database_url: str,
    redis_url: str,
    tmp_path: Path,
    dev_pki: DevPki,
    s3_server: SeaweedServer,
    smtp_server: SmtpServer,
    prefecture: Simulator,
) -> Iterator[Stack]:
    """The whole platform on PostgreSQL, with a real worker; see the module docstring."""
    tls = prefecture.pki
    assert tls is not None
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=pg_database_url,
        secret_key=secrets.token_urlsafe(24),
        broker=BrokerSettings(
            # a namespace per test: a job left in the queue by an earlier test is never taken
            url=redis_url,
            visibility_timeout=60,
            key_prefix=f"{BROKER_PREFIX}{secrets.token_hex(3)}:",
        ),
        storage=s3_server.storage_settings(f"e2e{secrets.token_hex(4)}"),
        pki=PKISettings(dev_dir=dev_pki.directory),
        smtp=SmtpSettings(
            host=smtp_server.host,
            port=smtp_server.port,
            sender="mairie@saint-exemple.fr",
            sender_name=TENANT_NAME,
        ),
        actes=ActesSettings(
            base_url=prefecture.base_url,
            client_cert=tls.client_cert,
            client_key=tls.client_key,
            ca_bundle=tls.ca,
            timeout_seconds=5.0,
        ),
    )
    _deploy_and_seed(settings)
    smtp_server.clear()  # the server lives for the session: keep this test's mail only
    _app, platform = connect_platform(settings)
    worker = start_worker(settings, tmp_path / "worker.log")
    stack = Stack(platform, settings, worker, smtp_server, prefecture, dev_pki, tmp_path)
    try:
        yield stack
    finally:
        worker.stop()
        platform.db.dispose()
