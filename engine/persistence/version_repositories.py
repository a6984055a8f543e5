"""Procedure versions (numbers, deployments per tenant) and the migrations of running cases."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, exists, false, func, insert, or_, select, update

from engine.domain.model import CaseStatus
from engine.domain.times import assume_utc as _aware
from engine.domain.versions import CaseMigration, KeptState, ProcedureVersion
from engine.persistence import tables as t
from engine.persistence.tables_versions import (
    case_migrations,
    procedure_deployments,
    procedure_versions,
)


def visible_to(tenant: str | None) -> ColumnElement[bool]:
    """Definitions new cases of `tenant` may start on (None: deployed for every tenant)."""
    spec = t.process_specs.c.hash
    d = procedure_deployments.c
    any_row = exists().where(d.spec_hash == spec)
    for_all = exists().where(d.spec_hash == spec, d.tenant.is_(None))
    mine = exists().where(d.spec_hash == spec, d.tenant == tenant) if tenant else false()
    return or_(~any_row, for_all, mine)


class VersionRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # Versions and deployments -----------------------------------------------------------

    def versions(self, procedure: str | None = None) -> list[ProcedureVersion]:
        """Every deployed definition (of `procedure`), newest first within a procedure."""
        p, v = t.process_specs.c, procedure_versions.c
        query = (
            select(p.procedure, p.hash, p.title, p.deployed_at, v.number)
            .outerjoin(procedure_versions, v.spec_hash == p.hash)
            .order_by(p.procedure, p.deployed_at.desc(), p.hash)
        )
        if procedure is not None:
            query = query.where(p.procedure == procedure)
        rows = list(self.conn.execute(query))
        scopes = self._scopes([r.hash for r in rows])
        return [
            ProcedureVersion(
                r.procedure, r.hash, r.number, r.title, _aware(r.deployed_at), scopes.get(r.hash)
            )
            for r in rows
        ]

    def _scopes(self, hashes: list[str]) -> dict[str, tuple[str, ...] | None]:
        """Hash → tenants it is deployed for; absent or None: every tenant."""
        if not hashes:
            return {}
        d = procedure_deployments.c
        tenants: dict[str, set[str]] = {}
        for_all: set[str] = set()
        rows = self.conn.execute(select(d.spec_hash, d.tenant).where(d.spec_hash.in_(hashes)))
        for row in rows:
            if row.tenant is None:
                for_all.add(row.spec_hash)
            else:
                tenants.setdefault(row.spec_hash, set()).add(row.tenant)
        return {h: tuple(sorted(s)) for h, s in tenants.items() if h not in for_all}

    def record_deployment(
        self, *, spec_hash: str, procedure: str, tenant: str | None, by: str, now: datetime
    ) -> tuple[int, bool]:
        """Number the definition if it has no number yet and record that it is deployed for
        `tenant` (None: every tenant). Returns its number and False when it already was."""
        v, d = procedure_versions.c, procedure_deployments.c
        number = self.conn.execute(select(v.number).where(v.spec_hash == spec_hash)).scalar()
        if number is None:
            highest = self.conn.execute(
                select(func.max(v.number)).where(v.procedure == procedure)
            ).scalar()
            number = int(highest or 0) + 1
            self.conn.execute(
                insert(procedure_versions).values(
                    spec_hash=spec_hash, procedure=procedure, number=number, created_at=now
                )
            )
        scopes = {
            r.tenant for r in self.conn.execute(select(d.tenant).where(d.spec_hash == spec_hash))
        }
        if None in scopes or tenant in scopes:
            return int(number), False
        self.conn.execute(
            insert(procedure_deployments).values(
                id=uuid.uuid4(), spec_hash=spec_hash, tenant=tenant, deployed_by=by, deployed_at=now
            )
        )
        return int(number), True

    # Running cases ------------------------------------------------------------------------

    def running_cases(
        self, procedure: str, tenants: Iterable[str] | None, *, limit: int = 500
    ) -> list[Any]:
        """Running cases of `procedure` (in `tenants`): tenant, id, reference, title, spec_hash,
        version; oldest first."""
        c = t.cases.c
        query = (
            select(c.tenant, c.id, c.reference, c.title, c.spec_hash, c.version)
            .where(c.procedure == procedure, c.status == CaseStatus.RUNNING.value)
            .order_by(c.created_at, c.id)
            .limit(limit)
        )
        if tenants is not None:
            query = query.where(c.tenant.in_(sorted(set(tenants))))
        return list(self.conn.execute(query))

    def running_counts(self) -> dict[tuple[str, str, str], int]:
        """(tenant, procedure, spec hash) → number of running cases."""
        c = t.cases.c
        rows = self.conn.execute(
            select(c.tenant, c.procedure, c.spec_hash, func.count())
            .where(c.status == CaseStatus.RUNNING.value)
            .group_by(c.tenant, c.procedure, c.spec_hash)
        )
        return {(r[0], r[1], r[2]): int(r[3]) for r in rows}

    def set_case_spec(self, tenant: str, case_id: uuid.UUID, spec_hash: str, version: int) -> None:
        """Point the case at another definition, at the row version just written."""
        c = t.cases.c
        done = self.conn.execute(
            update(t.cases)
            .where(c.tenant == tenant, c.id == case_id, c.version == version)
            .values(spec_hash=spec_hash)
        )
        if done.rowcount != 1:
            raise RuntimeError("dossier introuvable à la version écrite")

    # Migrations ---------------------------------------------------------------------------

    def add_migration(self, migration: CaseMigration, kept: KeptState) -> None:
        self.conn.execute(
            insert(case_migrations).values(
                id=migration.id,
                case_id=migration.case_id,
                tenant=migration.tenant,
                from_hash=migration.from_hash,
                to_hash=migration.to_hash,
                previous_version=migration.previous_version,
                migrated_version=migration.migrated_version,
                previous_status=kept.status,
                previous_format=kept.format,
                previous_state=kept.header,
                previous_tasks={k: list(v) for k, v in kept.tasks.items()},
                migrated_by=migration.migrated_by,
                migrated_at=migration.migrated_at,
            )
        )

    def last_migration(self, tenant: str, case_id: uuid.UUID) -> CaseMigration | None:
        m = case_migrations.c
        row = self.conn.execute(
            select(case_migrations)
            .where(m.tenant == tenant, m.case_id == case_id)
            .order_by(m.migrated_at.desc(), m.id)
            .limit(1)
        ).first()
        return _migration(row) if row is not None else None

    def kept_state(self, migration_id: uuid.UUID) -> KeptState:
        m = case_migrations.c
        row = self.conn.execute(
            select(m.previous_status, m.previous_format, m.previous_state, m.previous_tasks).where(
                m.id == migration_id
            )
        ).one()
        tasks = {str(k): (str(v[0]), str(v[1])) for k, v in dict(row.previous_tasks).items()}
        return KeptState(row.previous_status, row.previous_format, row.previous_state, tasks)

    def mark_rolled_back(self, migration_id: uuid.UUID, *, by: str, now: datetime) -> None:
        m = case_migrations.c
        self.conn.execute(
            update(case_migrations)
            .where(m.id == migration_id)
            .values(rolled_back_by=by, rolled_back_at=now)
        )

    def migrations(self, *, limit: int = 200) -> list[CaseMigration]:
        m = case_migrations.c
        rows = self.conn.execute(
            select(case_migrations, t.cases.c.reference)
            .join(t.cases, t.cases.c.id == m.case_id)
            .order_by(m.migrated_at.desc(), m.id)
            .limit(limit)
        )
        return [dataclasses.replace(_migration(r), reference=r.reference) for r in rows]


def _migration(row: Any) -> CaseMigration:
    return CaseMigration(
        id=row.id,
        case_id=row.case_id,
        tenant=row.tenant,
        from_hash=row.from_hash,
        to_hash=row.to_hash,
        previous_version=row.previous_version,
        migrated_version=row.migrated_version,
        migrated_by=row.migrated_by,
        migrated_at=_aware(row.migrated_at),
        rolled_back_by=row.rolled_back_by,
        rolled_back_at=_aware(row.rolled_back_at) if row.rolled_back_at is not None else None,
    )
