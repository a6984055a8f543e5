"""Fair share between tenants: a burst of one tenant does not starve another's job (real worker
on Redis and PostgreSQL), and no job is lost, handed over twice or run twice."""

from __future__ import annotations

import secrets
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.bootstrap import Platform
from engine.domain.model import Job, JobState
from engine.persistence import tables as t
from engine.settings import BrokerSettings, Settings
from engine.worker import broker_files
from engine.worker.app import relay_outbox
from engine.worker.fair_share import Pump, plan_release, priority_for
from tests.engine.support import SIREN_A, SIREN_B, complete, make_tenants, start
from tests.fixtures.processes import producer as producer_platform
from tests.fixtures.processes import wait_for, worker
from tests.fixtures.services import BROKER_PREFIX, TEST_OPERATIONS

BURST = 10


def _job(tenant: str) -> Job:
    return Job(
        id=uuid.uuid4(),
        tenant=tenant,
        case_id=uuid.uuid4(),
        task_id=uuid.uuid4(),
        operation="test.slow_counter",
        params={},
        idempotency_key=str(uuid.uuid4()),
        state=JobState.PENDING,
        attempts=0,
    )


def test_each_place_goes_to_the_tenant_with_fewest_jobs_in_flight() -> None:
    burst = [_job("large") for _ in range(6)]
    small = [_job("small1"), _job("small2")]
    waiting = [*burst, small[0], small[1]]  # the burst is older
    plan = plan_release(waiting, {"large": 2}, 4, "signing")
    assert [r.job for r in plan] == [small[0], small[1], burst[0], burst[1]]
    assert [r.in_flight for r in plan] == [0, 0, 2, 3]
    assert [r.priority for r in plan] == [0, 0, 6, 6]
    # Nobody else waiting: the burst takes every free place (no capacity left idle).
    assert [r.job for r in plan_release(burst, {}, 4, "signing")] == burst[:4]
    assert plan_release(burst, {}, 0, "signing") == []
    assert [priority_for(n) for n in (0, 1, 2, 3, 4, 50)] == [0, 3, 6, 6, 9, 9]


@pytest.fixture
def producer(
    tmp_path: Path, redis_url: str, request: pytest.FixtureRequest
) -> Iterator[tuple[Platform, Settings]]:
    """Producer and worker apart with the test's (depth, broker): PostgreSQL and Redis, or the
    embedded default (SQLite, the file broker)."""
    depth, broker = request.param
    if broker == "redis":
        database_url: str | None = request.getfixturevalue("pg_database_url")
        broker_settings = BrokerSettings(
            url=redis_url, visibility_timeout=30, key_prefix=BROKER_PREFIX
        )
    else:
        target = tmp_path / "db.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        database_url, broker_settings = f"sqlite:///{target}", BrokerSettings()
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        operation_modules=[TEST_OPERATIONS],
        broker=broker_settings,
        fair_share_depth=depth,
        secret_key=secrets.token_urlsafe(32),  # production processes refuse the default
    )
    with producer_platform(settings) as p:
        yield p, settings
    # kombu's filesystem transport keeps its bindings for the whole process: a later test on
    # another data dir would take its queue as bound and its messages would go nowhere.
    kombu_state: Any = broker_files.Transport.global_state
    kombu_state.clear()


def _all_jobs(p: Platform) -> list[tuple[str, str, int, int, datetime | None]]:
    """(tenant, state, runs begun, deliveries, finished_at) of every job."""
    j = t.jobs.c
    with p.uow() as uow:
        rows = uow.connection.execute(
            select(j.tenant, j.state, j.attempts + j.interruptions, j.deliveries, j.finished_at)
        ).all()
    return [tuple(r) for r in rows]


