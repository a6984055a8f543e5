"""The unit of work type callers of the services name (the web among them), and its factory."""

from __future__ import annotations

from engine.persistence.uow import UnitOfWork, UnitOfWorkFactory

__all__ = ["UnitOfWork", "UnitOfWorkFactory"]
