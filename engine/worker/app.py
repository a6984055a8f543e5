"""The Celery application: thin tasks that take ids and call plain service functions."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_ready

from engine import observability
from engine.bootstrap import Platform, build_platform
from engine.operations.base import OperationFailed, OperationRegistry, OperationRetry
from engine.persistence.uow import JobDispatcher
from engine.settings import Settings
from engine.worker import broker_files

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


def broker_options(settings: Settings) -> dict[str, Any]:
    if settings.broker.url:
        return {
            "broker_url": settings.broker.url,
            "broker_transport_options": {
                "visibility_timeout": settings.broker.visibility_timeout,
                "unacked_restore_interval": 1,
                "unacked_restore_throttle": 1,
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
                "options": {"queue": "engine", "expires": TIMER_PERIOD_S},
            },
            "relay-outbox": {
                "task": "dematflow.relay_outbox",
                "schedule": RELAY_PERIOD_S,
                "options": {"queue": "engine", "expires": RELAY_PERIOD_S},
            },
            "poll-actes": {
                "task": "dematflow.poll_actes",
                "schedule": settings.actes.poll_period_seconds,
                "options": {"queue": "connectors", "expires": settings.actes.poll_period_seconds},
            },
            "run-webhooks": {
                "task": "dematflow.run_webhooks",
                "schedule": settings.webhooks.period_seconds,
                "options": {"queue": "connectors", "expires": settings.webhooks.period_seconds},
            },
            "seal-journals": {
                "task": "dematflow.seal_journals",
                "schedule": settings.storage.journal_seal_period_seconds,
                "options": {
                    "queue": "sealing",
                    "expires": settings.storage.journal_seal_period_seconds,
                },
            },
            "audit-archives": {
                "task": "dematflow.audit_archives",
                "schedule": ARCHIVE_AUDIT_PERIOD_S,
                "options": {"queue": "audits", "expires": ARCHIVE_AUDIT_PERIOD_S},
            },
            "renew-archive-timestamps": {
                "task": "dematflow.renew_archive_timestamps",
                "schedule": RENEWAL_EVERY_S,
                "options": {"queue": "sealing", "expires": RENEWAL_EVERY_S},
            },
        },
        beat_schedule_filename=str((settings.data_dir / "celerybeat-schedule").resolve()),
    )
    _register_tasks(app)
    return app


_STATE: dict[str, Any] = {}


def platform() -> Platform:
    """One Platform per process, built after the fork (DB pools and PKCS#11 sessions don't fork)."""
    current = _STATE.get("platform")
    if current is None or _STATE.get("pid") != os.getpid():
        settings: Settings = _STATE["settings"]
        current = build_platform(settings)
        current.dispatch = make_dispatcher(_STATE["app"], current.operations)
        _STATE.update(platform=current, pid=os.getpid())
    return current


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _reset_after_fork(**_kwargs: Any) -> None:
    _STATE.pop("platform", None)


@worker_ready.connect  # type: ignore[untyped-decorator]
def _check_archive_storage(**_kwargs: Any) -> None:
    """Start-up: every tenant bucket must have Object Lock; archiving into one without is refused."""
    from engine.services.archives.setup import archive_setup, check_archive_storage

    try:
        p = platform()
        problems = check_archive_storage(p.uow, archive_setup(p.settings))
    except Exception as exc:  # the worker still runs its other queues
        log.warning("vérification du stockage d'archives impossible : %s", exc)
        return
    for tenant, problem in problems.items():
        log.error("archivage refusé pour %s : %s", tenant, problem)


@contextmanager
def job_log_context(p: Platform, job: str) -> Iterator[None]:
    """Log lines written while a job runs carry its id and its case's id (JSON log context)."""
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
    def run_job_task(self: Any, job_id: str) -> str:
        from engine.operations.runner import JobNotReady, run_job

        p = platform()
        try:
            with job_log_context(p, job_id):
                outcome = run_job(
                    uuid.UUID(job_id), uow_factory=p.uow, operations=p.operations, clock=p.clock
                )
        except JobNotReady as exc:
            raise self.retry(exc=exc, countdown=1, max_retries=10) from exc
        except OperationRetry as exc:
            delay = min(600, 2 ** min(self.request.retries, 9))
            raise self.retry(exc=exc, countdown=delay) from exc
        return outcome.state.value

    @app.task(name="dematflow.fire_timers")  # type: ignore[untyped-decorator]
    def fire_timers_task() -> int:
        from engine.jobs.timers import fire_due_timers

        p = platform()
        return fire_due_timers(p.uow, now=p.clock())

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

    @app.task(name="dematflow.renew_archive_timestamps")  # type: ignore[untyped-decorator]
    def renew_archive_timestamps_task() -> int:
        return _archive_task("renew")


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
    if kind == "renew":
        try:
            config = renewal_config(p.settings)
        except ArchiveUnavailable as exc:
            log.warning("archives : %s ignoré (%s)", kind, exc)
            return 0
        return len(renew_due_timestamps(p.uow, setup, config, now=p.clock()).renewed)
    return audit_all(p.uow, setup, now=p.clock())


def relay_outbox(p: Platform, *, everything: bool = False) -> int:
    """Send again jobs committed but never handed over (older than 30 s), or whose worker died.

    `everything` (start-up of the embedded default, whose brokers lose fetched messages when a
    worker is killed) sends every unfinished job at once; jobs are idempotent."""
    from engine.operations.runner import jobs_to_resend

    now = p.clock()
    with p.uow() as uow:
        if everything:
            jobs = jobs_to_resend(uow, now=now, stale_after=timedelta(0))
        else:
            jobs = jobs_to_resend(
                uow,
                now=now - timedelta(seconds=30),
                stale_after=timedelta(seconds=p.settings.worker_stale_after),
            )
    if jobs and p.dispatch is not None:
        p.dispatch([(job.id, job.operation) for job in jobs])
    return len(jobs)


def make_dispatcher(app: Celery, operations: OperationRegistry) -> JobDispatcher:
    """Send each job to its kind's queue (engine, signing, sealing, connectors, audits)."""

    def dispatch(jobs: Sequence[tuple[uuid.UUID, str]]) -> None:
        for job_id, operation in jobs:
            try:
                queue = operations.get(operation).queue
            except OperationFailed:
                queue = "engine"
            app.send_task("dematflow.run_job", args=[str(job_id)], queue=queue)

    return dispatch


def broker_ping(app: Celery) -> None:
    """Raise unless the broker accepts a connection now."""
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=3)


def connect_platform(settings: Settings) -> tuple[Celery, Platform]:
    """For producers (web, CLI): a Platform whose committed jobs go to the broker."""
    app = make_celery(settings)
    p = build_platform(settings)
    p.dispatch = make_dispatcher(app, p.operations)
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
