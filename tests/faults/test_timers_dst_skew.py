"""Timers due across the changes of time of 2027 (Europe/Paris), fired by real `dematflow beat`
and `dematflow worker` processes whose clocks are 90 s apart: none fires early, none more than a
minute late.

The changes of 2027: on 28 March at 01:00 UTC Paris skips from 02:00 to 03:00 (02:00–03:00 does
not exist that night); on 31 October at 01:00 UTC it goes back from 03:00 to 02:00 (02:00–03:00
happens twice). The test does not wait for 2027: each scenario's cases belong to training tenants
(`engine.domain.training`), whose clock is the real time plus an offset the test sets and moves
forward, just before the instants that matter; beat and the worker run as separate processes
under libfaketime (Debian's `libfaketime`), one 90 s ahead of the real time and the other 90 s
behind. The test process, on the real time like the database, watches each case's journal and
notes on the tenant's clock when it first sees its timer fired.

Cases wait on a date-time given with its Paris offset (`timeDate`) or on « P1D » (`timeDuration`)
started the day before at a Paris wall time: one day later is the same wall time (23 hours across
the spring change, 25 across the autumn one); a wall time the spring change skips moves forward
by the gap, one the autumn change repeats is its first occurrence (`engine.runtime.clock`).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.bootstrap import Platform, build_platform
from engine.domain.model import Actor
from engine.domain.training import TenantClock
from engine.runtime.clock import frozen_now
from engine.services import admin
from engine.services import cases as case_services
from engine.services.admin import deploy_directory
from engine.settings import BrokerSettings, Settings
from tests.engine.support import luhn_siren
from tests.fixtures.processes import Process, beat, worker

pytestmark = pytest.mark.faults

PROCEDURES = Path(__file__).parent / "procedures"
PARIS = ZoneInfo("Europe/Paris")
FAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
SKEW = timedelta(seconds=90)
LATEST = timedelta(minutes=1)
"""A timer fires at most this long after its due time."""
LEAD = timedelta(seconds=20)
"""How far before its first due time the first phase puts the tenants' clocks (the processes
start meanwhile); the second phase, the processes running, needs less."""
NEXT_LEAD = timedelta(seconds=8)
AGENT = Actor("user:agent", frozenset({"agent"}), "Claire Agent")
OPERATOR = Actor.system("tests")
SPRING = luhn_siren("21750001")
AUTUMN = luhn_siren("21750002")


def paris(text: str) -> datetime:
    """A Paris date-time written with its offset (the only unambiguous way near a change)."""
    value = datetime.fromisoformat(text)
    assert value.utcoffset() == value.astimezone(PARIS).utcoffset(), text
    return value.astimezone(UTC)


@dataclass(frozen=True, eq=False)
class Timer:
    name: str
    tenant: str
    started: datetime
    """The tenant's time the case starts (reaches its timer)."""
    data: dict[str, str]
    due: datetime
    phase: int
    """The phase of the test (a setting of the tenants' clocks) during which it falls due."""


def at_date(name: str, tenant: str, due: str, phase: int = 1) -> Timer:
    moment = paris(due)
    started = moment - timedelta(days=2)
    return Timer(name, tenant, started, {"echeance": due, "delai": ""}, moment, phase)


def one_day_after(name: str, tenant: str, start: str, due: str, phase: int = 1) -> Timer:
    data = {"echeance": "", "delai": "P1D"}
    return Timer(name, tenant, paris(start), data, paris(due), phase)


TIMERS = (
    # 28 March 2027: 02:00 winter time is 03:00 summer time (01:00 UTC).
    at_date("dernière seconde de l'heure d'hiver", SPRING, "2027-03-28T01:59:55+01:00"),
    at_date("premier instant de l'heure d'été", SPRING, "2027-03-28T03:00:00+02:00"),
    one_day_after(
        "P1D, 23 heures",
        SPRING,
        "2027-03-27T03:00:05+01:00",
        "2027-03-28T03:00:05+02:00",
    ),
    one_day_after(
        "P1D vers une heure qui n'existe pas (02:00:10)",
        SPRING,
        "2027-03-27T02:00:10+01:00",
        "2027-03-28T03:00:10+02:00",
    ),
    # 31 October 2027: 03:00 summer time is 02:00 winter time (01:00 UTC).
    one_day_after(
        "P1D vers une heure vécue deux fois (la première)",
        AUTUMN,
        "2027-10-30T02:59:58+02:00",
        "2027-10-31T02:59:58+02:00",
    ),
    at_date("dernière seconde de l'heure d'été", AUTUMN, "2027-10-31T02:59:55+02:00"),
    at_date("second 02:00, heure d'hiver", AUTUMN, "2027-10-31T02:00:00+01:00"),
    one_day_after(
        "P1D, 25 heures",
        AUTUMN,
        "2027-10-30T03:00:05+02:00",
        "2027-10-31T03:00:05+01:00",
        phase=2,
    ),
)


def faketime_env(shift: timedelta) -> dict[str, str]:
    """The environment that runs a process `shift` off the real time (libfaketime). Its
    monotonic clock moves by as much: with it left alone, libfaketime 0.9.10 makes Python's
    `time.sleep` fail (EINVAL) and beat stops."""
    seconds = int(shift.total_seconds())
    return {
        "LD_PRELOAD": str(FAKETIME),
        "FAKETIME": f"{seconds:+d}",
    }


