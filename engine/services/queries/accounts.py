"""Accounts and tenants as sign-in and the pages read them: users, their roles and tenants."""

from __future__ import annotations

import uuid
from typing import Any

from engine.domain.model import Tenant
from engine.persistence.uow import UnitOfWork

__all__ = [
    "all_tenants",
    "end_sessions",
    "find_tenant",
    "roles_in",
    "tenants_of",
    "user_by_id",
    "user_by_username",
]


def user_by_username(uow: UnitOfWork, username: str) -> Any | None:
    """The account row (id, username, display name, password hash, active, versions…)."""
    return uow.users.by_username(username)


def user_by_id(uow: UnitOfWork, user_id: uuid.UUID) -> Any | None:
    return uow.users.by_id(user_id)


def roles_in(uow: UnitOfWork, user_id: uuid.UUID, tenant: str) -> frozenset[str]:
    """The roles the user holds in the tenant (none while suspended there)."""
    return uow.users.roles(user_id, tenant)


def tenants_of(uow: UnitOfWork, user_id: uuid.UUID) -> list[str]:
    """SIRENs of the tenants where the user holds a role."""
    return uow.users.tenants_of(user_id)


def end_sessions(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    """Invalidate every session and token of the user (their credential version moves on)."""
    uow.users.end_sessions(user_id)


def find_tenant(uow: UnitOfWork, siren: str) -> Tenant | None:
    return uow.tenants.get(siren)


def all_tenants(uow: UnitOfWork) -> list[Tenant]:
    return uow.tenants.all()
