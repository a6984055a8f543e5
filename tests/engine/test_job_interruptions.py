"""A run cut short by its worker's death is an interruption, counted apart from the attempts of
the operation: a crash-looping host does not dead-letter healthy jobs, a poison job still ends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from engine.bootstrap import Platform
from engine.domain.model import CaseStatus, Job, JobState
from engine.operations.runner import (
    INTERRUPTION_PATIENCE,
    MAX_ATTEMPTS,
    MAX_INTERRUPTIONS,
    InterruptionLimit,
    run_job,
)
from engine.persistence import tables as t
from tests.engine.support import SIREN_A, complete, get, make_tenants, start


@pytest.fixture
def p(platform: Platform) -> Platform:
    make_tenants(platform)
    return platform


def _job_as(p: Platform, **values: Any) -> Job:
    """The case's slow-counter job, its row set to `values` (as the worker's deaths left it)."""
    case = start(p, "service_test")
    complete(p, case, "saisir", {"mode": "compter", "attente": 0})
    with p.uow() as uow:
        job = uow.jobs.for_case(SIREN_A, case.id)[0]
    with p.db.begin() as conn:
        conn.execute(update(t.jobs).where(t.jobs.c.id == job.id).values(**values))
    return job


def _run(
    p: Platform,
    job: Job,
    resumed: str | None = None,
) -> Job:
    run_job(
        job.id,
        uow_factory=p.uow,
        operations=p.operations,
        clock=p.clock,
        interruptions=InterruptionLimit(),
        resumed=resumed,
    )
    with p.uow() as uow:
        found = uow.jobs.get(job.id)
    assert found is not None
    return found


def test_a_job_left_running_counts_an_interruption_not_an_attempt(p: Platform) -> None:
    job = _job_as(p, state="running", attempts=1)
    done = _run(p, job)
    assert done.state == JobState.DONE
    assert (done.attempts, done.interruptions) == (1, 1)
    assert done.first_interrupted_at is not None


def test_ten_kills_in_five_minutes_do_not_dead_letter_a_healthy_job(p: Platform) -> None:
    # The limit of attempts is far behind: the kills are not failures of the operation.
    assert MAX_ATTEMPTS < 10 < MAX_INTERRUPTIONS
    job = _job_as(
        p,
        state="running",
        attempts=1,
        interruptions=9,
        first_interrupted_at=p.clock() - timedelta(minutes=5),
    )
    done = _run(p, job)
    assert done.state == JobState.DONE and done.interruptions == 10
    assert get(p, _case(p, job)).status == CaseStatus.COMPLETED


def test_many_interruptions_in_a_short_while_still_leave_the_job_alive(p: Platform) -> None:
    job = _job_as(
        p,
        state="running",
        attempts=1,
        interruptions=MAX_INTERRUPTIONS * 2,
        first_interrupted_at=p.clock() - INTERRUPTION_PATIENCE / 2,
    )
    assert _run(p, job).state == JobState.DONE


def test_a_job_that_kills_its_worker_every_time_ends_for_an_operator(p: Platform) -> None:
    job = _job_as(
        p,
        state="running",
        attempts=1,
        interruptions=MAX_INTERRUPTIONS - 1,
        first_interrupted_at=p.clock() - INTERRUPTION_PATIENCE,
    )
    dead = _run(p, job)
    assert dead.state == JobState.DEAD and dead.interruptions == MAX_INTERRUPTIONS
    assert "interrompu" in (dead.error or "")
    case = get(p, _case(p, job))
    assert case.status == CaseStatus.ERROR
    assert "intervention d'un opérateur" in (case.error or "")
    with p.uow() as uow:
        assert [j.id for j in uow.jobs.stuck()] == [job.id]


def test_an_operation_that_keeps_asking_to_retry_still_ends_after_its_attempts(
    p: Platform,
) -> None:
    # Sent again after a RetryLater: not an interruption, an attempt of the operation.
    job = _job_as(p, state="sent", attempts=MAX_ATTEMPTS)
    dead = _run(p, job)
    assert dead.state == JobState.DEAD and dead.interruptions == 0
    assert "essais" in (dead.error or "")


def _case(p: Platform, job: Job) -> Any:
    with p.uow() as uow:
        return uow.cases.get(SIREN_A, job.case_id)


def test_a_run_cut_by_the_database_is_resumed_without_counting_it(p: Platform) -> None:
    # The worker lived on and retries the run it named (RunUnavailable.run): no interruption.
    started = p.clock() - timedelta(seconds=5)
    job = _job_as(p, state="running", attempts=1, started_at=started)
    done = _run(p, job, resumed=started.isoformat())
    assert done.state == JobState.DONE
    assert (done.attempts, done.interruptions) == (1, 0)


def test_a_kill_after_a_database_outage_still_counts(p: Platform) -> None:
    # The retried run began (a new start) and its worker was killed: the broker delivers the
    # same retry again, naming the older run, which is not the one left RUNNING.
    started = p.clock() - timedelta(seconds=5)
    job = _job_as(p, state="running", attempts=1, started_at=p.clock() - timedelta(seconds=1))
    done = _run(p, job, resumed=started.isoformat())
    assert (done.attempts, done.interruptions) == (1, 1)


def test_a_run_that_raises_is_an_attempt_not_an_interruption(p: Platform) -> None:
    # Parameters the operation cannot read: a failure of the run itself, its worker alive.
    job = _job_as(p, params={"linger": "pas un nombre"})
    with pytest.raises(ValueError):
        _run(p, job)
    with p.uow() as uow:
        failed = uow.jobs.get(job.id)
    assert failed is not None and failed.state == JobState.SENT
    assert "erreur inattendue (ValueError)" in (failed.error or "")
    with pytest.raises(ValueError):
        _run(p, job)
    with p.uow() as uow:
        again = uow.jobs.get(job.id)
    assert again is not None and (again.attempts, again.interruptions) == (2, 0)
