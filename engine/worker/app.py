"""The Celery application: thin tasks that take ids and call plain service functions.

A worker is ready to consume with Celery, kombu and the settings loaded: the job machinery
(SQLAlchemy, the operations, fair share, the platform) is imported where a task or a producer
first uses it, once per process (`tests/cli/test_lazy_imports.py`)."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from celery import Celery
from celery.signals import worker_process_init, worker_ready

from engine.domain.errors import Unavailable
from engine.settings import Settings
from engine.worker import broker_files

if TYPE_CHECKING:
    from engine.bootstrap import Platform
    from engine.worker.fair_share import Pump

log = logging.getLogger(__name__)

QUEUES = ("engine", "signing", "sealing", "connectors", "audits")
TIMER_PERIOD_S = 10.0
RELAY_PERIOD_S = 15.0
ARCHIVE_AUDIT_PERIOD_S = 300.0
"""Each beat runs one audit batch per tenant; a full pass is started once a day."""
RENEWAL_EVERY_S = 86_400.0
"""`engine.jobs.timestamp_renewal.RENEWAL_EVERY_S` (a test keeps them equal): each task imports
its job's module when it first runs, so that a worker is ready before pyHanko, the S3 client or
the @ctes client are loaded, and loads only those its jobs use."""
SAE_PERIOD_S = 60.0
"""`engine.jobs.sae_polling.SAE_PERIOD_S`: transfers to the SAE are sent and followed each minute."""
PERSONAL_DATA_PURGE_EVERY_S = 6 * 3600.0
"""The RGPD purge (`engine.jobs.personal_data`) runs four times a day: a delay ends at a day's end."""
PRIORITY_STEPS = (0, 3, 6, 9)
"""`engine.worker.fair_share.PRIORITY_STEPS` (a test keeps them equal): fair share imports the
operations and SQLAlchemy, which a worker does not need before its first job."""

CLOCK_SKEW_S = 300.0
"""How far apart the clocks of beat and the workers may be. Celery dates a periodic task's
expiry on beat's clock and the worker drops it once past on its own: expiring after one period
only, every task of a beat whose clock was a few seconds behind the workers' was dropped (no
timer ever fired). Each expires after its period plus this margin; what a stopped worker finds
queued on its return is at most that many runs of each job (they are idempotent)."""


def _every(period: float, queue: str) -> dict[str, Any]:
    """A beat schedule entry's options: its queue, and an expiry that tolerates skewed clocks."""
    return {"queue": queue, "expires": period + CLOCK_SKEW_S}


def broker_options(settings: Settings) -> dict[str, Any]:
    if settings.broker.url:
        return {
            "broker_url": settings.broker.url,
            "broker_transport_options": {
                "visibility_timeout": settings.broker.visibility_timeout,
                "unacked_restore_interval": 1,
                "unacked_restore_throttle": 1,
                "priority_steps": list(PRIORITY_STEPS),
                **(
                    {"global_keyprefix": settings.broker.key_prefix}
                    if settings.broker.key_prefix
                    else {}
                ),
            },
        }
    root = (settings.data_dir / "broker").resolve()
    for name in ("in", "processed", "control"):
        (root / name).mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": "filesystem://",
        "broker_transport": broker_files.TRANSPORT,  # kombu's, with whole message files
        "broker_transport_options": {
            "data_folder_in": str(root / "in"),
            "data_folder_out": str(root / "in"),
            "processed_folder": str(root / "processed"),
            "control_folder": str(root / "control"),
            "store_processed": False,
            "polling_interval": 0.1,
        },
    }


