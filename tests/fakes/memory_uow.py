"""An in-memory implementation of engine.ports.UnitOfWork, for the fast test tier.

`MemoryDatabase` plays the database: seed it (`add_tenant`, `add_user`, `deploy`), then open
units of work with `db.uow()` wherever a service wants an `engine.ports.UnitOfWork`. A unit
works on a deep copy of the committed state taken when it is entered: `commit()` publishes the
copy, leaving without a commit discards it. Jobs queued inside are handed to `dispatch` (and
recorded in `db.dispatched`) only after the commit, journals to seal likewise, as the SQL unit
does. Units do not isolate each other beyond that: the last commit wins, so tests that need a
concurrent writer to lose belong to the SQL tiers.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType

from engine.domain.model import Case, CaseStatus
from engine.runtime.facade import CaseRuntime
from engine.runtime.specs import parsed_from_files, read_procedure_dir
from engine.services.steps import load_process, save_step
from tests.fakes.memory_repositories import (
    MemoryCases,
    MemoryDelegations,
    MemoryDocuments,
    MemoryJobs,
    MemoryJournal,
    MemorySpec,
    MemorySpecs,
    MemoryState,
    MemoryUser,
    MemoryUsers,
)

Dispatch = Callable[[Sequence[tuple[uuid.UUID, str]]], None]


class MemoryDatabase:
    """The committed state shared by the units of work opened on it."""

    def __init__(self, dispatch: Dispatch | None = None) -> None:
        self.state = MemoryState()
        self.dispatch = dispatch
        self.dispatched: list[tuple[uuid.UUID, str]] = []
        """Every (job id, operation) handed over after a commit, in order."""
        self.sealed: list[str] = []
        """Tenants whose journal a committed unit asked to seal."""

    def uow(self) -> MemoryUnitOfWork:
        """A new unit of work (the factory the services and jobs take)."""
        return MemoryUnitOfWork(self)

    # -- seeding, as the administration services would have done it ----------------------

    def add_tenant(self, siren: str) -> None:
        self.state.journal.setdefault(siren, [])

    def add_user(
        self, username: str, display_name: str, *, tenant: str, roles: Collection[str] = ()
    ) -> MemoryUser:
        user = MemoryUser(uuid.uuid4(), username, display_name)
        self.state.users[username] = user
        if roles:
            self.state.memberships[(user.id, tenant)] = set(roles)
        return user

    def deploy(self, directory: Path) -> str:
        """Deploy a procedure folder (validated like `processes deploy`); returns its hash."""
        bundle = read_procedure_dir(directory)
        parsed = parsed_from_files(bundle.hash, bundle.files)  # parsed once per test session
        self.state.specs[bundle.hash] = MemorySpec(
            bundle.procedure, parsed.bundle.title, dict(bundle.files)
        )
        return bundle.hash


class MemoryUnitOfWork:
    """One transaction over a `MemoryDatabase`; satisfies engine.ports.UnitOfWork."""

    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db
        self._state: MemoryState | None = None
        self.jobs_to_dispatch: list[tuple[uuid.UUID, str]] = []
        self.journals_to_seal: set[str] = set()

    def __enter__(self) -> MemoryUnitOfWork:
        self._state = state = copy.deepcopy(self._db.state)
        self.jobs_to_dispatch.clear()
        self.users = MemoryUsers(state)
        self.delegations = MemoryDelegations(state)
        self.journal = MemoryJournal(state)
        self.cases = MemoryCases(state)
        self.jobs = MemoryJobs(state, self.jobs_to_dispatch)
        self.documents = MemoryDocuments(state)
        self.specs = MemorySpecs(state)
        return self

    def commit(self) -> None:
        assert self._state is not None, "unit of work not entered"
        # The unit goes on with its copy, as a connection goes on after a commit.
        self._db.state = copy.deepcopy(self._state)
        pending, self.jobs_to_dispatch[:] = list(self.jobs_to_dispatch), []
        self._db.dispatched.extend(pending)
        if pending and self._db.dispatch is not None:
            self._db.dispatch(pending)
        to_seal, self.journals_to_seal = sorted(self.journals_to_seal), set()
        self._db.sealed.extend(to_seal)

    def seal_journal_after_commit(self, tenant: str) -> None:
        self.journals_to_seal.add(tenant)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # What was not committed is dropped with the copy, jobs and seals included.
        self._state = None
        self.jobs_to_dispatch.clear()
        self.journals_to_seal.clear()


def start_case(
    uow: MemoryUnitOfWork,
    *,
    tenant: str,
    spec_hash: str,
    data: dict[str, object],
    created_by: str,
    now: datetime,
    reference: str = "2026-000001",
) -> Case:
    """Start a case on a deployed spec as engine.services.cases.start_case does once it has
    chosen the spec from the tenant's catalogue (which the port does not cover)."""
    parsed = load_process(uow, spec_hash)
    runtime = CaseRuntime.start(parsed, dict(data))
    case = Case(
        id=uuid.uuid4(),
        tenant=tenant,
        procedure=parsed.bundle.procedure,
        spec_hash=spec_hash,
        reference=reference,
        title=str(data.get("objet") or parsed.bundle.title)[:500],
        status=CaseStatus.RUNNING,
        version=0,
        created_at=now,
        updated_at=now,
        created_by=created_by,
    )
    case = save_step(uow, case, runtime, now=now, expected_version=None)
    uow.journal.append(
        tenant=tenant,
        kind="case.started",
        case_id=case.id,
        actor=created_by,
        payload={"procedure": case.procedure, "spec": spec_hash, "reference": reference},
        now=now,
    )
    return case
