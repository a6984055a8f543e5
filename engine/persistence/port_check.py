"""A mypy-checked proof that the SQL unit of work satisfies engine.ports.UnitOfWork."""

from __future__ import annotations

from engine import ports
from engine.persistence.uow import UnitOfWork


def as_port(uow: UnitOfWork) -> ports.UnitOfWork:
    """The SQL unit of work typed as the port (mypy fails here if it stops satisfying it)."""
    return uow
