"""The job runner: takes a job id, drives its operation's three phases, advances the case.

The runner alone opens transactions and commits for operations: it recalls the effect by the
job's idempotency key before `prepare` and again in the write transaction, where it calls
`record`, remembers the effect, journals the job and completes (or fails) the service task.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar, cast

from engine.domain.errors import Conflict, DematflowError, ModelError, Unavailable
from engine.domain.model import CaseStatus, Job, JobState
from engine.domain.training import on_tenant_clock, real_time
from engine.operations.base import (
    Done,
    Failed,
    Operation,
    OperationContext,
    OperationFailed,
    OperationRegistry,
    OperationRetry,
    RetryLater,
    RunAgain,
    Verdict,
)
from engine.persistence.db import TransactionAborted
from engine.persistence.uow import UnitOfWork
from engine.services.steps import load_case, save_loaded
from engine.services.tenant_clock import tenant_clock

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
"""A job whose operation ran this many times without an outcome (each run asked to be tried
again later) goes dead. Runs cut short by their worker's death are not attempts."""
MAX_INTERRUPTIONS = 20
INTERRUPTION_PATIENCE = timedelta(minutes=15)


@dataclass(frozen=True)
class InterruptionLimit:
    """When a job interrupted again and again (its worker died while it ran) goes dead: after
    both `count` interruptions and `patience` since the first. A job that kills its worker every
    time (poison) ends for an operator, while a host that crash-loops for a while (ten kills in
    five minutes) does not dead-letter the healthy jobs it happened to be running."""

    count: int = MAX_INTERRUPTIONS
    patience: timedelta = INTERRUPTION_PATIENCE


CONFLICT_RETRIES = 5
ABORT_RETRIES = 5
ABORT_PAUSE = 0.02
"""Seconds: a write the server aborted is run again after a random pause up to
ABORT_PAUSE × 2, ×4, ×8… (0.6 s at most in all), which spreads the transactions that met."""
MAX_ROUNDS = 3
"""Rounds of the three phases in one run: a reservation (`RunAgain`) then the work itself."""

R = TypeVar("R")
Settle = Callable[[UnitOfWork, dict[str, Any]], R]


@dataclass(frozen=True)
class JobOutcome:
    job_id: uuid.UUID
    state: JobState
    detail: str = ""


class JobNotReady(DematflowError):
    """The job's transaction has not committed yet; the broker should deliver it again later."""


def run_operation(
    operation: Operation[Any, Any, Any],
    ctx: OperationContext,
    raw_params: Mapping[str, Any],
    uow_factory: Callable[[], UnitOfWork],
    settle: Settle[R],
) -> R:
    """Run the three phases once per idempotency key; `settle` runs in the write transaction
    with the result (the job runner completes the service task there).

    Raises OperationRetry or OperationFailed, after committing what `record` wrote for them."""
    params = operation.parse(raw_params)
    for _ in range(MAX_ROUNDS):
        with uow_factory() as uow:
            remembered = uow.jobs.recall_effect(ctx.idempotency_key)
            plan = None if remembered is not None else operation.prepare(uow, ctx, params)
        if remembered is not None:
            outcome: Any = Done(remembered)
        else:
            outcome = plan if isinstance(plan, Done) else operation.act(plan)
        verdict = _write(
            uow_factory,
            partial(_record, operation=operation, ctx=ctx, outcome=outcome, settle=settle),
        )
        if isinstance(verdict, RunAgain):
            continue
        if isinstance(verdict, RetryLater):
            raise OperationRetry(verdict.message)
        if isinstance(verdict, Failed):
            raise OperationFailed(verdict.code, verdict.message)
        return cast(R, verdict.value)
    raise OperationRetry(f"{operation.name} : réservation répétée sans aboutir")


@dataclass(frozen=True)
class _Settled:
    value: Any


def _record(
    uow: UnitOfWork,
    *,
    operation: Operation[Any, Any, Any],
    ctx: OperationContext,
    outcome: Any,
    settle: Settle[Any],
) -> _Settled | RunAgain | RetryLater | Failed:
    remembered = uow.jobs.recall_effect(ctx.idempotency_key)
    if remembered is not None:
        return _Settled(settle(uow, remembered))
    verdict: Verdict = (
        outcome.result if isinstance(outcome, Done) else operation.record(uow, ctx, outcome)
    )
    if not isinstance(verdict, dict):
        return verdict
    uow.jobs.remember_effect(
        idempotency_key=ctx.idempotency_key,
        tenant=ctx.tenant,
        operation=operation.name,
        result=verdict,
        now=ctx.now,
    )
    return _Settled(settle(uow, verdict))