@pytest.mark.integration
@pytest.mark.parametrize(
    "producer",
    [(2, "redis"), (0, "redis"), (2, "files")],
    ids=["fair", "off", "fair-embedded"],
    indirect=True,
)
def test_a_small_tenants_job_is_not_starved_behind_a_burst(
    producer: tuple[Platform, Settings], tmp_path: Path
) -> None:
    p, settings = producer
    for _ in range(BURST):
        case = start(p, "service_test")
        complete(p, case, "saisir", {"mode": "compter", "attente": 0.2})
    relay_outbox(p)  # the beat during the burst: nothing is handed over twice
    small = start(p, "service_test", tenant=SIREN_B)
    complete(p, small, "saisir", {"mode": "compter", "attente": 0.2}, tenant=SIREN_B)
    with worker(settings, tmp_path / "worker.log") as work:
        wait_for(
            lambda: all(row[1] == JobState.DONE for row in _all_jobs(p)),
            120,
            "every job to finish",
            work,
        )
    jobs = _all_jobs(p)
    assert len(jobs) == BURST + 1
    assert {(runs, deliveries) for _, _, runs, deliveries, _ in jobs} == {(1, 1)}, (
        "a job was handed over or run twice"
    )
    with p.uow() as uow:
        counters = dict(
            uow.connection.execute(
                select(t.counters.c.tenant, t.counters.c.value).where(
                    t.counters.c.name == "test-effects"
                )
            ).all()
        )
    assert counters == {SIREN_A: BURST, SIREN_B: 1}
    finished = [tenant for tenant, *_, at in sorted(jobs, key=lambda row: row[4] or 0)]
    position = finished.index(SIREN_B) + 1
    if settings.fair_share_depth and settings.broker.url:
        # Only the burst's job running when the small one was released finished before it
        # (Redis priority: it overtakes the burst's job already queued).
        assert position <= 2, finished
    elif settings.fair_share_depth:
        # The file broker has no priorities: behind the burst's jobs already handed over.
        assert position <= settings.fair_share_depth + 1, finished
    else:
        assert position == BURST + 1, finished  # without fair share: behind the whole burst


def test_a_job_is_claimed_once_and_returns_to_the_outbox_when_the_broker_refuses(
    platform: Platform,
) -> None:
    make_tenants(platform)
    case = start(platform, "service_test")
    complete(platform, case, "saisir", {"mode": "compter", "attente": 0})
    sent: list[tuple[uuid.UUID, str, int]] = []

    def refuse(job_id: uuid.UUID, queue: str, priority: int) -> None:
        raise ConnectionError("courtier injoignable")

    refusing = Pump(refuse, platform.operations, platform.uow, platform.clock, depth=4)
    with pytest.raises(ConnectionError):
        refusing.release()
    with platform.uow() as uow:
        (job,) = uow.jobs.for_case(SIREN_A, case.id)
        assert (job.state, uow.jobs.deliveries(job.id)) == (JobState.PENDING, 0)
        # Two releases racing for it: only the first claim wins.
        assert uow.jobs.claim_for_broker(job.id, platform.clock())
        assert not uow.jobs.claim_for_broker(job.id, platform.clock())
        uow.rollback()
    pump = Pump(
        lambda *args: sent.append(args), platform.operations, platform.uow, platform.clock, depth=4
    )
    assert pump.release() == 1
    assert pump.release() == 0
    assert sent == [(job.id, "engine", 0)]
    with platform.uow() as uow:
        assert uow.jobs.get(job.id).state == JobState.SENT  # type: ignore[union-attr]
        assert uow.jobs.deliveries(job.id) == 1
        assert uow.jobs.in_flight() == {(SIREN_A, "test.slow_counter"): 1}
        # Waiting for a retry (the runner's OperationRetry): it holds no place meanwhile.
        uow.jobs.set_state(job.id, JobState.SENT, platform.clock(), error="nouvel essai prévu")
        assert uow.jobs.in_flight() == {}
        uow.rollback()
    # The relay hands over again a job sent long ago, once per `stale_after`, not at each beat.
    sent.clear()
    assert pump.resend_stale(stale_after=timedelta(0)) == 1
    assert pump.resend_stale(stale_after=timedelta(seconds=60)) == 0
    assert sent == [(job.id, "engine", 0)]
    with platform.uow() as uow:
        assert uow.jobs.deliveries(job.id) == 2
