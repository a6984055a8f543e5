"""Request dependencies: the platform and the request's unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from engine.bootstrap import Platform
from engine.services.archives.setup import ArchiveSetup, archive_setup
from engine.services.unit_of_work import UnitOfWork


def platform(request: Request) -> Platform:
    p: Platform = request.app.state.platform
    return p


def uow(p: Annotated[Platform, Depends(platform)]) -> Iterator[UnitOfWork]:
    """One unit of work per request, shared by authentication and the handler (cached)."""
    with p.uow() as unit:
        yield unit


PlatformDep = Annotated[Platform, Depends(platform)]
UowDep = Annotated[UnitOfWork, Depends(uow)]


def archive_setup_of(p: Platform) -> ArchiveSetup:
    """The platform's archive set-up (store, seal), built once per process."""
    cached = p.extras.get("archive_setup")
    if not isinstance(cached, ArchiveSetup):
        cached = archive_setup(p.settings)
        p.extras["archive_setup"] = cached
    return cached
