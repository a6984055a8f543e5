"""Request dependencies: the platform and the request's unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from engine.bootstrap import Platform
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
