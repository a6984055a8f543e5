"""What the platform operator's pages read: health, cases in error, stuck jobs."""

from __future__ import annotations

from dataclasses import dataclass

from engine.domain.model import Case, Job
from engine.persistence.uow import UnitOfWork

__all__ = ["PlatformHealth", "cases_in_error", "platform_health", "stuck_jobs"]


@dataclass(frozen=True)
class PlatformHealth:
    database: str
    """"ok" or the error class name."""
    tenants: int
    jobs_by_state: dict[str, int]
    procedures: list[tuple[str, str, str]]
    """(procedure, title, spec hash) of the deployed catalogue."""


def platform_health(uow: UnitOfWork) -> PlatformHealth:
    return PlatformHealth(
        database="ok",
        tenants=len(uow.tenants.all()),
        jobs_by_state=uow.jobs.count_by_state(),
        procedures=[(r.procedure, r.title, r.hash) for r in uow.specs.catalogue()],
    )


def cases_in_error(uow: UnitOfWork, *, limit: int = 100) -> list[Case]:
    return uow.cases.in_error(limit=limit)


def stuck_jobs(uow: UnitOfWork, *, limit: int = 100) -> list[Job]:
    return uow.jobs.stuck(limit=limit)