def _write(uow_factory: Callable[[], UnitOfWork], body: Callable[[UnitOfWork], R]) -> R:
    """One write transaction, run again when the case changed under it, or when the server
    aborted it (deadlock, serialization failure: nothing was written) after a short random
    pause, so that the job is not left to the outbox relay. A transaction still aborted after
    `ABORT_RETRIES` runs raises `TransactionAborted` (an `Unavailable`: the worker's retry)."""
    conflicts = aborts = 0
    while True:
        try:
            with uow_factory() as uow:
                value = body(uow)
                uow.commit()
                return value
        except Conflict:
            conflicts += 1
            if conflicts >= CONFLICT_RETRIES:
                raise Conflict("le dossier change sans cesse") from None
            log.info("conflict while writing a job's result; retrying")
        except TransactionAborted as exc:
            aborts += 1
            if aborts >= ABORT_RETRIES:
                raise
            # The cause's name (DeadlockDetected, SerializationFailure) stays in the log: the
            # pipeline bench counts deadlocks there.
            cause = type(exc.__cause__).__name__
            log.warning("transaction aborted by the database (%s); retrying", cause)
            time.sleep(random.uniform(0, ABORT_PAUSE * 2**aborts))  # noqa: S311 (jitter)


def run_job(
    job_id: uuid.UUID,
    *,
    uow_factory: Callable[[], UnitOfWork],
    operations: OperationRegistry,
    clock: Callable[[], datetime],
    interruptions: InterruptionLimit = InterruptionLimit(),
    resumed: str | None = None,
) -> JobOutcome:
    """Idempotent: running a job twice performs its operation's effect once (by its key).

    `clock` gives the real time; a training tenant's job runs on the tenant's clock.
    `resumed`: the `RunUnavailable.run` of the run this delivery retries (it stopped on an
    unavailable database, its worker lived on): if that run is the one the job was left
    RUNNING by, it is not an interruption. Raises RunUnavailable when the database goes."""
    now = clock()
    begun = _begin(uow_factory, job_id, now, interruptions, resumed=resumed)
    if isinstance(begun, JobOutcome):
        return begun
    try:
        return _run_begun(begun, uow_factory, operations, clock)
    except Unavailable as exc:
        raise RunUnavailable(str(exc), run=now.isoformat()) from exc
    except OperationRetry:
        raise
    except Exception as exc:
        # A failure of the run itself (a bug, a conflict without end), not a dead worker: the
        # job is no longer RUNNING, so its next run counts as an attempt, not an interruption.
        _ended_unexpectedly(uow_factory, job_id, clock(), exc)
        raise


def _ended_unexpectedly(
    uow_factory: Callable[[], UnitOfWork], job_id: uuid.UUID, now: datetime, exc: Exception
) -> None:
    try:
        with uow_factory() as uow:
            current = uow.jobs.get(job_id)
            if current is not None and current.state == JobState.RUNNING:
                error = f"erreur inattendue ({type(exc).__name__}) ; nouvel essai prévu"
                uow.jobs.set_state(job_id, JobState.SENT, now, error=error)
                uow.commit()
    except Exception:
        log.exception("job %s : état non enregistré après une erreur inattendue", job_id)


class RunUnavailable(Unavailable):
    """The database went away during a run that had begun; `run` names that run (its start)."""

    def __init__(self, message: str, *, run: str) -> None:
        super().__init__(message)
        self.run = run


def _run_begun(
    begun: Job,
    uow_factory: Callable[[], UnitOfWork],
    operations: OperationRegistry,
    clock: Callable[[], datetime],
) -> JobOutcome:
    with uow_factory() as uow:
        tenant = tenant_clock(uow, begun.tenant)
    with on_tenant_clock(tenant):
        real_now = real_time(clock)
        ctx = OperationContext(
            tenant=begun.tenant,
            case_id=begun.case_id,
            operation=begun.operation,
            idempotency_key=begun.idempotency_key,
            now=tenant.now(real_now),
            real_now=real_now,
            resources=operations.resources,
        )
        return _run(begun, ctx, uow_factory, operations, lambda: tenant.now(real_time(clock)))


