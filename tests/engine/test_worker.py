"""A real Celery worker on Redis and PostgreSQL: jobs survive kill -9, effects happen once."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.bootstrap import Platform
from engine.domain.model import CaseStatus, JobState
from engine.persistence import tables as t
from engine.settings import BrokerSettings, Settings
from tests.engine.support import ELU, SIREN_A, complete, get, start
from tests.fixtures import processes
from tests.fixtures.processes import wait_for
from tests.fixtures.services import BROKER_PREFIX, TEST_OPERATIONS

pytestmark = pytest.mark.integration


@pytest.fixture
def producer(
    pg_database_url: str, tmp_path: Path, redis_url: str
) -> Iterator[tuple[Platform, Settings]]:
    """The production pairing: PostgreSQL and a Redis broker, producer and worker apart."""
    worker_settings = Settings(
        data_dir=tmp_path / "data",
        database_url=pg_database_url,
        operation_modules=[TEST_OPERATIONS],
        broker=BrokerSettings(url=redis_url, visibility_timeout=5, key_prefix=BROKER_PREFIX),
        secret_key=secrets.token_urlsafe(32),  # production processes refuse the default
    )
    with processes.producer(worker_settings) as producer_platform:
        yield producer_platform, worker_settings


def test_worker_runs_a_service_task_to_completion(
    producer: tuple[Platform, Settings], tmp_path: Path
) -> None:
    p, worker_settings = producer
    with processes.worker(worker_settings, tmp_path / "worker.log") as worker:
        case = start(p, "arrete")
        complete(
            p, case, "rediger", {"objet": "Arrêté", "nature": "3", "texte": "Texte de l'arrêté."}
        )
        complete(p, case, "signer", {"decision": "signer"}, actor=ELU)
        wait_for(lambda: "numero_acte" in get(p, case).data, 60, "the numbering job", worker)
    assert get(p, case).data["numero_acte"].endswith("_ARR0001")


def test_killed_worker_job_comes_back_and_effect_happens_once(
    producer: tuple[Platform, Settings], tmp_path: Path
) -> None:
    p, worker_settings = producer
    case = start(p, "service_test")
    with processes.worker(worker_settings, tmp_path / "worker1.log") as first:
        complete(p, case, "saisir", {"mode": "compter", "attente": 3})

        def job_running() -> bool:
            # The operation lingers in its act phase (no transaction open): its effect and the
            # case advance are written together afterwards, so a kill now leaves neither.
            with p.uow() as uow:
                jobs = uow.jobs.for_case(SIREN_A, case.id)
                effects = uow.connection.execute(select(t.operation_effects)).all()
            return bool(jobs) and jobs[0].state == JobState.RUNNING and not effects

        wait_for(job_running, 60, "the job to run", first)
        first.kill_hard()
    killed_at = time.monotonic()
    with processes.worker(worker_settings, tmp_path / "worker2.log") as second:
        wait_for(
            lambda: get(p, case).status == CaseStatus.COMPLETED, 90, "the job to come back", second
        )
    came_back_after = time.monotonic() - killed_at
    print(f"job completed {came_back_after:.1f} s after its worker was killed")
    with p.uow() as uow:
        job = uow.jobs.for_case(SIREN_A, case.id)[0]
        counter = uow.connection.execute(
            select(t.counters.c.value).where(
                t.counters.c.tenant == SIREN_A, t.counters.c.name == "test-effects"
            )
        ).scalar_one()
    assert counter == 1, "the side effect happened more than once"
    # The killed run is an interruption, not an attempt of the operation.
    assert job.state == JobState.DONE and (job.attempts, job.interruptions) == (1, 1)
    assert get(p, case).data["compteur"] == {"valeur": 1}
    assert came_back_after < 60
