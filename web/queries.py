"""Read models the pages need, assembled from the engine's repositories."""

from __future__ import annotations

from dataclasses import dataclass

from engine.persistence.uow import UnitOfWork


@dataclass(frozen=True)
class PlatformHealth:
    database: str
    """"ok" or the error class name."""
    tenants: int
    jobs_by_state: dict[str, int]
    procedures: list[tuple[str, str, str]]
    """(procedure, title, spec hash) of the deployed catalogue."""


def platform_health(unit: UnitOfWork) -> PlatformHealth:
    return PlatformHealth(
        database="ok",
        tenants=len(unit.tenants.all()),
        jobs_by_state=unit.jobs.count_by_state(),
        procedures=[(r.procedure, r.title, r.hash) for r in unit.specs.catalogue()],
    )
