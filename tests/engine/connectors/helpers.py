"""Helpers of the engine-side connector tests: case data, journal, jobs, simulator state."""

from __future__ import annotations

from typing import Any

from engine.bootstrap import Platform
from engine.domain.model import Case, Job, JournalEntry
from engine.jobs.actes_polling import PollReport, poll_transmissions
from engine.operations.actes import tdt_config
from engine.operations.runner import JobOutcome, run_job
from engine.services.steps import load_case
from tests.fixtures.prefecture import Simulator


def case_data(platform: Platform, case: Case) -> dict[str, Any]:
    with platform.uow() as uow:
        return dict(load_case(uow, case.tenant, case.id).runtime.data)


def current(platform: Platform, case: Case) -> Case:
    with platform.uow() as uow:
        return uow.cases.get(case.tenant, case.id)


def journal(platform: Platform, case: Case, kind: str | None = None) -> list[JournalEntry]:
    with platform.uow() as uow:
        entries = uow.journal.for_case(case.tenant, case.id)
    return [e for e in entries if kind is None or e.kind == kind]


def jobs(platform: Platform, case: Case, operation: str | None = None) -> list[Job]:
    with platform.uow() as uow:
        found = uow.jobs.for_case(case.tenant, case.id)
    return [j for j in found if operation is None or j.operation == operation]


def run(platform: Platform, job: Job) -> JobOutcome:
    return run_job(
        job.id, uow_factory=platform.uow, operations=platform.operations, clock=platform.clock
    )


def run_open_jobs(platform: Platform, case: Case) -> list[JobOutcome]:
    open_jobs = [j for j in jobs(platform, case) if j.state.value in ("pending", "sent")]
    return [run(platform, job) for job in open_jobs]


def poll(platform: Platform) -> PollReport:
    return poll_transmissions(
        platform.uow, tdt_config(platform.settings.actes), now=platform.clock()
    )


def tiers_transactions(prefecture: Simulator, act_unique_id: str) -> list[dict[str, Any]]:
    with prefecture.admin() as http:
        rows = http.get("/admin/transactions").json()
    return [t for t in rows if t["act_unique_id"] == act_unique_id]


def arm(prefecture: Simulator, kind: str, endpoint: str = "submit", count: int = 1) -> None:
    with prefecture.admin() as http:
        response = http.post(
            "/admin/faults", json={"endpoint": endpoint, "kind": kind, "count": count}
        )
        response.raise_for_status()


def clear_faults(prefecture: Simulator) -> None:
    with prefecture.admin() as http:
        http.delete("/admin/faults").raise_for_status()
