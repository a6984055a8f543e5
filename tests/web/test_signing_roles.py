"""A signing role given to an account that could not confirm a signature (no password, no second
factor: an élu invited to log in through ProConnect): the admin is warned and can require a
second factor; such an élu is told how to fix it, and signs once they have one."""

from __future__ import annotations

import hashlib
import re
import uuid

import pyotp
from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from tests.engine.support import SIREN_A
from tests.web.support import csrf_of, login
from web.app import create_app
from web.sessions import sign

WARNING = "ni mot de passe ni double authentification"
NO_MEANS = "pas de mot de passe personnel ni de double authentification"


def _session(client: TestClient, people: Platform, username: str) -> str:
    """The session a ProConnect login opens for the account (no password involved)."""
    with people.uow() as uow:
        row = uow.users.by_username(username)
    token = "jeton-csrf-" + username
    key = hashlib.sha256(b"dematflow-session\x00" + people.settings.secret_key.encode()).digest()
    data = {"user": str(row.id), "v": row.credential_version, "name": username, "csrf": token}
    client.cookies.set("dematflow_session", sign(key, data))
    return token


def _member_id(people: Platform, username: str) -> uuid.UUID:
    with people.uow() as uow:
        return uuid.UUID(str(uow.users.by_username(username).id))


def _draft(clerk: TestClient, token: str) -> None:
    draft = {"objet": "Arrêté de voirie", "nature": "3", "texte": "Le maire arrête."}
    started = clerk.post(f"/c/{SIREN_A}/procedures/arrete/demarrer", data={"csrf_token": token})
    clerk.post(started.headers["location"], data={"csrf_token": token, **draft})


def test_the_admin_is_warned_and_can_require_a_second_factor(people: Platform) -> None:
    app = create_app(platform=people)
    with TestClient(app, follow_redirects=False) as admin:
        token = login(admin, "admin.a")
        base = f"/c/{SIREN_A}/admin/utilisateurs"
        created = admin.post(
            base,
            data={"csrf_token": token, "identifiant": "elu.invite", "roles": ["elu"]},
        )
        assert created.status_code == 303
        assert WARNING in admin.get(base).text  # the creation's notice
        # An account that only clerks: no warning, until it is given the élu role.
        admin.post(
            base, data={"csrf_token": token, "identifiant": "agent.invite", "roles": "agent"}
        )
        agent_page = f"{base}/{_member_id(people, 'agent.invite')}"
        assert WARNING not in admin.get(agent_page).text
        granted = admin.post(
            f"{agent_page}/roles", data={"csrf_token": token, "roles": ["agent", "elu"]}
        )
        assert granted.status_code == 303
        page = admin.get(agent_page).text
        assert "Attention" in page and WARNING in page and 'id="alerte-signature"' in page
        # The admin requires a second factor of this member.
        demanded = admin.post(f"{agent_page}/double-authentification", data={"csrf_token": token})
        assert demanded.status_code == 303
        page = admin.get(agent_page).text
        assert "Exigée, pas encore activée" in page and "lui est demandée" in page
        # An élu with a password of their own is not concerned.
        assert WARNING not in admin.get(f"{base}/{_member_id(people, 'elu.a')}").text


def test_an_elu_without_a_password_is_told_how_to_sign_then_signs_with_a_code(
    people: Platform,
) -> None:
    app = create_app(platform=people)
    with (
        TestClient(app, follow_redirects=False) as admin,
        TestClient(app, follow_redirects=False) as clerk,
        TestClient(app, follow_redirects=False) as elu,
    ):
        admin_token = login(admin, "admin.a")
        admin.post(
            f"/c/{SIREN_A}/admin/utilisateurs",
            data={"csrf_token": admin_token, "identifiant": "elu.invite", "roles": ["elu"]},
        )
        clerk_token = login(clerk, "agent.a")
        _draft(clerk, clerk_token)
        token = _session(elu, people, "elu.invite")
        page = elu.get(f"/c/{SIREN_A}/parapheur").text.replace("&#39;", "'")
        assert NO_MEANS in page and "Activez la double authentification" in page
        assert 'name="confirmation"' not in page
        boxes = re.findall(r'name="taches" value="([^"]+)"', page)
        sign_url = f"/c/{SIREN_A}/parapheur/signer"
        refused = elu.post(sign_url, data={"csrf_token": token, "taches": boxes})
        assert refused.status_code == 422
        assert NO_MEANS in refused.text.replace("&#39;", "'")
        # The élu activates the second factor from « Mon compte » (no password needed)...
        started = elu.post("/compte/double-authentification/activer", data={"csrf_token": token})
        found = re.search(r'class="secret-key">([A-Z2-7 ]+)<', started.text)
        assert found
        secret = found.group(1).replace(" ", "")
        code = pyotp.TOTP(secret).at(people.clock())
        done = elu.post(
            "/compte/double-authentification/confirmer", data={"csrf_token": token, "code": code}
        )
        assert done.status_code == 200
        token = csrf_of(done.text)
        # ...and confirms signatures with a code alone.
        page = elu.get(f"/c/{SIREN_A}/parapheur").text
        assert 'name="code_confirmation"' in page and 'name="confirmation"' not in page
        wrong = elu.post(
            sign_url, data={"csrf_token": token, "taches": boxes, "code_confirmation": "000000"}
        )
        assert wrong.status_code == 422
        later = pyotp.TOTP(secret).at(people.clock().timestamp() + 30)
        signed = elu.post(
            sign_url, data={"csrf_token": token, "taches": boxes, "code_confirmation": later}
        )
        assert signed.status_code == 303
