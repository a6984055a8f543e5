"""Request dependencies: the platform, the unit of work and the authenticated actor."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from engine.bootstrap import Platform
from engine.domain.model import Actor
from engine.persistence.uow import UnitOfWork
from engine.services.admin import check_password

basic = HTTPBasic(auto_error=False, realm="dematflow")


def platform(request: Request) -> Platform:
    p: Platform = request.app.state.platform
    return p


def uow(p: Annotated[Platform, Depends(platform)]) -> Iterator[UnitOfWork]:
    with p.uow() as unit:
        yield unit


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    is_operator: bool
    user_id: str


_UNAUTHORIZED = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="Authentification requise.",
    headers={"WWW-Authenticate": 'Basic realm="dematflow"'},
)


def current_user(
    p: Annotated[Platform, Depends(platform)],
    credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)],
) -> User:
    if credentials is None:
        raise _UNAUTHORIZED
    with p.uow() as unit:
        row = unit.users.by_username(credentials.username.lower())
    if row is None or not row.active:
        check_password(_DUMMY_HASH, credentials.password + secrets.token_hex(4))
        raise _UNAUTHORIZED
    if not check_password(row.password_hash, credentials.password):
        raise _UNAUTHORIZED
    return User(row.username, row.display_name, bool(row.is_operator), str(row.id))


_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$1Q0k3yF0vXSz2Y0xq1b8mW0qk1Hq8m3Q2y6kqzH6k1c"
)


def tenant_actor(
    tenant: str,
    user: Annotated[User, Depends(current_user)],
    p: Annotated[Platform, Depends(platform)],
) -> Actor:
    """The user acting in `tenant`; a tenant they do not belong to does not exist for them."""
    import uuid

    with p.uow() as unit:
        roles = unit.users.roles(uuid.UUID(user.user_id), tenant)
    if not roles:
        raise HTTPException(status_code=404, detail="Collectivité introuvable.")
    return Actor(user_id=f"user:{user.username}", roles=roles, display_name=user.display_name)
