"""Metrics from the database, JSON logs with context ids, the operator's list of stuck work."""

from __future__ import annotations

import json
import logging

import pytest
from prometheus_client import generate_latest
from sqlalchemy import update

from engine.bootstrap import Platform
from engine.domain.model import CaseStatus, JobState
from engine.observability import JsonFormatter, case_id, metrics_registry
from engine.operations.runner import INTERRUPTION_PATIENCE, MAX_INTERRUPTIONS, run_job
from engine.persistence import tables as t
from tests.engine.support import SIREN_A, complete, get, make_tenants, run_pending_jobs, start


@pytest.fixture
def p(platform: Platform) -> Platform:
    make_tenants(platform)
    return platform


def test_metrics_report_cases_jobs_and_durations(p: Platform) -> None:
    start(p, "arrete")
    case = start(p, "service_test")
    complete(p, case, "saisir", {"mode": "compter", "attente": 0})
    run_pending_jobs(p, case)
    text = generate_latest(metrics_registry(p)).decode()
    assert 'dematflow_cases{procedure="arrete",status="running"} 1.0' in text
    assert 'dematflow_cases{procedure="service_test",status="completed"} 1.0' in text
    assert 'dematflow_jobs{state="done"} 1.0' in text
    assert 'dematflow_job_duration_seconds_count{operation="test.slow_counter"} 1.0' in text
    assert SIREN_A not in text  # no tenant data in platform metrics


def test_metrics_report_the_depth_of_each_worker_queue(p: Platform) -> None:
    """What an autoscaler of one queue's workers follows (docker/k8s/hpa-workers.yaml)."""
    case = start(p, "service_test")
    complete(p, case, "saisir", {"mode": "compter", "attente": 0})
    queue = p.queue_of("test.slow_counter")
    text = generate_latest(metrics_registry(p)).decode()
    assert f'dematflow_queue_depth{{queue="{queue}"}} 1.0' in text
    for other in set(p.operations.queues()) - {queue}:
        assert f'dematflow_queue_depth{{queue="{other}"}} 0.0' in text, "every queue, even idle"
    run_pending_jobs(p, case)
    text = generate_latest(metrics_registry(p)).decode()
    assert f'dematflow_queue_depth{{queue="{queue}"}} 0.0' in text


def test_crash_looping_job_is_dead_lettered_and_listed(p: Platform) -> None:
    case = start(p, "service_test")
    complete(p, case, "saisir", {"mode": "compter", "attente": 0})
    with p.uow() as uow:
        job = uow.jobs.for_case(SIREN_A, case.id)[0]
    # As if its worker had been killed while running it, MAX_INTERRUPTIONS times long enough.
    with p.db.begin() as conn:
        conn.execute(
            update(t.jobs)
            .where(t.jobs.c.id == job.id)
            .values(
                attempts=1,
                interruptions=MAX_INTERRUPTIONS - 1,
                first_interrupted_at=p.clock() - INTERRUPTION_PATIENCE,
                state="running",
            )
        )
    outcome = run_job(job.id, uow_factory=p.uow, operations=p.operations, clock=p.clock)
    assert outcome.state == JobState.DEAD
    failed = get(p, case)
    assert failed.status == CaseStatus.ERROR and "intervention d'un opérateur" in (
        failed.error or ""
    )
    with p.uow() as uow:
        assert [j.id for j in uow.jobs.stuck()] == [job.id]
        assert [c.id for c in uow.cases.in_error()] == [case.id]


def test_json_log_lines_carry_the_case_id() -> None:
    record = logging.LogRecord("engine", logging.INFO, __file__, 1, "étape %s", ("faite",), None)
    token = case_id.set("c-123")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        case_id.reset(token)
    assert (
        line["message"] == "étape faite" and line["case_id"] == "c-123" and line["level"] == "INFO"
    )


def test_metrics_report_recent_audit_findings(p: Platform) -> None:
    import uuid

    from sqlalchemy import insert

    from engine.persistence import tables_archives as a

    run = uuid.uuid4()
    now = p.clock()
    with p.db.begin() as conn:
        conn.execute(
            insert(a.archive_audit_runs).values(
                id=run,
                tenant=SIREN_A,
                started_at=now,
                updated_at=now,
                batches=1,
                packages_checked=1,
                objects_checked=3,
                bytes_read=10,
                findings_count=2,
            )
        )
        for kind in ("altered", "altered"):
            conn.execute(
                insert(a.archive_audit_findings).values(
                    run_id=run,
                    tenant=SIREN_A,
                    package_id="p1",
                    kind=kind,
                    path="data/acte.pdf",
                    message="empreinte différente",
                )
            )
    text = generate_latest(metrics_registry(p)).decode()
    assert 'dematflow_archive_audit_findings{kind="altered"} 2.0' in text