def make_celery(settings: Settings) -> Celery:
    app = Celery("dematflow")
    app.conf.update(
        **broker_options(settings),
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue="engine",
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        beat_schedule={
            "fire-timers": {
                "task": "dematflow.fire_timers",
                "schedule": TIMER_PERIOD_S,
                "options": _every(TIMER_PERIOD_S, "engine"),
            },
            "relay-outbox": {
                "task": "dematflow.relay_outbox",
                "schedule": RELAY_PERIOD_S,
                "options": _every(RELAY_PERIOD_S, "engine"),
            },
            "poll-actes": {
                "task": "dematflow.poll_actes",
                "schedule": settings.actes.poll_period_seconds,
                "options": _every(settings.actes.poll_period_seconds, "connectors"),
            },
            "run-webhooks": {
                "task": "dematflow.run_webhooks",
                "schedule": settings.webhooks.period_seconds,
                "options": _every(settings.webhooks.period_seconds, "connectors"),
            },
            "seal-journals": {
                "task": "dematflow.seal_journals",
                "schedule": settings.storage.journal_seal_period_seconds,
                "options": _every(settings.storage.journal_seal_period_seconds, "sealing"),
            },
            "audit-archives": {
                "task": "dematflow.audit_archives",
                "schedule": ARCHIVE_AUDIT_PERIOD_S,
                "options": _every(ARCHIVE_AUDIT_PERIOD_S, "audits"),
            },
            "purge-personal-data": {
                "task": "dematflow.purge_personal_data",
                "schedule": PERSONAL_DATA_PURGE_EVERY_S,
                "options": _every(PERSONAL_DATA_PURGE_EVERY_S, "engine"),
            },
            "renew-archive-timestamps": {
                "task": "dematflow.renew_archive_timestamps",
                "schedule": RENEWAL_EVERY_S,
                "options": _every(RENEWAL_EVERY_S, "sealing"),
            },
            "sae-exchanges": {
                "task": "dematflow.sae_exchanges",
                "schedule": SAE_PERIOD_S,
                "options": _every(SAE_PERIOD_S, "connectors"),
            },
        },
        beat_schedule_filename=str((settings.data_dir / "celerybeat-schedule").resolve()),
    )
    _register_tasks(app)
    return app


_STATE: dict[str, Any] = {}


def platform() -> Platform:
    """One Platform per process, built after the fork (DB pools and PKCS#11 sessions don't fork)
    by the process's first job (or the start-up check of the archive storage, once ready)."""
    current = _STATE.get("platform")
    if current is None or _STATE.get("pid") != os.getpid():
        from engine.bootstrap import build_platform
        from engine.worker import fair_share

        settings: Settings = _STATE["settings"]
        current = build_platform(settings)
        current.dispatch = make_dispatcher(_STATE["app"], current)
        _STATE.update(platform=current, pid=os.getpid())
        # In the process that runs the jobs (connected once: a dispatch uid).
        fair_share.release_after_each_job(lambda: _release(platform()))
    return current


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _reset_after_fork(**_kwargs: Any) -> None:
    _STATE.pop("platform", None)


@worker_ready.connect  # type: ignore[untyped-decorator]
def _start_archive_storage_check(**_kwargs: Any) -> None:
    """In a thread: it only logs, and the job machinery this process imports for it (a pool
    process imports its own for its first job) would otherwise hold back the first dispatch."""
    threading.Thread(target=_check_archive_storage, name="controle-stockage", daemon=True).start()


def _check_archive_storage() -> None:
    """Start-up: every tenant bucket must have Object Lock; archiving into one without is refused.
    It reads the tenants without a writer's lock (SQLite: the first job may be writing)."""
    from engine.services.archives.setup import archive_setup, check_archive_storage

    try:
        p = platform()
        problems = check_archive_storage(p.reader, archive_setup(p.settings))
    except Exception as exc:  # the worker still runs its other queues
        log.warning("vérification du stockage d'archives impossible : %s", exc)
        return
    for tenant, problem in problems.items():
        log.error("archivage refusé pour %s : %s", tenant, problem)


