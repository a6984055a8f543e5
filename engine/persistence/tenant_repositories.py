"""A tenant's own administration: its members, procedure catalogue and settings. Every query is
scoped by tenant."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, insert, select, update

from engine.domain.tenant_records import Member, ProcedureChoice, SpecVersion
from engine.domain.times import assume_utc as _aware
from engine.persistence import tables as t
from engine.persistence.tables_tenant import tenant_procedures, tenant_settings, tenant_suspensions
from engine.persistence.version_repositories import visible_to


def _members(rows: list[Row[Any]]) -> list[Member]:
    grouped: dict[uuid.UUID, tuple[Row[Any], set[str]]] = {}
    for row in rows:
        grouped.setdefault(row.id, (row, set()))[1].add(row.role)
    return [
        Member(
            user_id=row.id,
            username=row.username,
            display_name=row.display_name,
            email=row.email,
            roles=frozenset(roles),
            suspended_at=_aware(row.suspended_at) if row.suspended_at is not None else None,
            suspended_by=row.suspended_by,
            account_active=bool(row.active),
        )
        for row, roles in grouped.values()
    ]


class TenantAdminRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # Members ---------------------------------------------------------------------------

    def _member_rows(self, tenant: str) -> Any:
        u, m, s = t.users.c, t.memberships.c, tenant_suspensions.c
        return (
            select(
                u.id,
                u.username,
                u.display_name,
                u.email,
                u.active,
                m.role,
                s.suspended_at,
                s.suspended_by,
            )
            .select_from(
                t.memberships.join(t.users, u.id == m.user_id).outerjoin(
                    tenant_suspensions, and_(s.tenant == m.tenant, s.user_id == m.user_id)
                )
            )
            .where(m.tenant == tenant)
        )

    def members(self, tenant: str) -> list[Member]:
        """Every member with their roles, in one statement whatever their number."""
        query = self._member_rows(tenant).order_by(t.users.c.username, t.memberships.c.role)
        return _members(list(self.conn.execute(query)))

    def member(self, tenant: str, user_id: uuid.UUID) -> Member | None:
        query = self._member_rows(tenant).where(t.memberships.c.user_id == user_id)
        found = _members(list(self.conn.execute(query)))
        return found[0] if found else None

    def lock_members(self, tenant: str) -> None:
        """Serialize changes to the tenant's members (row lock on the tenant; SQLite already
        serializes writing transactions): two admins demoting each other cannot both pass the
        last-admin check."""
        self.conn.execute(
            select(t.tenants.c.siren).where(t.tenants.c.siren == tenant).with_for_update()
        )

    def active_admins(self, tenant: str) -> set[uuid.UUID]:
        m, s = t.memberships.c, tenant_suspensions.c
        rows = self.conn.execute(
            select(m.user_id)
            .select_from(
                t.memberships.join(t.users, t.users.c.id == m.user_id).outerjoin(
                    tenant_suspensions, and_(s.tenant == m.tenant, s.user_id == m.user_id)
                )
            )
            .where(
                m.tenant == tenant,
                m.role == "admin",
                s.user_id.is_(None),
                t.users.c.active,
            )
        )
        return {r.user_id for r in rows}

    def other_tenants(self, user_id: uuid.UUID, tenant: str) -> list[str]:
        """Other tenants the user belongs to, deactivated there or not."""
        m = t.memberships.c
        rows = self.conn.execute(
            select(m.tenant).where(m.user_id == user_id, m.tenant != tenant).distinct()
        )
        return sorted(r.tenant for r in rows)

    def suspend(self, tenant: str, user_id: uuid.UUID, *, by: str, now: datetime) -> None:
        self.conn.execute(
            insert(tenant_suspensions).values(
                tenant=tenant, user_id=user_id, suspended_by=by, suspended_at=now
            )
        )

    def resume(self, tenant: str, user_id: uuid.UUID) -> None:
        s = tenant_suspensions.c
        self.conn.execute(
            delete(tenant_suspensions).where(s.tenant == tenant, s.user_id == user_id)
        )

    # Procedure catalogue ---------------------------------------------------------------

    def versions(self, tenant: str | None = None) -> list[SpecVersion]:
        """Every version of every procedure deployed for all tenants (or for `tenant`),
        newest first within a procedure."""
        p = t.process_specs.c
        rows = self.conn.execute(
            select(p.procedure, p.hash, p.title, p.deployed_at)
            .where(visible_to(tenant))
            .order_by(p.procedure, p.deployed_at.desc(), p.hash)
        )
        return [SpecVersion(r.procedure, r.hash, r.title, _aware(r.deployed_at)) for r in rows]

    def choices(self, tenant: str) -> dict[str, ProcedureChoice]:
        c = tenant_procedures.c
        rows = self.conn.execute(
            select(c.procedure, c.enabled, c.pinned_hash).where(c.tenant == tenant)
        )
        return {
            r.procedure: ProcedureChoice(r.procedure, bool(r.enabled), r.pinned_hash) for r in rows
        }

    def choice(self, tenant: str, procedure: str) -> ProcedureChoice | None:
        c = tenant_procedures.c
        row = self.conn.execute(
            select(c.procedure, c.enabled, c.pinned_hash).where(
                c.tenant == tenant, c.procedure == procedure
            )
        ).first()
        return ProcedureChoice(row.procedure, bool(row.enabled), row.pinned_hash) if row else None

    def set_choice(self, tenant: str, choice: ProcedureChoice, *, by: str, now: datetime) -> None:
        c = tenant_procedures.c
        values = {
            "enabled": choice.enabled,
            "pinned_hash": choice.pinned_hash,
            "updated_by": by,
            "updated_at": now,
        }
        done = self.conn.execute(
            update(tenant_procedures)
            .where(c.tenant == tenant, c.procedure == choice.procedure)
            .values(**values)
        )
        if done.rowcount == 0:
            self.conn.execute(
                insert(tenant_procedures).values(
                    tenant=tenant, procedure=choice.procedure, **values
                )
            )

    def spec(self, digest: str) -> Row[Any] | None:
        """A deployed definition's row (files not loaded), as `SpecRepository.latest` gives."""
        return self.conn.execute(
            select(t.process_specs).where(t.process_specs.c.hash == digest)
        ).first()

    def specs(self, digests: set[str]) -> list[Row[Any]]:
        if not digests:
            return []
        return list(
            self.conn.execute(
                select(t.process_specs).where(t.process_specs.c.hash.in_(sorted(digests)))
            )
        )

    # Settings --------------------------------------------------------------------------

    def settings(self, tenant: str) -> dict[str, Any]:
        c = tenant_settings.c
        row = self.conn.execute(select(c.settings).where(c.tenant == tenant)).first()
        return dict(row.settings) if row is not None else {}

    def save_settings(
        self, tenant: str, settings: dict[str, Any], *, by: str, now: datetime
    ) -> None:
        c = tenant_settings.c
        values = {"settings": settings, "updated_by": by, "updated_at": now}
        done = self.conn.execute(update(tenant_settings).where(c.tenant == tenant).values(**values))
        if done.rowcount == 0:
            self.conn.execute(insert(tenant_settings).values(tenant=tenant, **values))
