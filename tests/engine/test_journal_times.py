"""Journal links are stamped in UTC whatever zone the caller's time carries."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.bootstrap import Platform
from engine.services.archives.journal_checks import verify_journal
from tests.engine.support import SIREN_A, make_tenants

PARIS = ZoneInfo("Europe/Paris")


def test_a_paris_time_keeps_the_chain_verifiable(platform: Platform) -> None:
    # SQLite keeps no offset and reads times back as UTC: a link stamped 18:30+01:00 was read
    # back as 18:30 UTC and no longer hashed to itself (the demo's 53 anomalies).
    make_tenants(platform)
    with platform.uow() as uow:
        entry = uow.journal.append(
            tenant=SIREN_A,
            kind="test.paris",
            case_id=None,
            actor="system",
            payload={},
            now=datetime(2027, 1, 28, 18, 30, tzinfo=PARIS),
        )
        uow.commit()
    assert entry.recorded_at.utcoffset() == timedelta(0)
    with platform.uow() as uow:
        report = verify_journal(uow, SIREN_A)
    assert report.intact, report.findings


def test_a_naive_time_is_refused(platform: Platform) -> None:
    make_tenants(platform)
    with platform.uow() as uow, pytest.raises(ValueError):
        uow.journal.append(
            tenant=SIREN_A,
            kind="test.naive",
            case_id=None,
            actor="system",
            payload={},
            now=datetime(2027, 1, 28, 18, 30),
        )
