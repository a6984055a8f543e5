"""Reads of the right of access: where one person appears in a tenant (cases, documents,
member accounts, councillors, the journal entries of an account), always within the tenant."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, and_, cast, exists, func, or_, select

from engine.domain.model import JournalEntry
from engine.persistence import tables as t
from engine.persistence import tables_council as c
from engine.persistence import tables_personal_data as p

__all__ = ["PersonSearchRepository"]


def _stored_forms(needle: str) -> set[str]:
    """How a text may read inside the stored JSON, lowercased: as is, and with its non-ASCII
    letters escaped (`\\u00e9`) as the JSON columns store them, in any case of the letters."""
    forms = {needle.lower()}
    for variant in (needle, needle.lower(), needle.upper(), needle.title()):
        forms.add(json.dumps(variant)[1:-1].lower())
    return forms


class PersonSearchRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def cases_mentioning(
        self, tenant: str, needles: list[str], *, limit: int
    ) -> list[tuple[uuid.UUID, str, str, str, str, str, dict[str, Any]]]:
        """(id, reference, procedure, spec, title, status, summary) of the tenant's cases whose data
        contains one of the texts (case-insensitive), newest first."""
        cases = t.cases.c
        text = func.lower(cast(cases.summary, String))
        forms = {form for needle in needles for form in _stored_forms(needle)}
        matches = or_(*(text.contains(form, autoescape=True) for form in sorted(forms)))
        rows = self.conn.execute(
            select(
                cases.id,
                cases.reference,
                cases.procedure,
                cases.spec_hash,
                cases.title,
                cases.status,
                cases.summary,
            )
            .where(cases.tenant == tenant, matches)
            .order_by(cases.created_at.desc())
            .limit(limit)
        )
        return [
            (
                r.id,
                r.reference,
                r.procedure,
                r.spec_hash,
                r.title,
                r.status,
                dict(r.summary or {}),
            )
            for r in rows
        ]

    def members_matching(self, tenant: str, needles: list[str]) -> list[dict[str, Any]]:
        """Accounts of the tenant's members whose login, name or e-mail matches."""
        users, members = t.users.c, t.memberships.c
        conditions = [
            or_(
                func.lower(users.username) == needle.lower(),
                func.lower(users.email) == needle.lower(),
                func.lower(users.display_name).contains(needle.lower(), autoescape=True),
            )
            for needle in needles
        ]
        rows = self.conn.execute(
            select(
                users.id,
                users.username,
                users.display_name,
                users.email,
                users.created_at,
                users.active,
            )
            .where(
                or_(*conditions),
                exists().where(and_(members.user_id == users.id, members.tenant == tenant)),
            )
            .limit(20)
        )
        found = []
        for row in rows:
            roles = sorted(
                r.role
                for r in self.conn.execute(
                    select(members.role).where(members.user_id == row.id, members.tenant == tenant)
                )
            )
            found.append(
                {
                    "identifiant": row.username,
                    "nom": row.display_name,
                    "courriel": row.email,
                    "cree_le": row.created_at.isoformat(),
                    "actif": bool(row.active),
                    "roles": roles,
                    "user_id": str(row.id),
                }
            )
        return found

    def councillors_matching(self, tenant: str, needles: list[str]) -> list[dict[str, Any]]:
        council = c.councillors.c
        conditions = [
            or_(
                func.lower(council.email) == needle.lower(),
                func.lower(council.name).contains(needle.lower(), autoescape=True),
            )
            for needle in needles
        ]
        rows = self.conn.execute(
            select(council.name, council.email, council.role, council.mandate_start)
            .where(council.tenant == tenant, or_(*conditions))
            .limit(20)
        )
        return [
            {
                "nom": r.name,
                "courriel": r.email,
                "fonction": r.role,
                "mandat_depuis": r.mandate_start.isoformat(),
            }
            for r in rows
        ]

    def documents_of(
        self, tenant: str, case_id: uuid.UUID, referenced: Iterable[uuid.UUID] = ()
    ) -> list[dict[str, Any]]:
        """The case's documents, and those its data refers to (uploads never attached)."""
        docs = t.documents.c
        erased = p.purged_documents.c
        rows = self.conn.execute(
            select(docs.id, docs.name, docs.size, docs.sha256, docs.created_at, erased.purged_at)
            .select_from(t.documents.outerjoin(p.purged_documents, erased.document_id == docs.id))
            .where(
                docs.tenant == tenant,
                or_(docs.case_id == case_id, docs.id.in_(list(referenced)[:200])),
            )
            .order_by(docs.created_at)
        )
        return [
            {
                "id": str(r.id),
                "nom": r.name,
                "taille": int(r.size),
                "sha256": r.sha256,
                "depose_le": r.created_at.isoformat(),
                "efface_le": r.purged_at.isoformat() if r.purged_at else None,
            }
            for r in rows
        ]

    def journal_by_actor(self, tenant: str, actor: str, *, limit: int) -> list[JournalEntry]:
        """The newest journal entries an account wrote in the tenant (for its own export)."""
        rows = self.conn.execute(
            select(t.journal)
            .where(t.journal.c.tenant == tenant, t.journal.c.actor == actor)
            .order_by(t.journal.c.seq.desc())
            .limit(limit)
        )
        return [
            JournalEntry(
                tenant=r.tenant,
                seq=int(r.seq),
                kind=r.kind,
                case_id=r.case_id,
                actor=r.actor,
                payload=r.payload,
                recorded_at=r.recorded_at,
                prev_hash=r.prev_hash,
                hash=r.hash,
            )
            for r in rows
        ]

    def purged_paths_of(self, case_id: uuid.UUID) -> dict[str, datetime]:
        table = p.personal_data_purges.c
        return {
            row.path: row.purged_at
            for row in self.conn.execute(
                select(table.path, table.purged_at).where(table.case_id == case_id)
            )
        }