def _run(
    job: Job,
    ctx: OperationContext,
    uow_factory: Callable[[], UnitOfWork],
    operations: OperationRegistry,
    clock: Callable[[], datetime],
) -> JobOutcome:
    job_id = job.id

    def advance(uow: UnitOfWork, result: dict[str, Any]) -> JobOutcome:
        return _apply(uow, job, clock(), result=result, failure=None)

    try:
        return run_operation(operations.get(job.operation), ctx, job.params, uow_factory, advance)
    except OperationRetry:
        with uow_factory() as uow:
            uow.jobs.set_state(job_id, JobState.SENT, clock(), error="nouvel essai prévu")
            uow.commit()
        raise
    except OperationFailed as exc:
        failure = (exc.code, exc.message)
        return _write(
            uow_factory, lambda uow: _apply(uow, job, clock(), result=None, failure=failure)
        )


def _begin(
    uow_factory: Callable[[], UnitOfWork],
    job_id: uuid.UUID,
    now: datetime,
    limit: InterruptionLimit,
    *,
    resumed: str | None,
) -> Job | JobOutcome:
    with uow_factory() as uow:
        job = uow.jobs.get(job_id)
        if job is None:
            raise JobNotReady(f"job {job_id} inconnu")
        if job.state in (JobState.DONE, JobState.FAILED, JobState.DEAD):
            return JobOutcome(job_id, job.state, "déjà traité")
        left_running = job.state == JobState.RUNNING
        interrupted = left_running and not _same_run(job.started_at, resumed)
        dead = _dead_letter(job, interrupted, now, limit)
        if dead is not None:
            error, message = dead
            uow.jobs.set_state(
                job_id, JobState.DEAD, now, error=error, count_interruption=interrupted
            )
            _put_case_in_error(uow, job, message, now)
            uow.commit()
            return JobOutcome(job_id, JobState.DEAD, error)
        # A job still RUNNING when a run begins was cut short by its worker's death (killed,
        # out of memory, host restarted; the broker delivered it again): that run is counted
        # as an interruption, not as an attempt of the operation.
        uow.jobs.set_state(
            job_id,
            JobState.RUNNING,
            now,
            count_attempt=not left_running,
            count_interruption=interrupted,
        )
        uow.commit()
        return job


def _same_run(started_at: datetime | None, run: str | None) -> bool:
    return started_at is not None and run is not None and started_at == datetime.fromisoformat(run)


def _dead_letter(
    job: Job, interrupted: bool, now: datetime, limit: InterruptionLimit
) -> tuple[str, str] | None:
    """(job error, case error) when the job must stop for an operator, else None."""
    if interrupted:
        count = job.interruptions + 1
        since = job.first_interrupted_at or now
        if count < limit.count or now - since < limit.patience:
            return None
        minutes = round((now - since).total_seconds() / 60)
        return (
            f"abandonné : interrompu {count} fois en {minutes} min (son processus s'arrête)",
            f"Le traitement « {job.operation} » a interrompu son processus de travail "
            f"{count} fois en {minutes} minutes ; intervention d'un opérateur requise.",
        )
    if job.attempts < MAX_ATTEMPTS:
        return None
    return (
        f"abandonné après {job.attempts} essais sans aboutir",
        f"Le traitement « {job.operation} » a échoué "
        f"{job.attempts} fois ; intervention d'un opérateur requise.",
    )


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
            _journal(uow, job, "job.succeeded", {"key": job.idempotency_key}, now)
            return JobOutcome(job.id, JobState.DONE)
        code, message = failure
        routed = runtime.fail_service(job.task_id, code=code, message=message)
    except ModelError as exc:
        routed, code, message = False, "erreur_modele", str(exc)
    uow.jobs.set_state(job.id, JobState.FAILED, now, error=f"{code}: {message}")
    details = {"code": code, "message": message, "routed_to_error_boundary": routed}
    _journal(uow, job, "job.failed", details, now)
    if routed:
        save_loaded(uow, loaded, now=now)
    else:
        _put_case_in_error(uow, job, message, now)
    return JobOutcome(job.id, JobState.FAILED, message)


def _journal(uow: UnitOfWork, job: Job, kind: str, details: dict[str, Any], now: datetime) -> None:
    uow.journal.append(
        tenant=job.tenant,
        kind=kind,
        case_id=job.case_id,
        actor="system:worker",
        payload={"job": str(job.id), "operation": job.operation, **details},
        now=now,
    )