@pytest.fixture
def platform(
    private_pg_database_url: str, private_redis_url: str, tmp_path: Path
) -> Iterator[Platform]:
    if not FAKETIME.exists():
        pytest.skip("libfaketime is not installed (Debian package libfaketime)")
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=private_pg_database_url,
        secret_key=secrets.token_urlsafe(32),
        broker=BrokerSettings(url=private_redis_url, key_prefix=f"dst-{uuid.uuid4().hex[:6]}:"),
    )
    p = build_platform(settings)
    with p.uow() as uow:
        deploy_directory(uow, PROCEDURES, operations=p.operations, now=p.clock())
        for siren in (SPRING, AUTUMN):
            admin.create_tenant(
                uow, siren=siren, name=f"Formation {siren}", actor=OPERATOR, now=p.clock()
            )
        uow.commit()
    yield p
    p.db.dispose()


def set_clocks(p: Platform, times: dict[str, datetime]) -> None:
    """Set each training tenant's clock so that it reads `times[tenant]` now (forward only)."""
    real = datetime.now(UTC)
    with p.uow() as uow:
        for tenant, moment in times.items():
            uow.tenants.set_clock(tenant, TenantClock(True, moment - real))
        uow.commit()


def tenant_time(p: Platform, tenant: str) -> datetime:
    with p.uow() as uow:
        clock = uow.tenants.training_clocks()[tenant]
    return clock.now(datetime.now(UTC))


def start_cases(p: Platform) -> dict[Timer, uuid.UUID]:
    """Each case starts at its tenant's time `timer.started` (the clock moved there first)."""
    cases = {}
    for timer in sorted(TIMERS, key=lambda t: t.started):
        set_clocks(p, {timer.tenant: timer.started})
        with p.uow() as uow, frozen_now(timer.started):
            case = case_services.start_case(
                uow,
                tenant=timer.tenant,
                procedure="minuteurs",
                data={"objet": timer.name, **timer.data},
                actor=AGENT,
                now=timer.started,
            )
            uow.commit()
        cases[timer] = case.id
    with p.uow() as uow:
        for timer, case_id in cases.items():
            (waiting,) = [w for w in uow.cases.tenant_timers(timer.tenant, 100) if w[0] == case_id]
            assert waiting[2] == timer.due, (timer.name, waiting[2].isoformat())
    return cases


def watch(
    p: Platform, cases: dict[Timer, uuid.UUID], phase: int, processes: list[Process]
) -> dict[Timer, datetime]:
    """Poll the journal until every timer of `phase` has fired (or is a minute late): when each
    was first seen fired, on its tenant's clock; those fired before their phase are recorded
    too (early)."""
    seen: dict[Timer, datetime] = {}
    last_due = max(t.due for t in TIMERS if t.phase == phase)
    tenant = next(t.tenant for t in TIMERS if t.due == last_due)
    while True:
        for process in processes:
            process.check_alive()
        with p.uow() as uow:
            for timer, case_id in cases.items():
                if timer in seen:
                    continue
                kinds = [e.kind for e in uow.journal.for_case(timer.tenant, case_id)]
                if "timer.fired" in kinds:
                    seen[timer] = tenant_time(p, timer.tenant)
        pending = [t for t in TIMERS if t.phase == phase and t not in seen]
        if not pending or tenant_time(p, tenant) > last_due + LATEST + timedelta(seconds=5):
            return seen
        time.sleep(0.25)


@pytest.mark.parametrize(
    ("beat_shift", "worker_shift"), [(-SKEW, SKEW), (SKEW, -SKEW)], ids=["beat-late", "beat-early"]
)
def test_no_timer_fires_early_nor_a_minute_late(
    platform: Platform, tmp_path: Path, beat_shift: timedelta, worker_shift: timedelta
) -> None:
    p = platform
    cases = start_cases(p)
    first = {
        tenant: min(t.due for t in TIMERS if t.tenant == tenant) for tenant in (SPRING, AUTUMN)
    }
    set_clocks(p, {tenant: due - LEAD for tenant, due in first.items()})
    settings = p.settings
    with (
        worker(settings, tmp_path / "worker.log", faketime_env(worker_shift)) as work,
        beat(settings, tmp_path / "beat.log", faketime_env(beat_shift)) as scheduler,
    ):
        processes = [work, scheduler]
        seen = watch(p, cases, 1, processes)
        second = min(t.due for t in TIMERS if t.phase == 2)
        set_clocks(p, {AUTUMN: max(second - NEXT_LEAD, tenant_time(p, AUTUMN))})
        seen.update({t: at for t, at in watch(p, cases, 2, processes).items() if t not in seen})
    late = {t.name: "jamais" for t in TIMERS if t not in seen}
    late.update({t.name: str(at - t.due) for t, at in seen.items() if at - t.due > LATEST})
    early = {t.name: str(t.due - at) for t, at in seen.items() if at < t.due}
    assert not early, f"en avance : {early}"
    assert not late, f"en retard de plus d'une minute : {late}"
    with p.uow() as uow:  # each fired once, at the due time computed when its case started
        for timer, case_id in cases.items():
            journal = uow.journal.for_case(timer.tenant, case_id)
            (fired,) = [e for e in journal if e.kind == "timer.fired"]
            assert fired.payload["due_at"] == timer.due.isoformat()