@contextmanager
def job_log_context(p: Platform, job: str) -> Iterator[None]:
    """Log lines written while a job runs carry its id and its case's id (JSON log context)."""
    from engine import observability

    tokens = [(observability.job_id, observability.job_id.set(job))]
    try:
        with p.uow() as uow:
            found = uow.jobs.get(uuid.UUID(job))
        if found is not None:
            tokens.append((observability.case_id, observability.case_id.set(str(found.case_id))))
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def _register_tasks(app: Celery) -> None:
    @app.task(name="dematflow.run_job", bind=True, max_retries=None, acks_late=True)  # type: ignore[untyped-decorator]
    def run_job_task(self: Any, job_id: str, resumed: str | None = None) -> str:
        from engine.operations.base import OperationRetry
        from engine.operations.runner import (
            InterruptionLimit,
            JobNotReady,
            RunUnavailable,
            run_job,
        )

        p = platform()
        limit = InterruptionLimit(
            p.settings.worker_max_interruptions,
            timedelta(seconds=p.settings.worker_interruption_patience),
        )
        try:
            with job_log_context(p, job_id):
                outcome = run_job(
                    uuid.UUID(job_id),
                    uow_factory=p.uow,
                    operations=p.operations,
                    clock=p.clock,
                    interruptions=limit,
                    resumed=resumed,
                )
        except Unavailable as exc:
            # The database went away: nothing half-written (one transaction per phase). Try
            # again; the run it cut (if one had begun) is named so as not to count it as an
            # interruption, which a later kill of the worker still is.
            log.warning("job %s : %s ; nouvel essai", job_id, exc)
            run = exc.run if isinstance(exc, RunUnavailable) else resumed
            delay = min(30, 2 ** min(self.request.retries, 5))
            raise self.retry(args=[job_id, run], countdown=delay, exc=exc) from exc
        except JobNotReady as exc:
            raise self.retry(exc=exc, countdown=1, max_retries=10) from exc
        except OperationRetry as exc:
            delay = min(600, 2 ** min(self.request.retries, 9))
            raise self.retry(exc=exc, countdown=delay) from exc
        return outcome.state.value

    @app.task(name="dematflow.fire_timers")  # type: ignore[untyped-decorator]
    def fire_timers_task() -> int:
        from engine.jobs.timers import fire_due_timers, reference_now

        p = platform()
        return fire_due_timers(p.uow, now=reference_now(p.uow, p.clock))

    @app.task(name="dematflow.relay_outbox")  # type: ignore[untyped-decorator]
    def relay_outbox_task() -> int:
        return relay_outbox(platform())

    @app.task(name="dematflow.poll_actes")  # type: ignore[untyped-decorator]
    def poll_actes_task() -> int:
        from engine.jobs.actes_polling import poll_transmissions
        from engine.operations.actes import tdt_config

        p = platform()
        if not p.settings.actes.base_url:
            return 0
        report = poll_transmissions(
            p.uow,
            tdt_config(p.settings.actes),
            now=p.clock(),
            watch_days=p.settings.actes.watch_days,
        )
        return report.delivered

    @app.task(name="dematflow.run_webhooks")  # type: ignore[untyped-decorator]
    def run_webhooks_task() -> int:
        from engine.jobs.webhooks import run_webhooks

        p = platform()
        return run_webhooks(p.uow, p.settings.webhooks, now=p.clock()).delivered

    @app.task(name="dematflow.seal_journals")  # type: ignore[untyped-decorator]
    def seal_journals_task() -> int:
        return _archive_task("seal")

    @app.task(name="dematflow.audit_archives")  # type: ignore[untyped-decorator]
    def audit_archives_task() -> int:
        return _archive_task("audit")

    @app.task(name="dematflow.purge_personal_data")  # type: ignore[untyped-decorator]
    def purge_personal_data_task() -> int:
        from engine.jobs.personal_data import purge_personal_data

        p = platform()
        return len(purge_personal_data(p.uow, now=p.clock()).purged)

    @app.task(name="dematflow.renew_archive_timestamps")  # type: ignore[untyped-decorator]
    def renew_archive_timestamps_task() -> int:
        return _archive_task("renew")

    @app.task(name="dematflow.sae_exchanges")  # type: ignore[untyped-decorator]
    def sae_exchanges_task() -> int:
        return _archive_task("sae")


