"""Verification of a tenant's hash-chained journal."""

from __future__ import annotations

from engine.domain.journal import ChainReport, verify_chain
from engine.persistence.uow import UnitOfWork


def verify_journal(uow: UnitOfWork, tenant: str) -> ChainReport:
    _seq, head = uow.journal.head(tenant)
    return verify_chain(tenant, uow.journal.iter_entries(tenant), expected_head=head)
