"""Training tenants: their own clock, timers fired in order when it moves, the journal on both
clocks, the FORMATION mark on documents."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from engine.bootstrap import Platform
from engine.domain.errors import InvalidInput
from engine.domain.journal import verify_chain
from engine.domain.training import (
    REAL_CLOCK,
    TenantClock,
    in_training,
    on_tenant_clock,
    real_time,
)
from engine.jobs.timers import advance_tenant_clock, fire_due_timers
from engine.rendering import RenderRequest, render_pdf
from engine.services.tenant_clock import (
    ClockMove,
    add_months,
    make_training,
    move_target,
    tenant_now,
    upcoming_timers,
)
from tests.engine.support import AGENT, OPERATOR, SIREN_A, SIREN_B, complete, make_tenants, start

DRAFT = {"objet": "Arrêté de voirie", "nature": "3", "texte": "Le maire arrête la fermeture."}
REAL = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_the_clock_only_moves_forward() -> None:
    clock = TenantClock(training=True)
    ahead = clock.moved_to(REAL + timedelta(days=3), REAL)
    assert ahead.now(REAL) == REAL + timedelta(days=3)
    assert ahead.moved_to(REAL + timedelta(days=1), REAL) == ahead
    with pytest.raises(ValueError):
        REAL_CLOCK.moved_to(REAL + timedelta(days=1), REAL)
    with pytest.raises(InvalidInput, match="ne recule jamais"):
        move_target(ahead, ClockMove(to=REAL + timedelta(days=2)), REAL)
    with pytest.raises(InvalidInput, match="espace de formation"):
        move_target(REAL_CLOCK, ClockMove(by=timedelta(days=1)), REAL)
    assert move_target(ahead, ClockMove(by=timedelta(days=7)), REAL) == REAL + timedelta(days=10)


def test_a_month_is_a_calendar_month_in_paris() -> None:
    end_of_january = datetime(2027, 1, 31, 9, tzinfo=UTC)
    assert add_months(end_of_january, 1) == datetime(2027, 2, 28, 9, tzinfo=UTC)
    assert add_months(datetime(2026, 12, 15, 9, tzinfo=UTC), 2).month == 2


def test_the_platform_clock_reads_the_tenant_clock_once() -> None:
    ahead = TenantClock(True, timedelta(days=5))
    with on_tenant_clock(ahead):
        assert in_training()
        real = real_time(lambda: datetime.now(UTC))
        from engine.bootstrap import utcnow

        assert utcnow() - real > timedelta(days=4, hours=23)
    assert not in_training()


@pytest.fixture
def p(platform: Platform) -> Platform:
    make_tenants(platform)
    with platform.uow() as uow:
        make_training(uow, tenant=SIREN_B, actor=OPERATOR, now=platform.clock())
        uow.commit()
    return platform


def _move(p: Platform, move: ClockMove) -> int:
    with p.uow() as uow:
        moved = advance_tenant_clock(
            uow, tenant=SIREN_B, move=move, real_now=datetime.now(UTC), actor=AGENT
        )
        uow.commit()
    return moved.fired


def test_moving_the_clock_fires_the_timers_due_in_order(p: Platform) -> None:
    cases = [start(p, "arrete", tenant=SIREN_B) for _ in range(2)]
    for case in cases:
        complete(p, case, "rediger", DRAFT, tenant=SIREN_B)
    real_tenant = start(p, "arrete")
    complete(p, real_tenant, "rediger", DRAFT)
    with p.uow() as uow:
        waiting = upcoming_timers(uow, SIREN_B)
    assert len(waiting) == 2 and waiting[0].due_at <= waiting[1].due_at
    assert fire_due_timers(p.uow, now=datetime.now(UTC)) == 0

    assert _move(p, ClockMove(by=timedelta(days=7))) == 0
    assert _move(p, ClockMove(months=1)) == 2
    with p.uow() as uow:
        assert upcoming_timers(uow, SIREN_B) == []
        assert len(uow.cases.tenant_timers(SIREN_A, 10)) == 1, "a real tenant's timer waits"
        moved_now = tenant_now(uow, SIREN_B, datetime.now(UTC))
        entries = list(uow.journal.iter_entries(SIREN_B))
        head = uow.journal.head(SIREN_B)
    assert moved_now - datetime.now(UTC) > timedelta(days=36)
    assert verify_chain(SIREN_B, entries, expected_head=head[1]).intact
    fired = [e for e in entries if e.kind == "timer.fired"]
    assert [e.payload["due_at"] for e in fired] == sorted(e.payload["due_at"] for e in fired)
    stamps = [e.recorded_at for e in entries]
    assert stamps == sorted(stamps), "appended in the order they happen, on the tenant clock"
    assert all("heure_reelle" in e.payload for e in entries if e.kind != "tenant.created")
    for entry in fired:
        real = datetime.fromisoformat(entry.payload["heure_reelle"])
        assert entry.recorded_at - real > timedelta(days=29)


def test_the_periodic_job_reads_each_tenant_clock(p: Platform) -> None:
    case = start(p, "arrete", tenant=SIREN_B)
    complete(p, case, "rediger", DRAFT, tenant=SIREN_B)
    with p.uow() as uow:
        uow.tenants.set_clock(SIREN_B, TenantClock(True, timedelta(days=31)))
        uow.commit()
    assert fire_due_timers(p.uow, now=datetime.now(UTC)) == 1


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils")
def test_documents_of_a_training_tenant_are_marked() -> None:
    def text(training: bool) -> str:
        request = RenderRequest(
            template="note",
            context={"titre": "Note", "texte": "Bonjour."},
            issuer="Commune de Formation",
            issued_at=REAL,
        )
        with on_tenant_clock(TenantClock(training=training)):
            pdf = render_pdf(request).pdf
        out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
        return out.stdout.decode()

    assert "FORMATION" in text(True)
    assert "FORMATION" not in text(False)
