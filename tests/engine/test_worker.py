"""A real Celery worker on Redis and PostgreSQL: jobs survive kill -9, effects happen once."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.bootstrap import Platform, build_operations, build_platform
from engine.domain.model import CaseStatus, JobState
from engine.persistence import tables as t
from engine.services.admin import deploy_directory
from engine.settings import BrokerSettings, Settings
from engine.worker.app import connect_platform
from tests.engine.support import ELU, SIREN_A, complete, get, make_tenants, start
from tests.fixtures.services import BROKER_PREFIX, TEST_OPERATIONS, TEST_PROCEDURES

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def _wait(
    condition: Callable[[], bool], timeout: float, what: str, worker: Worker | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if worker is not None and worker.process.poll() is not None:
            raise AssertionError(f"the worker exited ({worker.process.returncode}) before {what}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Worker:
    def __init__(self, settings: Settings, log: Path) -> None:
        env = {
            **os.environ,
            "DEMATFLOW_DATABASE_URL": settings.resolved_database_url(),
            "DEMATFLOW_BROKER__URL": str(settings.broker.url),
            "DEMATFLOW_BROKER__VISIBILITY_TIMEOUT": str(settings.broker.visibility_timeout),
            "DEMATFLOW_BROKER__KEY_PREFIX": settings.broker.key_prefix,
            "DEMATFLOW_OPERATION_MODULES": json.dumps(settings.operation_modules),
            "DEMATFLOW_DATA_DIR": str(settings.data_dir),
            "DEMATFLOW_SECRET_KEY": secrets.token_urlsafe(32),  # production processes need one
            "PYTHONPATH": str(ROOT),
        }
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine.cli.main", "worker", "--concurrency", "1"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill_hard(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


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
    )
    setup = build_platform(worker_settings)
    with setup.uow() as uow:
        deploy_directory(
            uow,
            TEST_PROCEDURES,
            operations=build_operations(worker_settings),
            now=datetime.now(UTC),
        )
        uow.commit()
    setup.db.dispose()
    _app, producer_platform = connect_platform(worker_settings)
    make_tenants(producer_platform)
    yield producer_platform, worker_settings
    producer_platform.db.dispose()


def test_worker_runs_a_service_task_to_completion(
    producer: tuple[Platform, Settings], tmp_path: Path
) -> None:
    p, worker_settings = producer
    worker = Worker(worker_settings, tmp_path / "worker.log")
    try:
        case = start(p, "arrete")
        complete(
            p, case, "rediger", {"objet": "Arrêté", "nature": "3", "texte": "Texte de l'arrêté."}
        )
        complete(p, case, "signer", {"decision": "signer"}, actor=ELU)
        _wait(lambda: "numero_acte" in get(p, case).data, 60, "the numbering job", worker)
    finally:
        worker.stop()
    assert get(p, case).data["numero_acte"].endswith("_ARR0001")


def test_killed_worker_job_comes_back_and_effect_happens_once(
    producer: tuple[Platform, Settings], tmp_path: Path
) -> None:
    p, worker_settings = producer
    case = start(p, "service_test")
    first = Worker(worker_settings, tmp_path / "worker1.log")
    try:
        complete(p, case, "saisir", {"mode": "compter", "attente": 3})

        def job_running() -> bool:
            # The operation lingers in its act phase (no transaction open): its effect and the
            # case advance are written together afterwards, so a kill now leaves neither.
            with p.uow() as uow:
                jobs = uow.jobs.for_case(SIREN_A, case.id)
                effects = uow.connection.execute(select(t.operation_effects)).all()
            return bool(jobs) and jobs[0].state == JobState.RUNNING and not effects

        _wait(job_running, 60, "the job to run", first)
        first.kill_hard()
    finally:
        first.stop()
    killed_at = time.monotonic()
    second = Worker(worker_settings, tmp_path / "worker2.log")
    try:
        _wait(
            lambda: get(p, case).status == CaseStatus.COMPLETED, 90, "the job to come back", second
        )
    finally:
        second.stop()
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
