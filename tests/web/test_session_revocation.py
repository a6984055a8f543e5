"""A saved cookie or bearer token is worth nothing after logout, a password reset, a role change
or a deactivation: each raises the account's credential version (replayed here)."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.domain.model import Actor
from engine.services import admin
from tests.engine.support import SIREN_A
from tests.web.support import PASSWORD, login
from web.app import create_app
from web.sessions import sign

ADMIN = Actor("user:admin.a", frozenset({"admin"}), "Admin.a")
Session = tuple[str, str]
"""The saved session cookie and bearer token of agent.a."""


def _capture(web: TestClient, username: str = "agent.a") -> Session:
    login(web, username)
    cookie = web.cookies.get("dematflow_session")
    basic = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    token = web.post("/api/auth/token", headers={"Authorization": f"Basic {basic}"})
    assert cookie and token.status_code == 200
    return cookie, token.json()["access_token"]


def _replay(people: Platform, saved: Session) -> tuple[int, int]:
    """What the saved cookie and token get now, from another client (an attacker's copy)."""
    cookie, token = saved
    with TestClient(create_app(platform=people), follow_redirects=False) as other:
        other.cookies.set("dematflow_session", cookie)
        page = other.get(f"/c/{SIREN_A}/taches")
        if page.status_code == 303:
            assert page.headers["location"].startswith("/connexion")
        other.cookies.clear()
        api = other.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    return page.status_code, api.status_code


def _user_id(people: Platform, username: str) -> uuid.UUID:
    with people.uow() as uow:
        row = uow.users.by_username(username)
    assert row is not None
    return uuid.UUID(str(row.id))


def _reset_password(people: Platform) -> None:
    user_id = _user_id(people, "agent.a")
    with people.uow() as uow:
        admin.reset_password(
            uow,
            tenant=SIREN_A,
            user_id=user_id,
            password="un-nouveau-mot-de-passe",
            actor=ADMIN,
            now=people.clock(),
        )
        uow.commit()


def _change_roles(people: Platform) -> None:
    user_id = _user_id(people, "agent.a")
    with people.uow() as uow:
        admin.set_roles(
            uow,
            tenant=SIREN_A,
            user_id=user_id,
            roles=frozenset({"agent", "archiviste"}),
            actor=ADMIN,
            now=people.clock(),
        )
        uow.commit()


def _deactivate(people: Platform) -> None:
    user_id = _user_id(people, "agent.a")
    with people.uow() as uow:
        admin.deactivate_member(
            uow, tenant=SIREN_A, user_id=user_id, actor=ADMIN, now=people.clock()
        )
        uow.commit()


def test_saved_credentials_work_until_something_ends_them(
    people: Platform, web: TestClient
) -> None:
    saved = _capture(web)
    assert _replay(people, saved) == (200, 200)


def test_logout_ends_the_saved_cookie_and_token(people: Platform, web: TestClient) -> None:
    saved = _capture(web)
    csrf = login(web, "agent.a")  # a second session of the same account, logged out below
    assert web.post("/deconnexion", data={"csrf_token": csrf}).status_code == 303
    assert _replay(people, saved) == (303, 401)
    # Logging in again works, with fresh credentials.
    assert _replay(people, _capture(web)) == (200, 200)


@pytest.mark.parametrize(
    "change", [_reset_password, _change_roles, _deactivate], ids=["password", "roles", "deactivate"]
)
def test_account_changes_end_the_saved_cookie_and_token(
    people: Platform, web: TestClient, change: Callable[[Platform], None]
) -> None:
    saved = _capture(web)
    change(people)
    assert _replay(people, saved) == (303, 401)


def test_a_token_without_the_version_is_refused(people: Platform, web: TestClient) -> None:
    secret = people.settings.secret_key.encode()
    key = hashlib.sha256(b"dematflow-api-token\x00" + secret).digest()
    token = sign(key, {"u": str(_user_id(people, "agent.a"))})  # as issued before versions
    assert web.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
