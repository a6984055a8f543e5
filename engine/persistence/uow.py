"""Unit of work: one transaction, repositories bound to it, jobs dispatched after commit."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy import Connection, Engine, text

from engine.persistence.archive_repositories import ArchiveRepository
from engine.persistence.connector_repositories import (
    ActesRepository,
    MailRepository,
    PublicationRepository,
    WebhookRepository,
)
from engine.persistence.council_repositories import CouncilRepository
from engine.persistence.db import READ_ONLY
from engine.persistence.delegation_repositories import DelegationRepository
from engine.persistence.person_search_repositories import PersonSearchRepository
from engine.persistence.personal_data_repositories import PersonalDataRepository
from engine.persistence.public_repositories import PublicRequestRepository
from engine.persistence.repositories import (
    CaseRepository,
    DocumentRepository,
    JobRepository,
    JournalRepository,
    LoginAttemptRepository,
    SpecRepository,
    TenantRepository,
    TimestampRenewalRepository,
    UserRepository,
)
from engine.persistence.sae_repositories import SaeRepository
from engine.persistence.security_repositories import (
    LoginFailureRepository,
    SecondFactorRepository,
)
from engine.persistence.tenant_repositories import TenantAdminRepository
from engine.persistence.version_repositories import VersionRepository

log = logging.getLogger(__name__)

JobDispatcher = Callable[[Sequence[tuple[uuid.UUID, str]]], None]
"""Hands (job id, operation) pairs to the broker; called only after a successful commit."""

JournalSealer = Callable[[str], None]
"""Seals a tenant's journal (Merkle seal, timestamped, stored locked) after a commit."""


class UnitOfWork:
    def __init__(
        self,
        engine: Engine,
        dispatch: JobDispatcher | None = None,
        sealer: JournalSealer | None = None,
        *,
        read_only: bool = False,
    ) -> None:
        """`read_only`: a unit that only reads and may not commit; on SQLite it does not take
        the writer lock (a per-request read must not queue behind a long write)."""
        self._engine = engine
        self._read_only = read_only
        self._dispatch = dispatch
        self._sealer = sealer
        self.journals_to_seal: set[str] = set()
        self._connection: Connection | None = None
        self._committed = False
        self.jobs_to_dispatch: list[tuple[uuid.UUID, str]] = []

    def __enter__(self) -> UnitOfWork:
        self._connection = self._engine.connect()
        if self._read_only:
            self._connection.execution_options(**{READ_ONLY: True})
        self._transaction = self._connection.begin()
        conn = self._connection
        self.tenants = TenantRepository(conn)
        self.users = UserRepository(conn)
        self.specs = SpecRepository(conn)
        self.cases = CaseRepository(conn)
        self.jobs = JobRepository(conn, self.jobs_to_dispatch)
        self.journal = JournalRepository(conn)
        self.documents = DocumentRepository(conn)
        self.delegations = DelegationRepository(conn)
        self.actes = ActesRepository(conn)
        self.mails = MailRepository(conn)
        self.publications = PublicationRepository(conn)
        self.webhooks = WebhookRepository(conn)
        self.archives = ArchiveRepository(conn)
        self.timestamp_renewals = TimestampRenewalRepository(conn)
        self.tenant_admin = TenantAdminRepository(conn)
        self.council = CouncilRepository(conn)
        self.login_attempts = LoginAttemptRepository(conn)
        self.login_failures = LoginFailureRepository(conn)
        self.second_factors = SecondFactorRepository(conn)
        self.public_requests = PublicRequestRepository(conn)
        self.versions = VersionRepository(conn)
        self.sae = SaeRepository(conn)
        self.personal_data = PersonalDataRepository(conn)
        self.person_search = PersonSearchRepository(conn)
        return self

    @property
    def connection(self) -> Connection:
        assert self._connection is not None, "unit of work not entered"
        return self._connection

    def database_now(self) -> datetime | None:
        """The database server's clock (PostgreSQL: the time this statement started, aware,
        UTC), one for every process of a deployment whatever their own clocks say; None on
        SQLite, whose processes share the machine and its clock."""
        if self.connection.dialect.name != "postgresql":
            return None
        value = self.connection.execute(text("SELECT statement_timestamp()")).scalar_one()
        return value.astimezone(UTC) if isinstance(value, datetime) else None

    def commit(self) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        if self._transaction.is_active:
            self._transaction.commit()
        elif self.connection.in_transaction():
            # Written after an earlier commit of this unit (the connection began anew): a
            # request may commit a security record (a code used up) before its own changes.
            self.connection.commit()
        self._committed = True
        pending, self.jobs_to_dispatch[:] = list(self.jobs_to_dispatch), []
        if pending and self._dispatch is not None:
            try:
                self._dispatch(pending)
            except Exception as exc:
                # The step is committed, its jobs with it (the outbox): failing the request now
                # would tell the user it was not. The outbox relay sends them once the broker
                # is back.
                log.warning(
                    "broker unavailable, %d job(s) left to the outbox relay (%s): %s",
                    len(pending),
                    ", ".join(str(job_id) for job_id, _ in pending),
                    exc,
                )
        to_seal, self.journals_to_seal = sorted(self.journals_to_seal), set()
        if self._sealer is not None:
            for tenant in to_seal:
                self._sealer(tenant)

    def rollback(self) -> None:
        """Undo what this unit wrote since it began (or last committed), jobs and seals asked
        for included, and go on in a new transaction: a refused form is shown again from what
        is stored, with nothing of the refused attempt."""
        if self._transaction.is_active:
            self._transaction.rollback()
        elif self.connection.in_transaction():
            self.connection.rollback()
        self.jobs_to_dispatch.clear()
        self.journals_to_seal.clear()
        self._transaction = self.connection.begin()

    def seal_journal_after_commit(self, tenant: str) -> None:
        """Ask for a seal of the tenant's journal once this unit commits (when a sealer is set)."""
        self.journals_to_seal.add(tenant)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed and self._transaction.is_active:
                self._transaction.rollback()
        finally:
            assert self._connection is not None
            self._connection.close()
            self._connection = None


UnitOfWorkFactory = Callable[[], UnitOfWork]
