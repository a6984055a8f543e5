"""The records a tenant's journal describes, read for the completeness check of `audit verify`:
each case with its version and last change, each document, each archived package."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from engine.persistence import tables as t
from engine.persistence import tables_archives as a


@dataclass(frozen=True)
class CaseRecord:
    id: uuid.UUID
    reference: str
    version: int
    updated_at: datetime


@dataclass(frozen=True)
class DocumentRecord:
    id: uuid.UUID
    case_id: uuid.UUID | None
    name: str


@dataclass(frozen=True)
class JournalRecords:
    """What the database holds besides the journal, for one tenant."""

    cases: tuple[CaseRecord, ...]
    documents: tuple[DocumentRecord, ...]
    packages: frozenset[str]
    """Every package id recorded for the tenant."""
    archived: frozenset[str]
    """Package ids whose sealed package is in the store (archived or transferred)."""


def read_journal_records(
    conn: Connection, tenant: str, archived_states: tuple[str, ...]
) -> JournalRecords:
    c, d, p = t.cases.c, t.documents.c, a.archive_packages.c
    cases = tuple(
        CaseRecord(row.id, row.reference, int(row.version), row.updated_at)
        for row in conn.execute(
            select(c.id, c.reference, c.version, c.updated_at).where(c.tenant == tenant)
        )
    )
    documents = tuple(
        DocumentRecord(row.id, row.case_id, row.name)
        for row in conn.execute(select(d.id, d.case_id, d.name).where(d.tenant == tenant))
    )
    packages = list(conn.execute(select(p.package_id, p.state).where(p.tenant == tenant)))
    return JournalRecords(
        cases=cases,
        documents=documents,
        packages=frozenset(str(row.package_id) for row in packages),
        archived=frozenset(str(row.package_id) for row in packages if row.state in archived_states),
    )