def _archive_task(kind: str) -> int:
    from engine.jobs.archive_audits import audit_all
    from engine.jobs.journal_seals import seal_all_journals
    from engine.jobs.timestamp_renewal import renew_due_timestamps, renewal_config
    from engine.services.archives.setup import ArchiveUnavailable, archive_setup

    p = platform()
    try:
        setup = archive_setup(p.settings)
    except ArchiveUnavailable as exc:
        log.warning("archives : %s ignoré (%s)", kind, exc)
        return 0
    if kind == "seal":
        return seal_all_journals(p.uow, setup, now=p.clock())
    if kind == "sae":
        from engine.jobs.sae_polling import run_sae_exchanges

        report = run_sae_exchanges(p.uow, setup, now=p.clock())
        return report.sent + report.accepted + report.rejected
    if kind == "renew":
        try:
            config = renewal_config(p.settings)
        except ArchiveUnavailable as exc:
            log.warning("archives : %s ignoré (%s)", kind, exc)
            return 0
        return len(renew_due_timestamps(p.uow, setup, config, now=p.clock()).renewed)
    return audit_all(p.uow, setup, now=p.clock())


def relay_outbox(p: Platform, *, everything: bool = False) -> int:
    """Hand over the jobs of the outbox the queues have room for (engine.worker.fair_share), and
    again those handed over long ago and not finished (their worker died).

    `everything` (start-up of the embedded default, whose brokers lose fetched messages when a
    worker is killed) hands over again every unfinished job at once; jobs are idempotent."""
    from engine.worker import fair_share

    if not isinstance(p.dispatch, fair_share.Pump):
        return 0
    stale_after = timedelta(seconds=0 if everything else p.settings.worker_stale_after)
    return p.dispatch.resend_stale(stale_after=stale_after) + p.dispatch.release()


def _release(p: Platform) -> None:
    from engine.worker import fair_share

    if isinstance(p.dispatch, fair_share.Pump):
        try:
            p.dispatch.release()
        except Exception as exc:  # the relay releases them later
            log.warning("libération des traitements en attente impossible : %s", exc)


def make_dispatcher(app: Celery, p: Platform) -> Pump:
    """Release committed jobs to their kind's queue (engine, signing, sealing, connectors,
    audits), fairly between tenants."""
    from engine.worker import fair_share

    def send(job_id: uuid.UUID, queue: str, priority: int) -> None:
        app.send_task("dematflow.run_job", args=[str(job_id)], queue=queue, priority=priority)

    return fair_share.Pump(send, p.operations, p.uow, p.clock, depth=p.settings.fair_share_depth)


def broker_ping(app: Celery) -> None:
    """Raise unless the broker accepts a connection now."""
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=3)


def connect_platform(settings: Settings) -> tuple[Celery, Platform]:
    """For producers (web, CLI): a Platform whose committed jobs go to the broker."""
    from engine.bootstrap import build_platform

    app = make_celery(settings)
    p = build_platform(settings)
    p.dispatch = make_dispatcher(app, p)
    return app, p


def configure(settings: Settings) -> Celery:
    """Build the Celery app for a worker or beat process with these settings."""
    app = make_celery(settings)
    _STATE["settings"] = settings
    _STATE["app"] = app
    return app


def start_worker(
    app: Celery, *, queues: Sequence[str], concurrency: int, loglevel: str, quiet: bool
) -> int:
    """Run a worker until it stops; its exit code. Started as Celery's `worker` command starts
    it, without that command line: it imports Celery's whole CLI, shell and REPL included
    (prompt_toolkit, pygments: a tenth of a worker's start-up)."""
    from celery.utils.nodenames import default_nodename, host_format

    worker = app.Worker(
        hostname=host_format(default_nodename(f"dematflow-{os.getpid()}@%h")),
        queues=list(queues),
        concurrency=concurrency,
        loglevel=loglevel,
        quiet=quiet,
        without_mingle=True,
        without_gossip=True,
    )
    worker.start()
    return int(worker.exitcode or 0)


def celery_app() -> Celery:
    app = _STATE.get("app")
    if app is None:
        app = configure(Settings())
    return app
