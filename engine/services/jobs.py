"""Running a service-task job: take ids, re-read state, skip what is done, complete the task."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.domain.errors import Conflict, DematflowError, ModelError
from engine.domain.model import CaseStatus, Job, JobState
from engine.persistence.uow import UnitOfWork
from engine.services.operations import (
    OperationContext,
    OperationFailed,
    OperationRegistry,
    OperationRetry,
)
from engine.services.steps import load_case, save_loaded

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
"""A job started this many times without finishing (its worker crashed each time) goes dead."""
CONFLICT_RETRIES = 5


@dataclass(frozen=True)
class JobOutcome:
    job_id: uuid.UUID
    state: JobState
    detail: str = ""


class JobNotReady(DematflowError):
    """The job's transaction has not committed yet; the broker should deliver it again later."""


def _begin(
    uow_factory: Callable[[], UnitOfWork], job_id: uuid.UUID, now: datetime
) -> Job | JobOutcome:
    with uow_factory() as uow:
        job = uow.jobs.get(job_id)
        if job is None:
            raise JobNotReady(f"job {job_id} inconnu")
        if job.state in (JobState.DONE, JobState.FAILED, JobState.DEAD):
            return JobOutcome(job_id, job.state, "déjà traité")
        if job.attempts >= MAX_ATTEMPTS:
            uow.jobs.set_state(
                job_id,
                JobState.DEAD,
                now,
                error=f"abandonné après {job.attempts} tentatives interrompues",
            )
            _put_case_in_error(
                uow,
                job,
                f"Le traitement « {job.operation} » a échoué "
                f"{job.attempts} fois ; intervention d'un opérateur requise.",
                now,
            )
            uow.commit()
            return JobOutcome(job_id, JobState.DEAD, "trop de tentatives")
        uow.jobs.set_state(job_id, JobState.RUNNING, now, count_attempt=True)
        uow.commit()
        return job


def _put_case_in_error(uow: UnitOfWork, job: Job, message: str, now: datetime) -> None:
    save_loaded(
        uow,
        load_case(uow, job.tenant, job.case_id),
        now=now,
        status=CaseStatus.ERROR,
        error=message,
    )
    uow.journal.append(
        tenant=job.tenant,
        kind="case.error",
        case_id=job.case_id,
        actor="system:worker",
        payload={"job": str(job.id), "error": message},
        now=now,
    )


def run_job(
    job_id: uuid.UUID,
    *,
    uow_factory: Callable[[], UnitOfWork],
    operations: OperationRegistry,
    clock: Callable[[], datetime],
) -> JobOutcome:
    """Idempotent: running a job twice performs its operation's effect once (by its key)."""
    begun = _begin(uow_factory, job_id, clock())
    if isinstance(begun, JobOutcome):
        return begun
    job = begun
    ctx = OperationContext(
        tenant=job.tenant,
        case_id=job.case_id,
        task_name=job.operation,
        idempotency_key=job.idempotency_key,
        now=clock(),
        unit_of_work=uow_factory,
    )
    try:
        result = operations.get(job.operation).run(ctx, dict(job.params))
    except OperationRetry:
        with uow_factory() as uow:
            uow.jobs.set_state(job_id, JobState.SENT, clock(), error="nouvel essai prévu")
            uow.commit()
        raise
    except OperationFailed as exc:
        return _finish(uow_factory, job, clock, failure=(exc.code, exc.message))
    return _finish(uow_factory, job, clock, result=result)


def _finish(
    uow_factory: Callable[[], UnitOfWork],
    job: Job,
    clock: Callable[[], datetime],
    *,
    result: dict[str, Any] | None = None,
    failure: tuple[str, str] | None = None,
) -> JobOutcome:
    for _ in range(CONFLICT_RETRIES):
        try:
            with uow_factory() as uow:
                outcome = _apply(uow, job, clock(), result=result, failure=failure)
                uow.commit()
                return outcome
        except Conflict:
            log.info("conflict while finishing job %s; retrying", job.id)
    raise Conflict(f"job {job.id}: le dossier change sans cesse")


def _apply(
    uow: UnitOfWork,
    job: Job,
    now: datetime,
    *,
    result: dict[str, Any] | None,
    failure: tuple[str, str] | None,
) -> JobOutcome:
    current = uow.jobs.get(job.id)
    if current is None or current.state in (JobState.DONE, JobState.FAILED, JobState.DEAD):
        return JobOutcome(job.id, current.state if current else JobState.DONE, "déjà traité")
    loaded = load_case(uow, job.tenant, job.case_id)
    case, runtime = loaded.case, loaded.runtime
    waiting = {call.task_id for call in runtime.service_calls()}
    if job.task_id not in waiting or case.status not in (CaseStatus.RUNNING, CaseStatus.ERROR):
        uow.jobs.set_state(
            job.id,
            JobState.DONE,
            now,
            result=result or {},
            error="la tâche n'attendait plus ce résultat",
        )
        return JobOutcome(job.id, JobState.DONE, "résultat ignoré")
    try:
        if failure is None:
            runtime.complete_service(job.task_id, result or {})
            save_loaded(uow, loaded, now=now)
            uow.jobs.set_state(job.id, JobState.DONE, now, result=result or {})
            uow.journal.append(
                tenant=job.tenant,
                kind="job.succeeded",
                case_id=job.case_id,
                actor="system:worker",
                payload={
                    "job": str(job.id),
                    "operation": job.operation,
                    "key": job.idempotency_key,
                },
                now=now,
            )
            return JobOutcome(job.id, JobState.DONE)
        code, message = failure
        routed = runtime.fail_service(job.task_id, code=code, message=message)
    except ModelError as exc:
        routed, code, message = False, "erreur_modele", str(exc)
    uow.jobs.set_state(job.id, JobState.FAILED, now, error=f"{code}: {message}")
    uow.journal.append(
        tenant=job.tenant,
        kind="job.failed",
        case_id=job.case_id,
        actor="system:worker",
        payload={
            "job": str(job.id),
            "operation": job.operation,
            "code": code,
            "message": message,
            "routed_to_error_boundary": routed,
        },
        now=now,
    )
    if routed:
        save_loaded(uow, loaded, now=now)
    else:
        _put_case_in_error(uow, job, message, now)
    return JobOutcome(job.id, JobState.FAILED, message)


def jobs_to_resend(
    uow: UnitOfWork, *, now: datetime, stale_after: timedelta, limit: int = 500
) -> list[Job]:
    """Jobs written but never handed over, or handed over and not finished for too long."""
    pending = uow.jobs.unfinished(older_than=now, states=[JobState.PENDING], limit=limit)
    stale = uow.jobs.unfinished(
        older_than=now - stale_after, states=[JobState.SENT, JobState.RUNNING], limit=limit
    )
    return pending + stale
