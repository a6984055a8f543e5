"""Repositories: the only code that writes SQL. Every tenant-owned query is scoped by tenant."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from engine.domain.archives import TimestampRenewal
from engine.domain.errors import Conflict, NotFound
from engine.domain.journal import GENESIS_HASH, entry_body, link_hash
from engine.domain.model import (
    Case,
    CaseStatus,
    Document,
    DumpedState,
    HumanTask,
    Job,
    JobState,
    JournalEntry,
    TaskRows,
    Tenant,
)
from engine.domain.task_access import InboxCase
from engine.domain.times import assume_utc as _aware
from engine.domain.training import REAL_CLOCK, TenantClock
from engine.persistence import tables as t
from engine.persistence import tables_renewals as tr
from engine.persistence import tables_security as ts
from engine.persistence import tables_tenant as tt
from engine.persistence.journal_records import JournalRecords, read_journal_records
from engine.persistence.version_repositories import visible_to


def _upsert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


# Statements on the hot path of a step, built once: constructing SQLAlchemy statements costs
# more than running them (measured in bench/bench_engine.py).
_SELECT_CASE_STATE = select(t.cases).where(
    t.cases.c.tenant == bindparam("tenant"), t.cases.c.id == bindparam("case_id")
)
_SELECT_CASE_TASKS = select(
    t.case_tasks.c.task_id, t.case_tasks.c.scope, t.case_tasks.c.body
).where(t.case_tasks.c.case_id == bindparam("case_id"))
_DELETE_CASE_TASKS = delete(t.case_tasks).where(
    t.case_tasks.c.case_id == bindparam("case_id"),
    t.case_tasks.c.task_id.in_(bindparam("task_ids", expanding=True)),
)
_DELETE_HUMAN_TASKS = delete(t.human_tasks).where(
    t.human_tasks.c.case_id == bindparam("case_id"),
    t.human_tasks.c.id.in_(bindparam("task_ids", expanding=True)),
)
_INSERT_HUMAN_TASKS = insert(t.human_tasks)
_LOCK_CASE = (
    select(t.cases.c.id)
    .where(t.cases.c.tenant == bindparam("tenant"), t.cases.c.id == bindparam("case_id"))
    .with_for_update(key_share=True)
)
_SELECT_HEAD_FOR_UPDATE = (
    select(t.journal_heads.c.seq, t.journal_heads.c.hash)
    .where(t.journal_heads.c.tenant == bindparam("tenant"))
    .with_for_update()
)
_INSERT_JOURNAL = insert(t.journal)
_UPDATE_HEAD = (
    update(t.journal_heads)
    .where(t.journal_heads.c.tenant == bindparam("b_tenant"))
    .values(seq=bindparam("b_seq"), hash=bindparam("b_hash"))
)
_UPDATE_CASE = update(t.cases).where(
    t.cases.c.id == bindparam("b_id"),
    t.cases.c.tenant == bindparam("b_tenant"),
    t.cases.c.version == bindparam("b_version"),
)
_UPSERTS: dict[str, Any] = {}


def _upsert_case_tasks(conn: Connection) -> Any:
    statement = _UPSERTS.get(conn.dialect.name)
    if statement is None:
        base = _upsert(conn, t.case_tasks)
        statement = base.on_conflict_do_update(
            index_elements=["case_id", "task_id"],
            set_={"scope": base.excluded.scope, "body": base.excluded.body},
        )
        _UPSERTS[conn.dialect.name] = statement
    return statement


_SELECT_CLOCK = select(t.tenants.c.training, t.tenants.c.clock_offset_seconds).where(
    t.tenants.c.siren == bindparam("siren")
)


def _clock(training: bool, offset_seconds: int) -> TenantClock:
    return TenantClock(bool(training), timedelta(seconds=int(offset_seconds)))


class TenantRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, tenant: Tenant, now: datetime) -> None:
        self.conn.execute(
            insert(t.tenants).values(siren=tenant.siren, name=tenant.name, created_at=now)
        )
        self.conn.execute(
            insert(t.journal_heads).values(tenant=tenant.siren, seq=0, hash=GENESIS_HASH)
        )

    def get(self, siren: str) -> Tenant | None:
        row = self.conn.execute(select(t.tenants).where(t.tenants.c.siren == siren)).first()
        return Tenant(row.siren, row.name) if row else None

    def all(self) -> list[Tenant]:
        rows = self.conn.execute(select(t.tenants).order_by(t.tenants.c.siren))
        return [Tenant(r.siren, r.name) for r in rows]

    def clock(self, siren: str) -> TenantClock:
        """The tenant's clock (the real one for an unknown tenant)."""
        row = self.conn.execute(_SELECT_CLOCK, {"siren": siren}).first()
        return _clock(row.training, row.clock_offset_seconds) if row else REAL_CLOCK

    def training_clocks(self) -> dict[str, TenantClock]:
        """Every training tenant's clock, by SIREN."""
        rows = self.conn.execute(
            select(t.tenants.c.siren, t.tenants.c.training, t.tenants.c.clock_offset_seconds)
            .where(t.tenants.c.training.is_(True))
            .order_by(t.tenants.c.siren)
        )
        return {r.siren: _clock(True, r.clock_offset_seconds) for r in rows}

    def set_clock(self, siren: str, clock: TenantClock) -> None:
        seconds = int(clock.offset.total_seconds())
        self.conn.execute(
            update(t.tenants)
            .where(t.tenants.c.siren == siren)
            .values(training=clock.training, clock_offset_seconds=seconds)
        )

    def next_counter(self, tenant: str, name: str) -> int:
        stmt = _upsert(self.conn, t.counters).values(tenant=tenant, name=name, value=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant", "name"], set_={"value": t.counters.c.value + 1}
        ).returning(t.counters.c.value)
        return int(self.conn.execute(stmt).scalar_one())


class UserRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self,
        *,
        username: str,
        display_name: str,
        email: str | None,
        password_hash: str | None,
        is_operator: bool,
        now: datetime,
        password_temporary: bool = False,
    ) -> uuid.UUID:
        user_id = uuid.uuid4()
        self.conn.execute(
            insert(t.users).values(
                id=user_id,
                username=username,
                display_name=display_name,
                email=email,
                password_hash=password_hash,
                password_temporary=password_temporary,
                is_operator=is_operator,
                active=True,
                created_at=now,
            )
        )
        return user_id

    def grant(self, user_id: uuid.UUID, tenant: str, role: str) -> None:
        exists = self.conn.execute(
            select(t.memberships).where(
                t.memberships.c.user_id == user_id,
                t.memberships.c.tenant == tenant,
                t.memberships.c.role == role,
            )
        ).first()
        if not exists:
            self.conn.execute(
                insert(t.memberships).values(user_id=user_id, tenant=tenant, role=role)
            )

    def by_username(self, username: str) -> Row[Any] | None:
        return self.conn.execute(select(t.users).where(t.users.c.username == username)).first()

    def by_id(self, user_id: uuid.UUID) -> Row[Any] | None:
        return self.conn.execute(select(t.users).where(t.users.c.id == user_id)).first()

    def by_email(self, email: str) -> list[Row[Any]]:
        """Accounts whose e-mail or login is `email` (case-insensitive); usually none or one."""
        email = email.lower()
        query = select(t.users).where(
            or_(func.lower(t.users.c.email) == email, t.users.c.username == email)
        )
        return list(self.conn.execute(query))

    def by_oidc_subject(self, issuer: str, subject: str) -> Row[Any] | None:
        """The account linked to this provider identity (`iss`, `sub`), if any."""
        i = t.oidc_identities.c
        return self.conn.execute(
            select(t.users)
            .join(t.oidc_identities, i.user_id == t.users.c.id)
            .where(i.issuer == issuer, i.subject == subject)
        ).first()

    def oidc_subject_of(self, user_id: uuid.UUID, issuer: str) -> str | None:
        i = t.oidc_identities.c
        return self.conn.execute(
            select(i.subject).where(i.user_id == user_id, i.issuer == issuer)
        ).scalar_one_or_none()

    def link_oidc(
        self, user_id: uuid.UUID, *, issuer: str, subject: str, siret: str | None, now: datetime
    ) -> None:
        self.conn.execute(
            insert(t.oidc_identities).values(
                issuer=issuer,
                subject=subject,
                user_id=user_id,
                siret=siret,
                created_at=now,
                last_login_at=now,
            )
        )

    def touch_oidc(self, *, issuer: str, subject: str, siret: str | None, now: datetime) -> None:
        i = t.oidc_identities.c
        self.conn.execute(
            update(t.oidc_identities)
            .where(i.issuer == issuer, i.subject == subject)
            .values(siret=siret, last_login_at=now)
        )

    def revoke(self, user_id: uuid.UUID, tenant: str, role: str) -> None:
        self.conn.execute(
            delete(t.memberships).where(
                t.memberships.c.user_id == user_id,
                t.memberships.c.tenant == tenant,
                t.memberships.c.role == role,
            )
        )

    def set_password_hash(
        self, user_id: uuid.UUID, password_hash: str, *, temporary: bool = False
    ) -> None:
        """A new password also ends every session and token issued with the old one; a
        temporary one (set by an admin) must be changed at the next login."""
        self.conn.execute(
            update(t.users)
            .where(t.users.c.id == user_id)
            .values(
                password_hash=password_hash,
                password_temporary=temporary,
                credential_version=t.users.c.credential_version + 1,
            )
        )

    def end_sessions(self, user_id: uuid.UUID) -> None:
        """Raise the credential version: every cookie and token issued before stops working."""
        self.conn.execute(
            update(t.users)
            .where(t.users.c.id == user_id)
            .values(credential_version=t.users.c.credential_version + 1)
        )

    def roles(self, user_id: uuid.UUID, tenant: str) -> frozenset[str]:
        """Roles that grant access: none while the member is deactivated in this tenant."""
        rows = self.conn.execute(
            select(t.memberships.c.role).where(
                t.memberships.c.user_id == user_id,
                t.memberships.c.tenant == tenant,
                ~_suspended(t.memberships.c.user_id, t.memberships.c.tenant),
            )
        )
        return frozenset(r.role for r in rows)

    def tenants_of(self, user_id: uuid.UUID) -> list[str]:
        rows = self.conn.execute(
            select(t.memberships.c.tenant)
            .where(
                t.memberships.c.user_id == user_id,
                ~_suspended(t.memberships.c.user_id, t.memberships.c.tenant),
            )
            .distinct()
        )
        return sorted(r.tenant for r in rows)


def _suspended(user_id: Any, tenant: Any) -> Any:
    """The member is deactivated in that tenant (see `tables_tenant.tenant_suspensions`)."""
    s = tt.tenant_suspensions.c
    return exists().where(s.user_id == user_id, s.tenant == tenant)


class SpecRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def save(
        self,
        *,
        digest: str,
        procedure: str,
        process_id: str,
        title: str,
        files: dict[str, bytes],
        now: datetime,
    ) -> bool:
        """Store a definition once; False when the same content was already deployed."""
        if self.conn.execute(
            select(t.process_specs.c.hash).where(t.process_specs.c.hash == digest)
        ).first():
            return False
        self.conn.execute(
            insert(t.process_specs).values(
                hash=digest,
                procedure=procedure,
                process_id=process_id,
                title=title,
                files=sorted(files),
                deployed_at=now,
            )
        )
        self.conn.execute(
            insert(t.process_spec_files),
            [
                {"spec_hash": digest, "name": name, "content": content}
                for name, content in files.items()
            ],
        )
        return True

    def files(self, digest: str) -> dict[str, bytes]:
        rows = self.conn.execute(
            select(t.process_spec_files).where(t.process_spec_files.c.spec_hash == digest)
        )
        files = {r.name: bytes(r.content) for r in rows}
        if not files:
            raise NotFound(f"définition de procédure {digest[:12]} introuvable")
        return files

    def latest(self, procedure: str, tenant: str | None = None) -> Row[Any] | None:
        """The newest definition deployed for every tenant, or for `tenant` alone."""
        return self.conn.execute(
            select(t.process_specs)
            .where(t.process_specs.c.procedure == procedure, visible_to(tenant))
            .order_by(t.process_specs.c.deployed_at.desc(), t.process_specs.c.hash)
            .limit(1)
        ).first()

    def catalogue(self, tenant: str | None = None) -> list[Row[Any]]:
        """The newest definition of each procedure (deployed for all, or for `tenant`)."""
        latest = (
            select(t.process_specs.c.procedure, func.max(t.process_specs.c.deployed_at).label("at"))
            .where(visible_to(tenant))
            .group_by(t.process_specs.c.procedure)
            .subquery()
        )
        return list(
            self.conn.execute(
                select(t.process_specs)
                .join(
                    latest,
                    and_(
                        t.process_specs.c.procedure == latest.c.procedure,
                        t.process_specs.c.deployed_at == latest.c.at,
                    ),
                )
                .order_by(t.process_specs.c.procedure)
            )
        )


def _inbox_filter(
    query: Any, lanes: Iterable[str] | None, assigned_to: Iterable[str] | None
) -> Any:
    """Unassigned tasks of `lanes`, plus those assigned to one of the logins `assigned_to`."""
    h = t.human_tasks.c
    logins = sorted(set(assigned_to)) if assigned_to is not None else None
    if lanes is not None:
        inbox = and_(h.assignee.is_(None), h.lane.in_(list(lanes)))
        return query.where(or_(inbox, h.assignee.in_(logins)) if logins else inbox)
    if logins is not None:
        return query.where(h.assignee.in_(logins))
    return query


def _human_task(r: Row[Any]) -> HumanTask:
    return HumanTask(
        r.id, r.case_id, r.tenant, r.name, r.title, r.lane, r.form, _aware(r.created_at), r.assignee
    )


def _case(row: Row[Any]) -> Case:
    return Case(
        id=row.id,
        tenant=row.tenant,
        procedure=row.procedure,
        spec_hash=row.spec_hash,
        reference=row.reference,
        title=row.title,
        status=CaseStatus(row.status),
        version=row.version,
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
        created_by=row.created_by,
        data=dict(row.summary or {}),
        error=row.error,
        cancel_reason=row.cancel_reason,
        current_steps=tuple(row.current_steps or ()),
    )


class CaseRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.last_write_bytes = 0
        """Bytes of state written by the last insert or update (for the benchmark)."""

    def insert(self, case: Case, *, state: DumpedState) -> None:
        self.conn.execute(
            insert(t.cases).values(
                id=case.id,
                tenant=case.tenant,
                procedure=case.procedure,
                spec_hash=case.spec_hash,
                reference=case.reference,
                title=case.title,
                status=case.status.value,
                version=case.version,
                serializer_version=state.format,
                state=state.header,
                summary=case.data,
                current_steps=list(case.current_steps),
                error=case.error,
                cancel_reason=case.cancel_reason,
                created_by=case.created_by,
                created_at=case.created_at,
                updated_at=case.updated_at,
            )
        )
        self._write_tasks(case.id, state.tasks, {})
        self.last_write_bytes = len(state.header) + sum(len(b) for _s, b in state.tasks.values())

    def get(self, tenant: str, case_id: uuid.UUID) -> Case:
        row = self.conn.execute(
            select(*_CASE_COLUMNS).where(t.cases.c.tenant == tenant, t.cases.c.id == case_id)
        ).first()
        if row is None:
            raise NotFound("Dossier introuvable.")
        return _case(row)

    def get_with_state(self, tenant: str, case_id: uuid.UUID) -> tuple[Case, str, str, TaskRows]:
        """The case, its state header and format, and its task rows."""
        row = self.conn.execute(_SELECT_CASE_STATE, {"tenant": tenant, "case_id": case_id}).first()
        if row is None:
            raise NotFound("Dossier introuvable.")
        rows = self.conn.execute(_SELECT_CASE_TASKS, {"case_id": case_id})
        tasks: TaskRows = {r.task_id: (r.scope, r.body) for r in rows}
        return _case(row), row.state, row.serializer_version, tasks

    def update(
        self, case: Case, *, expected_version: int, state: DumpedState, stored_tasks: TaskRows
    ) -> None:
        """Write a new version; Conflict when somebody else wrote since `expected_version`.

        Only the task rows that differ from `stored_tasks` (as loaded) are written."""
        result = self.conn.execute(
            _UPDATE_CASE,
            {
                "b_id": case.id,
                "b_tenant": case.tenant,
                "b_version": expected_version,
                "status": case.status.value,
                "version": expected_version + 1,
                "state": state.header,
                "serializer_version": state.format,
                "summary": case.data,
                "current_steps": list(case.current_steps),
                "error": case.error,
                "cancel_reason": case.cancel_reason,
                "title": case.title,
                "updated_at": case.updated_at,
            },
        )
        if result.rowcount != 1:
            raise Conflict(
                "Le dossier a été modifié entre-temps ; rechargez la page et recommencez."
            )
        written = self._write_tasks(case.id, state.tasks, stored_tasks)
        self.last_write_bytes = len(state.header) + written

    def _write_tasks(self, case_id: uuid.UUID, tasks: TaskRows, stored: TaskRows) -> int:
        changed: list[dict[str, Any]] = [
            {"case_id": case_id, "task_id": task_id, "scope": scope, "body": body}
            for task_id, (scope, body) in tasks.items()
            if stored.get(task_id) != (scope, body)
        ]
        removed = [task_id for task_id in stored if task_id not in tasks]
        if removed:
            self.conn.execute(_DELETE_CASE_TASKS, {"case_id": case_id, "task_ids": removed})
        if changed:
            self.conn.execute(_upsert_case_tasks(self.conn), changed)
        return sum(len(row["body"]) for row in changed)

    def search(
        self,
        tenant: str,
        *,
        status: str | None = None,
        procedure: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Case], int]:
        where = [t.cases.c.tenant == tenant]
        if status:
            where.append(t.cases.c.status == status)
        if procedure:
            where.append(t.cases.c.procedure == procedure)
        rows = self.conn.execute(
            select(*_CASE_COLUMNS)
            .where(*where)
            .order_by(t.cases.c.updated_at.desc(), t.cases.c.id)
            .limit(limit)
            .offset(offset)
        )
        total = self.conn.execute(
            select(func.count()).select_from(t.cases).where(*where)
        ).scalar_one()
        return [_case(r) for r in rows], int(total)

    # -- indexes of what a case waits for ----------------------------------------------------

    def change_human_tasks(
        self, case: Case, *, added: Sequence[HumanTask], removed: Sequence[uuid.UUID]
    ) -> None:
        if removed:
            self.conn.execute(_DELETE_HUMAN_TASKS, {"case_id": case.id, "task_ids": list(removed)})
        if added:
            self.conn.execute(
                _INSERT_HUMAN_TASKS,
                [
                    {
                        "id": h.id,
                        "case_id": h.case_id,
                        "tenant": h.tenant,
                        "name": h.name,
                        "title": h.title,
                        "lane": h.lane,
                        "form": h.form,
                        "created_at": h.created_at,
                        "assignee": h.assignee,
                    }
                    for h in added
                ],
            )

    def replace_timers(self, case: Case, timers: Sequence[tuple[uuid.UUID, str, datetime]]) -> None:
        self.conn.execute(delete(t.timers).where(t.timers.c.case_id == case.id))
        if timers:
            self.conn.execute(
                insert(t.timers),
                [
                    {
                        "case_id": case.id,
                        "task_id": task_id,
                        "tenant": case.tenant,
                        "name": name,
                        "due_at": due,
                    }
                    for task_id, name, due in timers
                ],
            )

    def replace_message_waits(self, case: Case, messages: Sequence[tuple[str, str | None]]) -> None:
        self.conn.execute(delete(t.message_waits).where(t.message_waits.c.case_id == case.id))
        rows: dict[str, dict[str, Any]] = {}
        for message, correlation in messages:
            rows.setdefault(
                message,
                {
                    "case_id": case.id,
                    "message": message,
                    "tenant": case.tenant,
                    "correlation": correlation,
                    "correlation_key": correlation or "",
                },
            )
        if rows:
            self.conn.execute(insert(t.message_waits), list(rows.values()))

    def human_tasks(
        self,
        tenant: str,
        *,
        lanes: Iterable[str] | None = None,
        case_id: uuid.UUID | None = None,
        assigned_to: Iterable[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[HumanTask]:
        """Ready tasks. With `lanes`, an inbox: unassigned tasks of those lanes, plus the tasks
        assigned to one of the logins `assigned_to` (a person and those they stand in for);
        a task assigned to someone is never listed to the rest of its lane."""
        h = t.human_tasks.c
        query = _inbox_filter(select(t.human_tasks).where(h.tenant == tenant), lanes, assigned_to)
        if case_id is not None:
            query = query.where(h.case_id == case_id)
        rows = self.conn.execute(query.order_by(h.created_at, h.id).limit(limit).offset(offset))
        return [_human_task(r) for r in rows]

    def inbox_rows(
        self,
        tenant: str,
        *,
        lanes: Iterable[str] | None,
        assigned_to: Iterable[str] | None,
        procedure: str | None = None,
        limit: int = 1000,
    ) -> list[tuple[HumanTask, InboxCase]]:
        """The ready tasks of an inbox (as `human_tasks`), each with what says which dossier it
        belongs to, oldest first, in one statement."""
        h = t.human_tasks.c
        c = t.cases.c
        query = (
            select(
                t.human_tasks,
                c.reference.label("case_reference"),
                c.title.label("case_title"),
                c.procedure.label("case_procedure"),
                c.summary.label("case_summary"),
                c.created_at.label("case_created_at"),
                t.process_specs.c.title.label("procedure_title"),
            )
            .join(t.cases, and_(c.id == h.case_id, c.tenant == h.tenant))
            .join(t.process_specs, t.process_specs.c.hash == c.spec_hash)
            .where(h.tenant == tenant)
        )
        query = _inbox_filter(query, lanes, assigned_to)
        if procedure:
            query = query.where(c.procedure == procedure)
        rows = self.conn.execute(query.order_by(h.created_at, h.id).limit(limit))
        return [
            (
                _human_task(r),
                InboxCase(
                    reference=r.case_reference,
                    title=r.case_title,
                    procedure=r.case_procedure,
                    procedure_title=r.procedure_title,
                    data=dict(r.case_summary or {}),
                    created_at=_aware(r.case_created_at),
                ),
            )
            for r in rows
        ]

    def human_task(self, tenant: str, task_id: uuid.UUID) -> HumanTask | None:
        row = self.conn.execute(
            select(t.human_tasks).where(
                t.human_tasks.c.tenant == tenant, t.human_tasks.c.id == task_id
            )
        ).first()
        return None if row is None else _human_task(row)

    def summaries(
        self, tenant: str, procedure: str, *, since: datetime, limit: int = 5000
    ) -> list[tuple[uuid.UUID, str, dict[str, Any]]]:
        """(id, reference, data summary) of a tenant's cases of one procedure, newest first."""
        rows = self.conn.execute(
            select(t.cases.c.id, t.cases.c.reference, t.cases.c.summary)
            .where(
                t.cases.c.tenant == tenant,
                t.cases.c.procedure == procedure,
                t.cases.c.created_at >= since,
            )
            .order_by(t.cases.c.created_at.desc())
            .limit(limit)
        )
        return [(r.id, r.reference, dict(r.summary or {})) for r in rows]

    def count_by_status(self) -> dict[tuple[str, str], int]:
        """Cases by (procedure, status), across tenants (platform metrics carry no tenant data)."""
        rows = self.conn.execute(
            select(t.cases.c.procedure, t.cases.c.status, func.count()).group_by(
                t.cases.c.procedure, t.cases.c.status
            )
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def count_due_timers(self, now: datetime) -> int:
        return int(
            self.conn.execute(
                select(func.count()).select_from(t.timers).where(t.timers.c.due_at <= now)
            ).scalar_one()
        )

    def in_error(self, *, limit: int = 100) -> list[Case]:
        """Cases in error across tenants, for the platform operator."""
        rows = self.conn.execute(
            select(*_CASE_COLUMNS)
            .where(t.cases.c.status == CaseStatus.ERROR.value)
            .order_by(t.cases.c.updated_at.desc())
            .limit(limit)
        )
        return [_case(r) for r in rows]

    def due_timers(
        self,
        now: datetime,
        limit: int,
        *,
        tenant: str | None = None,
        skip_tenants: Sequence[str] = (),
    ) -> list[tuple[str, uuid.UUID]]:
        """Cases with a timer due at `now`, the earliest first: of `tenant` only when given,
        leaving out `skip_tenants` (those on a clock of their own)."""
        query = select(t.timers.c.tenant, t.timers.c.case_id).where(t.timers.c.due_at <= now)
        if tenant is not None:
            query = query.where(t.timers.c.tenant == tenant)
        if skip_tenants:
            query = query.where(t.timers.c.tenant.not_in(list(skip_tenants)))
        rows = self.conn.execute(
            query.group_by(t.timers.c.tenant, t.timers.c.case_id)
            .order_by(func.min(t.timers.c.due_at))
            .limit(limit)
        )
        return [(r.tenant, r.case_id) for r in rows]

    def tenant_timers(self, tenant: str, limit: int) -> list[tuple[uuid.UUID, str, datetime]]:
        """The tenant's waiting timers as (case, timer name, due time), the earliest first."""
        rows = self.conn.execute(
            select(t.timers.c.case_id, t.timers.c.name, t.timers.c.due_at)
            .where(t.timers.c.tenant == tenant)
            .order_by(t.timers.c.due_at, t.timers.c.case_id)
            .limit(limit)
        )
        return [(r.case_id, r.name, _aware(r.due_at)) for r in rows]

    def waiting_for_message(
        self, tenant: str, message: str, correlation: str | None
    ) -> list[uuid.UUID]:
        rows = self.conn.execute(
            select(t.message_waits.c.case_id).where(
                t.message_waits.c.tenant == tenant,
                t.message_waits.c.message == message,
                t.message_waits.c.correlation_key == (correlation or ""),
            )
        )
        return [r.case_id for r in rows]


_CASE_COLUMNS = [c for c in t.cases.c if c.name != "state"]


def _job(row: Row[Any]) -> Job:
    return Job(
        id=row.id,
        tenant=row.tenant,
        case_id=row.case_id,
        task_id=row.task_id,
        operation=row.operation,
        params=dict(row.params),
        idempotency_key=row.idempotency_key,
        state=JobState(row.state),
        attempts=row.attempts,
        result=row.result,
        error=row.error,
        interruptions=row.interruptions,
        first_interrupted_at=_aware(row.first_interrupted_at) if row.first_interrupted_at else None,
        started_at=_aware(row.started_at) if row.started_at else None,
    )


class JobRepository:
    def __init__(self, conn: Connection, dispatch_list: list[tuple[uuid.UUID, str]]) -> None:
        self.conn = conn
        self._dispatch_list = dispatch_list

    def add_once(
        self,
        *,
        tenant: str,
        case_id: uuid.UUID,
        task_id: uuid.UUID,
        operation: str,
        params: dict[str, Any],
        idempotency_key: str,
        now: datetime,
    ) -> uuid.UUID | None:
        """Queue a job unless one with this key exists; it is dispatched after commit."""
        if self.conn.execute(
            select(t.jobs.c.id).where(t.jobs.c.idempotency_key == idempotency_key)
        ).first():
            return None
        job_id = uuid.uuid4()
        self.conn.execute(
            insert(t.jobs).values(
                id=job_id,
                tenant=tenant,
                case_id=case_id,
                task_id=task_id,
                operation=operation,
                params=params,
                idempotency_key=idempotency_key,
                state=JobState.PENDING.value,
                attempts=0,
                deliveries=0,
                created_at=now,
                updated_at=now,
            )
        )
        self._dispatch_list.append((job_id, operation))
        return job_id

    def get(self, job_id: uuid.UUID) -> Job | None:
        row = self.conn.execute(select(t.jobs).where(t.jobs.c.id == job_id)).first()
        return _job(row) if row else None

    def for_case(self, tenant: str, case_id: uuid.UUID) -> list[Job]:
        rows = self.conn.execute(
            select(t.jobs)
            .where(t.jobs.c.tenant == tenant, t.jobs.c.case_id == case_id)
            .order_by(t.jobs.c.created_at)
        )
        return [_job(r) for r in rows]

    def set_state(
        self,
        job_id: uuid.UUID,
        state: JobState,
        now: datetime,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        count_attempt: bool = False,
        count_interruption: bool = False,
    ) -> None:
        """`count_attempt`: a run starts; `count_interruption`: a run starts in place of one
        its worker's death cut short (the interrupted run is not an attempt)."""
        values: dict[str, Any] = {"state": state.value, "updated_at": now}
        if result is not None:
            values["result"] = result
        if error is not None:
            values["error"] = error
        if count_attempt:
            values["attempts"] = t.jobs.c.attempts + 1
            values["started_at"] = now
        if count_interruption:
            values["interruptions"] = t.jobs.c.interruptions + 1
            values["first_interrupted_at"] = func.coalesce(t.jobs.c.first_interrupted_at, now)
            values["started_at"] = now
        if state == JobState.RUNNING:
            values["started_at"] = now  # names the run (see runner.RunUnavailable)
        if state in (JobState.DONE, JobState.FAILED, JobState.DEAD):
            values["finished_at"] = now
        self.conn.execute(update(t.jobs).where(t.jobs.c.id == job_id).values(**values))

    def unfinished(
        self, *, older_than: datetime, states: Sequence[JobState], limit: int
    ) -> list[Job]:
        rows = self.conn.execute(
            select(t.jobs)
            .where(t.jobs.c.state.in_([s.value for s in states]), t.jobs.c.updated_at <= older_than)
            .order_by(t.jobs.c.updated_at)
            .limit(limit)
        )
        return [_job(r) for r in rows]

    def outbox_heads(self, *, per_tenant: int | None) -> list[Job]:
        """Jobs in the outbox (never handed to the broker), oldest first; at most `per_tenant`
        of each tenant and operation (the fair-share release takes no more in one pass)."""
        j = t.jobs.c
        ranked = (
            select(
                j.id,
                func.row_number()
                .over(partition_by=(j.tenant, j.operation), order_by=(j.created_at, j.id))
                .label("rank"),
            )
            .where(j.state == JobState.PENDING.value)
            .subquery()
        )
        query = select(t.jobs).join(ranked, ranked.c.id == j.id)
        if per_tenant is not None:
            query = query.where(ranked.c.rank <= per_tenant)
        rows = self.conn.execute(query.order_by(j.created_at, j.id))
        return [_job(r) for r in rows]

    def in_flight(self) -> dict[tuple[str, str], int]:
        """Jobs handed to the broker and not finished, by (tenant, operation); a job waiting
        for a retry (`sent` again by the runner, with its reason) does not count: a remote
        service down for everyone must not fill the queue with jobs that only wait."""
        j = t.jobs.c
        rows = self.conn.execute(
            select(j.tenant, j.operation, func.count())
            .where(
                or_(
                    j.state == JobState.RUNNING.value,
                    and_(j.state == JobState.SENT.value, j.error.is_(None)),
                )
            )
            .group_by(j.tenant, j.operation)
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def claim_for_broker(self, job_id: uuid.UUID, now: datetime) -> bool:
        """Move a job from the outbox to `sent`; False when another release took it first
        (the row's state is checked under its lock: one release only hands a job over)."""
        done = self.conn.execute(
            update(t.jobs)
            .where(t.jobs.c.id == job_id, t.jobs.c.state == JobState.PENDING.value)
            .values(state=JobState.SENT.value, deliveries=t.jobs.c.deliveries + 1, updated_at=now)
        )
        return done.rowcount == 1

    def return_to_outbox(self, job_ids: Sequence[uuid.UUID], now: datetime) -> None:
        """Jobs claimed whose sending failed (broker down) go back to the outbox."""
        if job_ids:
            self.conn.execute(
                update(t.jobs)
                .where(t.jobs.c.id.in_(job_ids), t.jobs.c.state == JobState.SENT.value)
                .values(
                    state=JobState.PENDING.value,
                    deliveries=t.jobs.c.deliveries - 1,
                    updated_at=now,
                )
            )

    def mark_sent_again(self, job_ids: Sequence[uuid.UUID], now: datetime) -> None:
        """Jobs handed over again (their worker died or the broker lost them): counted, and
        not due again before another `stale_after`."""
        if job_ids:
            self.conn.execute(
                update(t.jobs)
                .where(t.jobs.c.id.in_(job_ids))
                .values(deliveries=t.jobs.c.deliveries + 1, updated_at=now)
            )

    def deliveries(self, job_id: uuid.UUID) -> int:
        """Times the job was handed to the broker."""
        found = self.conn.execute(
            select(t.jobs.c.deliveries).where(t.jobs.c.id == job_id)
        ).scalar_one_or_none()
        return int(found or 0)

    def durations(self, since: datetime) -> list[tuple[str, str, float]]:
        """(operation, final state, seconds) of the jobs finished since `since`."""
        rows = self.conn.execute(
            select(
                t.jobs.c.operation, t.jobs.c.state, t.jobs.c.started_at, t.jobs.c.finished_at
            ).where(t.jobs.c.finished_at >= since, t.jobs.c.started_at.is_not(None))
        )
        return [
            (r.operation, r.state, (_aware(r.finished_at) - _aware(r.started_at)).total_seconds())
            for r in rows
        ]

    def stuck(self, *, limit: int = 100) -> list[Job]:
        """Jobs dead-lettered or failed for good, newest first (the operator's list)."""
        rows = self.conn.execute(
            select(t.jobs)
            .where(t.jobs.c.state.in_([JobState.DEAD.value, JobState.FAILED.value]))
            .order_by(t.jobs.c.updated_at.desc())
            .limit(limit)
        )
        return [_job(r) for r in rows]

    def count_by_state(self) -> dict[str, int]:
        rows = self.conn.execute(select(t.jobs.c.state, func.count()).group_by(t.jobs.c.state))
        return {r[0]: int(r[1]) for r in rows}

    def waiting_by_operation(self) -> dict[str, int]:
        """Jobs not yet finished (in the outbox, queued or running), by operation."""
        waiting = [JobState.PENDING.value, JobState.SENT.value, JobState.RUNNING.value]
        rows = self.conn.execute(
            select(t.jobs.c.operation, func.count())
            .where(t.jobs.c.state.in_(waiting))
            .group_by(t.jobs.c.operation)
        )
        return {r[0]: int(r[1]) for r in rows}

    def recall_effect(self, idempotency_key: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(t.operation_effects.c.result).where(
                t.operation_effects.c.idempotency_key == idempotency_key
            )
        ).first()
        return dict(row.result) if row else None

    def remember_effect(
        self,
        *,
        idempotency_key: str,
        tenant: str,
        operation: str,
        result: dict[str, Any],
        now: datetime,
    ) -> None:
        self.conn.execute(
            insert(t.operation_effects).values(
                idempotency_key=idempotency_key,
                tenant=tenant,
                operation=operation,
                result=result,
                created_at=now,
            )
        )


def _entry(row: Row[Any]) -> JournalEntry:
    return JournalEntry(
        tenant=row.tenant,
        seq=row.seq,
        kind=row.kind,
        case_id=row.case_id,
        actor=row.actor,
        payload=dict(row.payload),
        recorded_at=_aware(row.recorded_at),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class JournalRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def records_of(self, tenant: str, archived_states: tuple[str, ...]) -> JournalRecords:
        """The rows the journal speaks of (cases, documents, archived packages), to check it
        against them."""
        return read_journal_records(self.conn, tenant, archived_states)

    def append(
        self,
        *,
        tenant: str,
        kind: str,
        case_id: uuid.UUID | None,
        actor: str,
        payload: dict[str, Any],
        now: datetime,
    ) -> JournalEntry:
        """Append one link; the tenant's head row is locked so links are written one at a time.

        Lock order (docs/architecture.md, "Transactions"): the case's row before the tenant's
        journal head. A link about a case first locks that case's row (`FOR NO KEY UPDATE`, the
        lock its versioned `UPDATE` takes, held by then if the case was already written), so a
        transaction that journals then advances the case (the @ctes poller) and one that
        advances it then journals (the job runner) queue on the case instead of each holding
        the lock the other waits for.

        The link is stamped in UTC whatever zone `now` carries: SQLite keeps no offset and reads
        times back as UTC, so a Paris time would no longer hash to the stored link."""
        if now.tzinfo is None:
            raise ValueError("journal links need an aware time")
        now = now.astimezone(UTC)
        if case_id is not None:
            self.conn.execute(_LOCK_CASE, {"tenant": tenant, "case_id": case_id})
        head = self.conn.execute(_SELECT_HEAD_FOR_UPDATE, {"tenant": tenant}).first()
        if head is None:
            raise NotFound("Collectivité inconnue.")
        clock = TenantRepository(self.conn).clock(tenant)
        if clock.training:  # stamped when it is written, on both clocks: the chain keeps order
            real = datetime.now(UTC)
            now = clock.now(real)
            payload = {**payload, "heure_reelle": real.isoformat()}
        seq = head.seq + 1
        body = entry_body(
            tenant=tenant,
            seq=seq,
            kind=kind,
            case_id=str(case_id) if case_id else None,
            actor=actor,
            payload=payload,
            recorded_at=now,
            prev_hash=head.hash,
        )
        digest = link_hash(body)
        self.conn.execute(
            _INSERT_JOURNAL,
            {
                "tenant": tenant,
                "seq": seq,
                "kind": kind,
                "case_id": case_id,
                "actor": actor,
                "payload": payload,
                "recorded_at": now,
                "prev_hash": head.hash,
                "hash": digest,
            },
        )
        self.conn.execute(_UPDATE_HEAD, {"b_tenant": tenant, "b_seq": seq, "b_hash": digest})
        return JournalEntry(tenant, seq, kind, case_id, actor, payload, now, head.hash, digest)

    def head(self, tenant: str) -> tuple[int, str]:
        row = self.conn.execute(
            select(t.journal_heads).where(t.journal_heads.c.tenant == tenant)
        ).first()
        if row is None:
            raise NotFound("Collectivité inconnue.")
        return int(row.seq), str(row.hash)

    def iter_entries(
        self, tenant: str, *, after_seq: int = 0, batch: int = 1000
    ) -> Iterator[JournalEntry]:
        last = after_seq
        while True:
            rows = list(
                self.conn.execute(
                    select(t.journal)
                    .where(t.journal.c.tenant == tenant, t.journal.c.seq > last)
                    .order_by(t.journal.c.seq)
                    .limit(batch)
                )
            )
            if not rows:
                return
            for row in rows:
                yield _entry(row)
            last = rows[-1].seq

    def for_case(self, tenant: str, case_id: uuid.UUID) -> list[JournalEntry]:
        rows = self.conn.execute(
            select(t.journal)
            .where(t.journal.c.tenant == tenant, t.journal.c.case_id == case_id)
            .order_by(t.journal.c.seq)
        )
        return [_entry(r) for r in rows]


def _document(row: Row[Any]) -> Document:
    return Document(
        id=row.id,
        tenant=row.tenant,
        name=row.name,
        media_type=row.media_type,
        size=row.size,
        sha256=row.sha256,
        kind=row.kind,
        created_by=row.created_by,
        created_at=_aware(row.created_at),
        case_id=row.case_id,
        derived_from=row.derived_from,
    )


class DocumentRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, document: Document, content: bytes) -> None:
        exists = self.conn.execute(
            select(t.blobs.c.sha256).where(t.blobs.c.sha256 == document.sha256)
        ).first()
        if not exists:
            self.conn.execute(
                insert(t.blobs).values(sha256=document.sha256, size=len(content), content=content)
            )
        self.conn.execute(
            insert(t.documents).values(
                id=document.id,
                tenant=document.tenant,
                case_id=document.case_id,
                name=document.name,
                media_type=document.media_type,
                size=document.size,
                sha256=document.sha256,
                kind=document.kind,
                derived_from=document.derived_from,
                created_by=document.created_by,
                created_at=document.created_at,
            )
        )

    def get(self, tenant: str, document_id: uuid.UUID) -> Document:
        row = self.conn.execute(
            select(t.documents).where(
                t.documents.c.tenant == tenant, t.documents.c.id == document_id
            )
        ).first()
        if row is None:
            raise NotFound("Document introuvable.")
        return _document(row)

    def content(self, document: Document) -> bytes:
        value = self.conn.execute(
            select(t.blobs.c.content).where(t.blobs.c.sha256 == document.sha256)
        ).scalar_one()
        return bytes(value)

    def attach(self, tenant: str, document_id: uuid.UUID, case_id: uuid.UUID) -> None:
        self.conn.execute(
            update(t.documents)
            .where(
                t.documents.c.tenant == tenant,
                t.documents.c.id == document_id,
                t.documents.c.case_id.is_(None),
            )
            .values(case_id=case_id)
        )

    def for_case(self, tenant: str, case_id: uuid.UUID) -> list[Document]:
        rows = self.conn.execute(
            select(t.documents)
            .where(t.documents.c.tenant == tenant, t.documents.c.case_id == case_id)
            .order_by(t.documents.c.created_at, t.documents.c.id)
        )
        return [_document(r) for r in rows]


class LoginAttemptRepository:
    """Login attempts per key and one-minute slot, shared by every web process."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, key: str, slot: datetime, delta: int = 1) -> None:
        """Atomic upsert: concurrent attempts on one key serialize on its slot's row."""
        table = ts.login_attempts
        base = _upsert(self.conn, table).values(key=key, window_start=slot, attempts=delta)
        self.conn.execute(
            base.on_conflict_do_update(
                index_elements=["key", "window_start"],
                set_={"attempts": table.c.attempts + base.excluded.attempts},
            )
        )

    def slots(self, keys: Sequence[str], since: datetime) -> dict[str, list[tuple[datetime, int]]]:
        """(slot start, attempts) of each key from `since` on, oldest first."""
        c = ts.login_attempts.c
        rows = self.conn.execute(
            select(c.key, c.window_start, c.attempts)
            .where(c.key.in_(list(keys)), c.window_start >= since)
            .order_by(c.window_start)
        )
        found: dict[str, list[tuple[datetime, int]]] = {key: [] for key in keys}
        for row in rows:
            found[row.key].append((_aware(row.window_start), int(row.attempts)))
        return found

    def clear(self, key: str) -> None:
        self.conn.execute(delete(ts.login_attempts).where(ts.login_attempts.c.key == key))

    def purge(self, before: datetime) -> int:
        """Forget the slots that no longer count (amortized: each row is deleted once)."""
        result = self.conn.execute(
            delete(ts.login_attempts).where(ts.login_attempts.c.window_start < before)
        )
        return int(result.rowcount)


def _renewal(row: Row[Any]) -> TimestampRenewal:
    return TimestampRenewal(
        id=row.id,
        tenant=row.tenant,
        package_id=row.package_id,
        source_key=row.source_key,
        sequence=int(row.sequence),
        object_key=row.object_key,
        version_id=row.version_id,
        size=int(row.size),
        sha256=row.sha256,
        timestamp_at=_aware(row.timestamp_at),
        tsa_not_after=_aware(row.tsa_not_after),
        previous_tsa_not_after=_aware(row.previous_tsa_not_after),
        retain_until=_aware(row.retain_until) if row.retain_until is not None else None,
        renewed_at=_aware(row.renewed_at),
    )


class TimestampRenewalRepository:
    """Renewed archival timestamps (``timestamp_renewals``), always scoped by tenant."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, renewal: TimestampRenewal) -> None:
        self.conn.execute(insert(tr.timestamp_renewals).values(**asdict(renewal)))

    def for_package(self, tenant: str, package_id: str) -> list[TimestampRenewal]:
        """Every renewal of the package's documents, oldest first."""
        c = tr.timestamp_renewals.c
        rows = self.conn.execute(
            select(tr.timestamp_renewals)
            .where(c.tenant == tenant, c.package_id == package_id)
            .order_by(c.source_key, c.sequence)
        )
        return [_renewal(row) for row in rows]

    def latest_by_document(self, tenant: str, package_id: str) -> dict[str, TimestampRenewal]:
        """The latest renewal of each renewed document of the package, by source key."""
        return {r.source_key: r for r in self.for_package(tenant, package_id)}
