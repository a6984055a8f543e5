"""Reads and writes of the RGPD purge: closed cases still holding personal data, what was
anonymised, erased document bytes, the case's records scrubbed of the removed values
(`person_search_repositories` holds the right of access's reads)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, exists, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from engine.persistence import tables as t
from engine.persistence import tables_archives as a
from engine.persistence import tables_connectors as tc
from engine.persistence import tables_personal_data as p

__all__ = ["ALL_DONE", "CaseCandidate", "PersonalDataRepository"]

ALL_DONE = "*"
CLOSED = ("completed", "cancelled")
WAITING_PACKAGE = "en_attente"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class CaseCandidate:
    """A closed case that may still hold personal data, as its row says (no state loaded)."""

    id: uuid.UUID
    tenant: str
    procedure: str
    spec_hash: str
    reference: str
    status: str
    summary: dict[str, Any]
    closed_at: datetime
    purged: frozenset[str]


class PersonalDataRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- purge ------------------------------------------------------------------------------

    def closed_cases(
        self, tenant: str, *, now: datetime, after: uuid.UUID | None, limit: int
    ) -> list[CaseCandidate]:
        """Closed cases of the tenant not fully purged, whose package (if any) is sealed and not
        under a legal hold: a package still waiting to be sealed needs the case's documents as
        they are, and a hold (a dispute) keeps the whole case as it is until it is lifted.
        A case whose next key falls due after `now` is not read."""
        cases = t.cases.c
        done = exists().where(
            p.personal_data_purges.c.case_id == cases.id,
            p.personal_data_purges.c.path == ALL_DONE,
        )
        waiting = exists().where(
            a.archive_packages.c.case_id == cases.id,
            or_(
                a.archive_packages.c.state == WAITING_PACKAGE,
                a.archive_packages.c.legal_hold.is_(True),
            ),
        )
        later = exists().where(
            p.personal_data_due.c.case_id == cases.id, p.personal_data_due.c.due_at > now
        )
        query = (
            select(
                cases.id,
                cases.procedure,
                cases.spec_hash,
                cases.reference,
                cases.status,
                cases.summary,
                cases.updated_at,
            )
            .where(cases.tenant == tenant, cases.status.in_(CLOSED), ~done, ~waiting, ~later)
            .order_by(cases.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(cases.id > after)
        rows = list(self.conn.execute(query))
        purged = self._purged([row.id for row in rows])
        found = []
        for row in rows:
            paths = purged.get(row.id, {})
            closed_at = min(paths.values()) if paths else row.updated_at
            found.append(
                CaseCandidate(
                    id=row.id,
                    tenant=tenant,
                    procedure=row.procedure,
                    spec_hash=row.spec_hash,
                    reference=row.reference,
                    status=row.status,
                    summary=row.summary if isinstance(row.summary, dict) else {},
                    closed_at=closed_at,
                    purged=frozenset(paths),
                )
            )
        return found

    def _purged(self, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, datetime]]:
        found: dict[uuid.UUID, dict[str, datetime]] = {}
        if not case_ids:
            return found
        table = p.personal_data_purges.c
        for row in self.conn.execute(
            select(table.case_id, table.path, table.closed_at).where(table.case_id.in_(case_ids))
        ):
            found.setdefault(row.case_id, {})[row.path] = row.closed_at
        return found

    def record_purged(
        self,
        tenant: str,
        case_id: uuid.UUID,
        paths: Iterable[str],
        *,
        closed_at: datetime,
        now: datetime,
    ) -> None:
        for path in paths:
            values = dict(
                case_id=case_id, path=path, tenant=tenant, closed_at=closed_at, purged_at=now
            )
            if self.conn.dialect.name == "postgresql":
                self.conn.execute(
                    pg_insert(p.personal_data_purges).values(**values).on_conflict_do_nothing()
                )
            elif not self.conn.execute(
                select(p.personal_data_purges.c.path).where(
                    p.personal_data_purges.c.case_id == case_id,
                    p.personal_data_purges.c.path == path,
                )
            ).first():
                self.conn.execute(p.personal_data_purges.insert().values(**values))

    def set_next_due(self, tenant: str, due: dict[uuid.UUID, datetime | None]) -> None:
        """Record when each case's next declared key falls due (None: nothing left)."""
        table = p.personal_data_due
        for case_id, due_at in due.items():
            self.conn.execute(delete(table).where(table.c.case_id == case_id))
            if due_at is not None:
                self.conn.execute(
                    table.insert().values(case_id=case_id, tenant=tenant, due_at=due_at)
                )

    def erase_document(
        self,
        tenant: str,
        document_id: uuid.UUID,
        *,
        case_id: uuid.UUID,
        now: datetime,
        name: str,
    ) -> bool:
        """Erase a working document's bytes: its row names the empty blob from now on and the
        old blob goes when no document refers to it any more. False when already erased or
        not the case's (a document uploaded for the case but never attached to one counts as
        the case's: only this case's data refers to it)."""
        docs = t.documents.c
        row = self.conn.execute(
            select(docs.id, docs.case_id, docs.sha256, docs.size).where(
                docs.tenant == tenant,
                docs.id == document_id,
                or_(docs.case_id == case_id, docs.case_id.is_(None)),
            )
        ).first()
        if row is None or row.sha256 == EMPTY_SHA256:
            return False
        if not self.conn.execute(
            select(t.blobs.c.sha256).where(t.blobs.c.sha256 == EMPTY_SHA256)
        ).first():
            self.conn.execute(t.blobs.insert().values(sha256=EMPTY_SHA256, size=0, content=b""))
        self.conn.execute(
            update(t.documents)
            .where(docs.id == document_id)
            .values(sha256=EMPTY_SHA256, size=0, name=name)
        )
        self.conn.execute(
            p.purged_documents.insert().values(
                document_id=document_id,
                tenant=tenant,
                case_id=row.case_id,
                sha256=row.sha256,
                size=row.size,
                purged_at=now,
            )
        )
        still_used = self.conn.execute(
            select(docs.id).where(docs.sha256 == row.sha256).limit(1)
        ).first()
        if still_used is None:
            self.conn.execute(delete(t.blobs).where(t.blobs.c.sha256 == row.sha256))
        return True

    def scrub_case_records(
        self, tenant: str, case_id: uuid.UUID, scrub: Callable[[Any], Any]
    ) -> int:
        """Apply `scrub` to what the case's jobs, their remembered effects and its mail sendings
        hold (recipients, rendering contexts), and to its error and cancellation texts; the
        number of rows changed."""
        changed = 0
        jobs = t.jobs.c
        for row in self.conn.execute(
            select(jobs.id, jobs.params, jobs.result, jobs.error).where(
                jobs.tenant == tenant, jobs.case_id == case_id
            )
        ):
            values = {
                "params": scrub(row.params),
                "result": scrub(row.result),
                "error": scrub(row.error),
            }
            if values != {"params": row.params, "result": row.result, "error": row.error}:
                self.conn.execute(update(t.jobs).where(jobs.id == row.id).values(**values))
                changed += 1
        effects = t.operation_effects.c
        for effect in self.conn.execute(
            select(effects.idempotency_key, effects.result).where(
                effects.tenant == tenant, effects.idempotency_key.like(f"{case_id}:%")
            )
        ):
            result = scrub(effect.result)
            if result != effect.result:
                self.conn.execute(
                    update(t.operation_effects)
                    .where(effects.idempotency_key == effect.idempotency_key)
                    .values(result=result)
                )
                changed += 1
        mails = tc.mail_sendings.c
        for mail in self.conn.execute(
            select(mails.idempotency_key, mails.pending, mails.result).where(
                mails.tenant == tenant, mails.case_id == case_id
            )
        ):
            sent = {"pending": scrub(mail.pending), "result": scrub(mail.result)}
            if sent != {"pending": mail.pending, "result": mail.result}:
                self.conn.execute(
                    update(tc.mail_sendings)
                    .where(mails.tenant == tenant, mails.idempotency_key == mail.idempotency_key)
                    .values(**sent)
                )
                changed += 1
        cases = t.cases.c
        case = self.conn.execute(
            select(cases.error, cases.cancel_reason).where(cases.id == case_id)
        ).first()
        if case is not None:
            texts = {"error": scrub(case.error), "cancel_reason": scrub(case.cancel_reason)}
            if texts != {"error": case.error, "cancel_reason": case.cancel_reason}:
                self.conn.execute(update(t.cases).where(cases.id == case_id).values(**texts))
                changed += 1
        return changed
