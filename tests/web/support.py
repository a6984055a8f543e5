"""Web test helpers: two tenants, one user per role, logging in through the form."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.services import admin
from tests.engine.support import OPERATOR, SIREN_A, SIREN_B, make_tenants

PASSWORD = "mot-de-passe-de-test"
USERS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "agent.a": (SIREN_A, ("agent",)),
    "elu.a": (SIREN_A, ("elu",)),
    "archiviste.a": (SIREN_A, ("archiviste",)),
    "admin.a": (SIREN_A, ("admin",)),
    "agent.b": (SIREN_B, ("agent",)),
    "exploitant": (None, ()),
}
"""Username -> (tenant, roles); `exploitant` is the platform operator, in no tenant."""


def make_users(platform: Platform) -> None:
    make_tenants(platform)
    with platform.uow() as uow:
        for username, (tenant, roles) in USERS.items():
            admin.create_user(
                uow,
                username=username,
                display_name=username.capitalize(),
                password=PASSWORD,
                tenant=tenant,
                roles=roles,
                is_operator=username == "exploitant",
                actor=OPERATOR,
                now=platform.clock(),
            )
        uow.commit()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the CSRF token of the new session."""
    token = csrf_of(client.get("/connexion").text)
    response = client.post(
        "/connexion",
        data={"identifiant": username, "mot_de_passe": password, "csrf_token": token},
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/connexion").text)
