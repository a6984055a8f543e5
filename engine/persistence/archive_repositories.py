"""Repositories of the electronic archive: packages, journal seals, audits, retention."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    union_all,
    update,
)

from archiving.journal_seal import JournalSeal
from engine.domain.archives import (
    ArchivedPackage,
    AuditRun,
    PackageState,
    RetentionDecision,
    RetentionRuleRow,
    StoredFinding,
)
from engine.domain.times import assume_utc as _aware
from engine.persistence import tables_archives as a
from engine.persistence import tables_connectors as c

__all__ = ["ArchiveRepository"]


def _search_filters(
    tenant: str,
    *,
    dialect: str,
    procedure: str | None,
    typologie: str | None,
    act_number: str | None,
    closed_from: datetime | None,
    closed_to: datetime | None,
    words: Sequence[str],
    states: Sequence[str],
) -> list[ColumnElement[bool]]:
    p = a.archive_packages.c
    filters: list[ColumnElement[bool]] = [p.tenant == tenant]
    if procedure:
        filters.append(p.procedure == procedure)
    if typologie:
        filters.append(p.typologie == typologie)
    if act_number:
        filters.append(p.act_number == act_number)
    if closed_from is not None:
        filters.append(p.closed_at >= closed_from)
    if closed_to is not None:
        filters.append(p.closed_at < closed_to)
    # LIKE '%word%' on the lower-cased text: the trigram index answers it on PostgreSQL. Only
    # the longest word goes through LIKE there: the planner multiplies the estimates of several
    # LIKEs as if words were independent (they rarely are: "subvention sportive") and then
    # prefers sorting a bitmap of thousands of rows to reading the date index in order; the
    # other words are checked with strpos, estimated as a plain filter.
    ordered = sorted(words, key=len, reverse=True)
    for index, word in enumerate(ordered):
        if index and dialect == "postgresql":
            filters.append(func.strpos(p.search_text, word) > 0)
        else:
            filters.append(p.search_text.contains(word, autoescape=True))
    if states:
        filters.append(p.state.in_(list(states)))
    return filters


_SUMMARY_COLUMNS = [
    column
    for column in a.archive_packages.c
    if column.name not in ("frozen", "objects", "search_text", "copies")
]


def _package(row: Row[Any]) -> ArchivedPackage:
    return ArchivedPackage(
        tenant=row.tenant,
        package_id=row.package_id,
        case_id=row.case_id,
        procedure=row.procedure,
        typologie=row.typologie,
        title=row.title,
        act_number=row.act_number,
        actes_id=row.actes_id,
        closed_at=_aware(row.closed_at) or row.closed_at,
        state=PackageState(row.state),
        dua_rule=row.dua_rule,
        dua_end=row.dua_end,
        final_action=row.final_action,
        frozen=dict(row.frozen) if "frozen" in row._fields else {},
        last_error=row.last_error,
        attempts=row.attempts,
        bucket=row.bucket,
        seal_sha512=row.seal_sha512,
        objects=list(row.objects) if getattr(row, "objects", None) is not None else None,
        total_bytes=row.total_bytes,
        retain_until=_aware(row.retain_until),
        legal_hold=bool(row.legal_hold),
        archived_at=_aware(row.archived_at),
        destroyed_at=_aware(row.destroyed_at),
    )


def _run(row: Row[Any]) -> AuditRun:
    return AuditRun(
        id=row.id,
        tenant=row.tenant,
        started_at=_aware(row.started_at) or row.started_at,
        updated_at=_aware(row.updated_at) or row.updated_at,
        finished_at=_aware(row.finished_at),
        cursor=row.cursor,
        batches=row.batches,
        packages_checked=row.packages_checked,
        objects_checked=row.objects_checked,
        bytes_read=row.bytes_read,
        findings_count=row.findings_count,
        error=row.error,
    )


def _seal(row: Row[Any]) -> JournalSeal:
    return JournalSeal(
        scope=row.tenant,
        number=row.number,
        first_seq=row.first_seq,
        last_seq=row.last_seq,
        merkle_root=row.merkle_root,
        previous=row.previous,
        sealed_at=_aware(row.sealed_at) or row.sealed_at,
        token=bytes(row.token),
        head_hash=row.head_hash or "",
    )


class ArchiveRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # Packages -------------------------------------------------------------------------

    def for_case(self, tenant: str, case_id: uuid.UUID) -> ArchivedPackage | None:
        row = self.conn.execute(
            select(a.archive_packages).where(
                a.archive_packages.c.tenant == tenant, a.archive_packages.c.case_id == case_id
            )
        ).first()
        return _package(row) if row is not None else None

    def get(self, tenant: str, package_id: str) -> ArchivedPackage | None:
        row = self.conn.execute(
            select(a.archive_packages).where(
                a.archive_packages.c.tenant == tenant,
                a.archive_packages.c.package_id == package_id,
            )
        ).first()
        return _package(row) if row is not None else None

    def add_waiting(self, package: ArchivedPackage, *, search_text: str, now: datetime) -> None:
        self.conn.execute(
            insert(a.archive_packages).values(
                tenant=package.tenant,
                package_id=package.package_id,
                case_id=package.case_id,
                procedure=package.procedure,
                typologie=package.typologie,
                title=package.title[:500],
                act_number=package.act_number,
                actes_id=package.actes_id,
                search_text=search_text,
                closed_at=package.closed_at,
                state=PackageState.WAITING,
                attempts=0,
                frozen=package.frozen,
                dua_rule=package.dua_rule,
                dua_end=package.dua_end,
                final_action=package.final_action,
                legal_hold=False,
                updated_at=now,
            )
        )

    def update(self, tenant: str, package_id: str, now: datetime, **values: Any) -> None:
        self.conn.execute(
            update(a.archive_packages)
            .where(
                a.archive_packages.c.tenant == tenant,
                a.archive_packages.c.package_id == package_id,
            )
            .values(updated_at=now, **values)
        )

    def note_failure(self, tenant: str, package_id: str, error: str, now: datetime) -> None:
        self.update(
            tenant,
            package_id,
            now,
            last_error=error[:2000],
            attempts=a.archive_packages.c.attempts + 1,
        )

    def search(
        self,
        tenant: str,
        *,
        procedure: str | None = None,
        typologie: str | None = None,
        act_number: str | None = None,
        closed_from: datetime | None = None,
        closed_to: datetime | None = None,
        words: Sequence[str] = (),
        states: Sequence[str] = (),
        after: tuple[datetime, str] | None = None,
        summary: bool = False,
        limit: int = 100,
    ) -> list[ArchivedPackage]:
        """Most recently closed first. Keyset paging: `after` is the (closed_at, package_id)
        of the last row of the previous page, so a deep page costs what the first one does
        (index `ix_archive_packages_recent` and its per-filter siblings). `summary` leaves out
        the heavy JSON columns (`frozen`, `objects`) that a result list never shows."""
        p = a.archive_packages.c
        columns = _SUMMARY_COLUMNS if summary else [a.archive_packages]
        query = select(*columns).where(
            *_search_filters(
                tenant,
                dialect=self.conn.dialect.name,
                procedure=procedure,
                typologie=typologie,
                act_number=act_number,
                closed_from=closed_from,
                closed_to=closed_to,
                words=words,
                states=states,
            )
        )
        if after is not None:
            query = query.where(tuple_(p.closed_at, p.package_id) < tuple_(*after))
        rows = self.conn.execute(
            query.order_by(p.closed_at.desc(), p.package_id.desc()).limit(limit)
        )
        return [_package(r) for r in rows]

    def count_matching(
        self,
        tenant: str,
        *,
        cap: int,
        procedure: str | None = None,
        typologie: str | None = None,
        act_number: str | None = None,
        closed_from: datetime | None = None,
        closed_to: datetime | None = None,
        words: Sequence[str] = (),
        states: Sequence[str] = (),
    ) -> int:
        """How many packages match, counted up to `cap + 1` only: a result list says "more
        than 1000" instead of counting a million rows on every page."""
        filters = _search_filters(
            tenant,
            dialect=self.conn.dialect.name,
            procedure=procedure,
            typologie=typologie,
            act_number=act_number,
            closed_from=closed_from,
            closed_to=closed_to,
            words=words,
            states=states,
        )
        capped = select(literal(1)).select_from(a.archive_packages).where(*filters).limit(cap + 1)
        return int(self.conn.execute(select(func.count()).select_from(capped.subquery())).one()[0])

    def copies(self, tenant: str) -> dict[str, dict[str, Any]]:
        """Where the second copy of each package is and the audit's repairs (package → record),
        for the packages that have such a record (only with a secondary store)."""
        p = a.archive_packages.c
        rows = self.conn.execute(
            select(p.package_id, p.copies).where(p.tenant == tenant, p.copies.is_not(None))
        )
        return {r.package_id: dict(r.copies) for r in rows if r.copies}

    def retain_untils(self, tenant: str, states: Sequence[str]) -> dict[str, datetime | None]:
        """The COMPLIANCE lock end of each package in ``states`` (package → date)."""
        p = a.archive_packages.c
        rows = self.conn.execute(
            select(p.package_id, p.retain_until).where(p.tenant == tenant, p.state.in_(states))
        )
        return {r.package_id: _aware(r.retain_until) for r in rows}

    def ids(self, tenant: str, states: Sequence[str]) -> list[str]:
        rows = self.conn.execute(
            select(a.archive_packages.c.package_id).where(
                a.archive_packages.c.tenant == tenant, a.archive_packages.c.state.in_(states)
            )
        )
        return sorted(r.package_id for r in rows)

    def due(self, tenant: str, today: date, *, limit: int = 200) -> list[ArchivedPackage]:
        """Archived packages whose DUA has ended (the archivist must decide), without their
        heavy JSON columns."""
        p = a.archive_packages.c
        rows = self.conn.execute(
            select(*_SUMMARY_COLUMNS)
            .where(p.tenant == tenant, p.state == PackageState.ARCHIVED, p.dua_end < today)
            .order_by(p.dua_end, p.package_id)
            .limit(limit)
        )
        return [_package(r) for r in rows]

    def tenants_with_packages(self) -> list[str]:
        rows = self.conn.execute(select(a.archive_packages.c.tenant).distinct())
        return sorted(r.tenant for r in rows)

    def count_by_state(self, tenant: str, *, cap: int | None = None) -> dict[str, int]:
        """Packages per state; with `cap`, each state is counted up to `cap + 1` only (one
        statement, bounded work whatever the size of the tenant's archive)."""
        p = a.archive_packages.c
        if cap is None:
            rows = self.conn.execute(
                select(p.state, func.count()).where(p.tenant == tenant).group_by(p.state)
            )
            return {str(state): int(count) for state, count in rows}
        parts = []
        for state in (
            PackageState.WAITING,
            PackageState.ARCHIVED,
            PackageState.TRANSFERRED,
            PackageState.DESTROYED,
        ):
            capped = (
                select(literal(1).label("one"))
                .where(p.tenant == tenant, p.state == state)
                .limit(cap + 1)
                .subquery()
            )
            parts.append(
                select(literal(state).label("state"), func.count().label("n")).select_from(capped)
            )
        counts = self.conn.execute(union_all(*parts))
        return {str(row.state): int(row.n) for row in counts if row.n}

    def acknowledgements(self, tenant: str, case_id: uuid.UUID) -> list[tuple[str, str, bytes]]:
        """(act number, AR identifier, AR XML) of the case's acknowledged transmissions."""
        t = c.actes_transmissions.c
        rows = self.conn.execute(
            select(t.act_number, t.ack_id, t.ack_xml)
            .where(
                t.tenant == tenant,
                t.case_id == case_id,
                t.ack_id.is_not(None),
                t.ack_xml.is_not(None),
            )
            .order_by(t.created_at)
        )
        return [(r.act_number, r.ack_id, r.ack_xml.encode("iso-8859-1")) for r in rows]

    # Retention schedule and decisions ---------------------------------------------------

    def retention_rule(self, tenant: str, typologie: str) -> RetentionRuleRow | None:
        r = a.archive_retention_rules.c
        row = self.conn.execute(
            select(a.archive_retention_rules).where(r.tenant == tenant, r.typologie == typologie)
        ).first()
        if row is None:
            return None
        return RetentionRuleRow(
            row.typologie, row.rule_id, row.years, row.final_action, row.access_rule
        )

    def set_retention_rule(self, tenant: str, rule: RetentionRuleRow, now: datetime) -> None:
        r = a.archive_retention_rules.c
        values = {
            "rule_id": rule.rule_id,
            "years": rule.years,
            "final_action": rule.final_action,
            "access_rule": rule.access_rule,
            "updated_at": now,
        }
        done = self.conn.execute(
            update(a.archive_retention_rules)
            .where(r.tenant == tenant, r.typologie == rule.typologie)
            .values(**values)
        )
        if done.rowcount == 0:
            self.conn.execute(
                insert(a.archive_retention_rules).values(
                    tenant=tenant, typologie=rule.typologie, **values
                )
            )

    def add_decision(self, decision: RetentionDecision) -> None:
        self.conn.execute(
            insert(a.archive_retention_decisions).values(
                id=decision.id,
                tenant=decision.tenant,
                package_id=decision.package_id,
                decision=decision.decision,
                years=decision.years,
                comment=decision.comment,
                decided_by=decision.decided_by,
                decided_at=decision.decided_at,
                outcome=decision.outcome,
            )
        )

    def decisions(self, tenant: str, package_id: str | None = None) -> list[RetentionDecision]:
        d = a.archive_retention_decisions.c
        query = select(a.archive_retention_decisions).where(d.tenant == tenant)
        if package_id is not None:
            query = query.where(d.package_id == package_id)
        rows = self.conn.execute(query.order_by(d.decided_at.desc()))
        return [
            RetentionDecision(
                r.id,
                r.tenant,
                r.package_id,
                r.decision,
                r.years,
                r.comment,
                r.decided_by,
                _aware(r.decided_at) or r.decided_at,
                r.outcome,
            )
            for r in rows
        ]

    # Journal seals -----------------------------------------------------------------------

    def seals(self, tenant: str) -> list[JournalSeal]:
        s = a.archive_journal_seals.c
        rows = self.conn.execute(
            select(a.archive_journal_seals).where(s.tenant == tenant).order_by(s.number)
        )
        return [_seal(r) for r in rows]

    def last_seal(self, tenant: str) -> JournalSeal | None:
        s = a.archive_journal_seals.c
        row = self.conn.execute(
            select(a.archive_journal_seals)
            .where(s.tenant == tenant)
            .order_by(s.number.desc())
            .limit(1)
        ).first()
        return _seal(row) if row is not None else None

    def seal_covering(self, tenant: str, seq: int) -> JournalSeal | None:
        s = a.archive_journal_seals.c
        row = self.conn.execute(
            select(a.archive_journal_seals).where(
                s.tenant == tenant, s.first_seq <= seq, s.last_seq >= seq
            )
        ).first()
        return _seal(row) if row is not None else None

    def add_seal(self, seal: JournalSeal, *, object_key: str, version_id: str) -> None:
        self.conn.execute(
            insert(a.archive_journal_seals).values(
                tenant=seal.scope,
                number=seal.number,
                first_seq=seal.first_seq,
                last_seq=seal.last_seq,
                merkle_root=seal.merkle_root,
                previous=seal.previous,
                digest=seal.digest,
                sealed_at=seal.sealed_at,
                token=seal.token,
                object_key=object_key,
                version_id=version_id,
                head_hash=seal.head_hash or None,
            )
        )

    # Audits --------------------------------------------------------------------------------

    def open_run(self, tenant: str) -> AuditRun | None:
        r = a.archive_audit_runs.c
        row = self.conn.execute(
            select(a.archive_audit_runs)
            .where(r.tenant == tenant, r.finished_at.is_(None))
            .order_by(r.started_at.desc())
            .limit(1)
        ).first()
        return _run(row) if row is not None else None

    def runs(self, tenant: str, *, limit: int = 20) -> list[AuditRun]:
        r = a.archive_audit_runs.c
        rows = self.conn.execute(
            select(a.archive_audit_runs)
            .where(r.tenant == tenant)
            .order_by(r.started_at.desc())
            .limit(limit)
        )
        return [_run(row) for row in rows]

    def run(self, tenant: str, run_id: uuid.UUID) -> AuditRun | None:
        r = a.archive_audit_runs.c
        row = self.conn.execute(
            select(a.archive_audit_runs).where(r.tenant == tenant, r.id == run_id)
        ).first()
        return _run(row) if row is not None else None

    def start_run(self, tenant: str, now: datetime) -> uuid.UUID:
        run_id = uuid.uuid4()
        self.conn.execute(
            insert(a.archive_audit_runs).values(
                id=run_id,
                tenant=tenant,
                started_at=now,
                updated_at=now,
                batches=0,
                packages_checked=0,
                objects_checked=0,
                bytes_read=0,
                findings_count=0,
            )
        )
        return run_id

    def advance_run(
        self,
        run_id: uuid.UUID,
        *,
        cursor: str | None,
        packages: int,
        objects: int,
        bytes_read: int,
        findings: Sequence[StoredFinding],
        finished: bool,
        now: datetime,
        tenant: str,
    ) -> None:
        r = a.archive_audit_runs.c
        self.conn.execute(
            update(a.archive_audit_runs)
            .where(r.id == run_id)
            .values(
                cursor=cursor,
                batches=r.batches + 1,
                packages_checked=r.packages_checked + packages,
                objects_checked=r.objects_checked + objects,
                bytes_read=r.bytes_read + bytes_read,
                findings_count=r.findings_count + len(findings),
                updated_at=now,
                finished_at=now if finished else None,
            )
        )
        if findings:
            self.conn.execute(
                insert(a.archive_audit_findings),
                [
                    {
                        "run_id": run_id,
                        "tenant": tenant,
                        "package_id": f.package_id[:128],
                        "kind": f.kind[:30],
                        "path": f.path[:500],
                        "message": f.message,
                    }
                    for f in findings
                ],
            )

    def fail_run(self, run_id: uuid.UUID, error: str, now: datetime) -> None:
        self.conn.execute(
            update(a.archive_audit_runs)
            .where(a.archive_audit_runs.c.id == run_id)
            .values(error=error[:2000], updated_at=now)
        )

    def recent_findings_by_kind(self, since: datetime) -> dict[str, int]:
        """Findings of the audit runs started since `since`, all tenants, by kind (metrics)."""
        runs = select(a.archive_audit_runs.c.id).where(a.archive_audit_runs.c.started_at >= since)
        rows = self.conn.execute(
            select(a.archive_audit_findings.c.kind, func.count())
            .where(a.archive_audit_findings.c.run_id.in_(runs))
            .group_by(a.archive_audit_findings.c.kind)
        )
        return {str(r[0]): int(r[1]) for r in rows}

    def packages_by_state(self) -> dict[str, int]:
        """Archive packages by state, all tenants (metrics)."""
        rows = self.conn.execute(
            select(a.archive_packages.c.state, func.count()).group_by(a.archive_packages.c.state)
        )
        return {str(r[0]): int(r[1]) for r in rows}

    def findings(self, tenant: str, run_id: uuid.UUID) -> list[StoredFinding]:
        f = a.archive_audit_findings.c
        rows = self.conn.execute(
            select(a.archive_audit_findings)
            .where(f.tenant == tenant, f.run_id == run_id)
            .order_by(f.id)
        )
        return [StoredFinding(r.package_id, r.kind, r.path, r.message) for r in rows]

    def packages_in_states(self, tenant: str, states: Sequence[str]) -> list[ArchivedPackage]:
        p = a.archive_packages.c
        rows = self.conn.execute(
            select(a.archive_packages)
            .where(p.tenant == tenant, or_(*(p.state == s for s in states)))
            .order_by(p.updated_at.desc())
        )
        return [_package(r) for r in rows]
