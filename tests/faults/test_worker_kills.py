"""Workers killed again and again while they run a job: their deaths are interruptions, not
failures of the operation. A healthy job survives a crash-looping host; a job that kills its
worker every time still ends for an operator."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.bootstrap import Platform
from engine.domain.model import CaseStatus, Job, JobState
from engine.operations.runner import MAX_ATTEMPTS
from engine.settings import Settings
from tests.engine.support import SIREN_A, complete, get, start
from tests.faults.support import fault_settings
from tests.fixtures.processes import Process, producer, wait_for, worker

pytestmark = pytest.mark.faults


@pytest.fixture
def setup(
    private_pg_database_url: str, private_redis_url: str, tmp_path: Path
) -> Iterator[tuple[Platform, Settings]]:
    settings = fault_settings(
        private_pg_database_url, private_redis_url, tmp_path / "data", visibility_timeout=3
    )
    with producer(settings) as platform:
        yield platform, settings


def _job(p: Platform, case_id: object) -> Job:
    with p.uow() as uow:
        return uow.jobs.for_case(SIREN_A, case_id)[0]  # type: ignore[arg-type]


def _next_run(p: Platform, case_id: object, seen: int, process: Process) -> Job:
    """Wait until a run after the `seen` ones is under way (or the job is dead), answer the job."""

    def moved() -> bool:
        job = _job(p, case_id)
        return job.state == JobState.DEAD or (
            job.state == JobState.RUNNING and job.attempts + job.interruptions > seen
        )

    wait_for(moved, 60, f"run {seen + 1} of the job", process)
    return _job(p, case_id)


def _kill_each_run(
    p: Platform, case_id: object, settings: Settings, tmp_path: Path, kills: int, *, whole: int
) -> Process:
    """Kill the worker `kills` times, each time a new run of the job is under way: the last
    `whole` kills take the whole worker (as a host crash), the others its pool process (as the
    out-of-memory killer). Answers the worker left running."""
    current = worker(settings, tmp_path / "worker-0.log")
    seen = 0  # runs begun so far: attempts + interruptions
    try:
        for kill in range(kills):
            job = _next_run(p, case_id, seen, current)
            assert job.state == JobState.RUNNING, job
            seen = job.attempts + job.interruptions
            if kill >= kills - whole:
                current.kill_hard()
                current.stop()
                current = worker(settings, tmp_path / f"worker-{kill + 1}.log")
            else:
                pool = current.children()
                assert pool, "no pool process to kill"
                for pid in pool:
                    os.kill(pid, signal.SIGKILL)
    except BaseException:
        current.stop()
        raise
    return current


def test_ten_kills_do_not_dead_letter_a_healthy_job(
    setup: tuple[Platform, Settings], tmp_path: Path
) -> None:
    p, settings = setup
    case = start(p, "service_test")
    complete(p, case, "saisir", {"mode": "compter", "attente": 1})
    began = time.monotonic()
    with _kill_each_run(p, case.id, settings, tmp_path, 10, whole=1) as current:
        wait_for(lambda: get(p, case).status == CaseStatus.COMPLETED, 90, "the case", current)
    print(f"10 kills and completion in {time.monotonic() - began:.1f} s")
    job = _job(p, case.id)
    # Before, each run counted as an attempt: the sixth run found 5/5 and dead-lettered it.
    assert MAX_ATTEMPTS < 10
    assert job.state == JobState.DONE
    assert (job.attempts, job.interruptions) == (1, 10)
    assert get(p, case).data["compteur"] == {"valeur": 1}, "the effect happened once"


def test_a_job_that_kills_its_worker_every_time_is_dead_lettered(
    private_pg_database_url: str, private_redis_url: str, tmp_path: Path
) -> None:
    # The limits made small for the test: three interruptions, no patience.
    settings = fault_settings(
        private_pg_database_url, private_redis_url, tmp_path / "data", visibility_timeout=3
    )
    env = {"DEMATFLOW_WORKER_MAX_INTERRUPTIONS": "3", "DEMATFLOW_WORKER_INTERRUPTION_PATIENCE": "0"}
    with producer(settings) as p:
        case = start(p, "service_test")
        complete(p, case, "saisir", {"mode": "compter", "attente": 2})
        with worker(settings, tmp_path / "worker.log", env) as current:
            seen = 0
            while True:
                job = _next_run(p, case.id, seen, current)
                if job.state == JobState.DEAD:
                    break
                seen = job.attempts + job.interruptions
                for pid in current.children():
                    os.kill(pid, signal.SIGKILL)  # the job takes its worker down, every time
        assert (job.attempts, job.interruptions) == (1, 3)
        assert "interrompu 3 fois" in (job.error or "")
        failed = get(p, case)
        assert failed.status == CaseStatus.ERROR
        assert "intervention d'un opérateur" in (failed.error or "")
