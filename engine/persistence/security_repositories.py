"""Repositories of the platform's own security: consecutive login failures, second factors
(TOTP secrets, recovery codes) and the tenants' second-factor requirements."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from engine.domain.times import assume_utc
from engine.persistence import tables as t
from engine.persistence import tables_security as ts
from engine.persistence import tables_tenant as tt

__all__ = ["LoginFailureRepository", "SecondFactorRepository"]


def _upsert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


class LoginFailureRepository:
    """Consecutive failed logins per key, with the time of the last one."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, key: str) -> tuple[int, datetime] | None:
        c = ts.login_failures.c
        row = self.conn.execute(select(c.failures, c.last_failure_at).where(c.key == key)).first()
        return None if row is None else (int(row.failures), assume_utc(row.last_failure_at))

    def fail(self, key: str, now: datetime) -> None:
        """One more consecutive failure (atomic upsert)."""
        table = ts.login_failures
        base = _upsert(self.conn, table).values(key=key, failures=1, last_failure_at=now)
        self.conn.execute(
            base.on_conflict_do_update(
                index_elements=["key"],
                set_={"failures": table.c.failures + 1, "last_failure_at": now},
            )
        )

    def clear(self, key: str) -> None:
        self.conn.execute(delete(ts.login_failures).where(ts.login_failures.c.key == key))

    def purge(self, before: datetime) -> None:
        """Forget failures older than `before` (their delay has long run out)."""
        table = ts.login_failures
        self.conn.execute(delete(table).where(table.c.last_failure_at < before))


class SecondFactorRepository:
    """TOTP second factors, their recovery codes and the tenants' requirements."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, user_id: uuid.UUID) -> Row[Any] | None:
        table = ts.second_factors
        return self.conn.execute(select(table).where(table.c.user_id == user_id)).first()

    def _set(self, user_id: uuid.UUID, now: datetime, **values: Any) -> None:
        table = ts.second_factors
        base = _upsert(self.conn, table).values(user_id=user_id, updated_at=now, **values)
        self.conn.execute(
            base.on_conflict_do_update(
                index_elements=["user_id"], set_={"updated_at": now, **values}
            )
        )

    def start(self, user_id: uuid.UUID, secret: str, now: datetime) -> None:
        """A new, unconfirmed secret (enrolment); a confirmed one is replaced only by the
        caller's choice."""
        self._set(user_id, now, secret=secret, confirmed_at=None, last_step=None)

    def confirm(self, user_id: uuid.UUID, step: int, now: datetime) -> None:
        self._set(user_id, now, confirmed_at=now, last_step=step)

    def use_step(self, user_id: uuid.UUID, step: int) -> bool:
        """Record `step` as used; False if it or a later one already was (a replay)."""
        c = ts.second_factors.c
        result = self.conn.execute(
            update(ts.second_factors)
            .where(c.user_id == user_id, or_(c.last_step.is_(None), c.last_step < step))
            .values(last_step=step)
        )
        return int(result.rowcount) == 1

    def remove(self, user_id: uuid.UUID, now: datetime) -> None:
        """Forget the secret and the recovery codes (an admin's demand stays)."""
        self._set(user_id, now, secret=None, confirmed_at=None, last_step=None)
        self.replace_codes(user_id, ())

    def demand(self, user_id: uuid.UUID, by: str, now: datetime) -> None:
        self._set(user_id, now, demanded_by=by, demanded_at=now)

    def replace_codes(self, user_id: uuid.UUID, hashes: Iterable[str]) -> None:
        table = ts.second_factor_recovery_codes
        self.conn.execute(delete(table).where(table.c.user_id == user_id))
        rows = [{"user_id": user_id, "code_hash": h, "used_at": None} for h in hashes]
        if rows:
            self.conn.execute(insert(table), rows)

    def use_code(self, user_id: uuid.UUID, code_hash: str, now: datetime) -> bool:
        """Mark an unused recovery code used; False when there is no such unused code."""
        c = ts.second_factor_recovery_codes.c
        result = self.conn.execute(
            update(ts.second_factor_recovery_codes)
            .where(c.user_id == user_id, c.code_hash == code_hash, c.used_at.is_(None))
            .values(used_at=now)
        )
        return int(result.rowcount) == 1

    def codes_left(self, user_id: uuid.UUID) -> int:
        c = ts.second_factor_recovery_codes.c
        query = select(func.count()).where(c.user_id == user_id, c.used_at.is_(None))
        return int(self.conn.execute(query).scalar_one())

    def policy(self, tenant: str) -> frozenset[str]:
        c = ts.second_factor_requirements.c
        return frozenset(self.conn.execute(select(c.role).where(c.tenant == tenant)).scalars())

    def set_policy(self, tenant: str, roles: frozenset[str], by: str, now: datetime) -> None:
        table = ts.second_factor_requirements
        self.conn.execute(delete(table).where(table.c.tenant == tenant))
        rows = [
            {"tenant": tenant, "role": r, "updated_by": by, "updated_at": now}
            for r in sorted(roles)
        ]
        if rows:
            self.conn.execute(insert(table), rows)

    def _required(self, user_id: Any) -> Any:
        m, r, s = t.memberships.c, ts.second_factor_requirements.c, tt.tenant_suspensions.c
        suspended = select(s.tenant).where(s.user_id == user_id)
        return (
            select(m.tenant, m.role)
            .join(ts.second_factor_requirements, and_(r.tenant == m.tenant, r.role == m.role))
            .where(m.user_id == user_id, m.tenant.not_in(suspended))
        )

    def required_by(self, user_id: uuid.UUID) -> list[tuple[str, str]]:
        """(tenant, role) of the member's active memberships whose tenant requires a second
        factor for that role."""
        return [(row.tenant, row.role) for row in self.conn.execute(self._required(user_id))]

    def gate(self, user_id: uuid.UUID) -> tuple[bool, bool]:
        """(has a confirmed second factor, must have one), in one statement: read on every
        request."""
        f = ts.second_factors.c
        mine = select(f.user_id).where(f.user_id == user_id)
        query = select(
            exists(mine.where(f.confirmed_at.is_not(None))).label("enrolled"),
            or_(
                exists(mine.where(f.demanded_at.is_not(None))),
                exists(self._required(user_id)),
            ).label("required"),
        )
        row = self.conn.execute(query).one()
        return bool(row.enrolled), bool(row.required)
