"""Passwords: an admin-set password is temporary (it only opens the change page, never signs),
the member changes their own from « Mon compte », weak passwords are refused, and the member
is told by mail when an admin resets theirs."""

from __future__ import annotations

import base64
import email
import email.policy
import uuid
from collections.abc import Callable, Iterator

import httpx2
import pytest
from fastapi.testclient import TestClient

from engine.bootstrap import Platform, build_platform
from engine.domain.errors import InvalidInput
from engine.services import admin
from engine.services.passwords import check_new_password
from engine.settings import Settings, SmtpSettings
from tests.engine.support import OPERATOR, SIREN_A
from tests.fixtures.smtp import SmtpServer
from tests.web.support import PASSWORD, csrf_of, login, make_users
from web.app import create_app

Browser = Callable[[str], tuple[TestClient, str]]
CHANGE = "/compte/mot-de-passe"
TEMPORARY = "tuile-velo-orage-marche"
MINE = "grue-citron-falaise-hiver"


def _user_id(platform: Platform, username: str) -> uuid.UUID:
    with platform.uow() as uow:
        row = uow.users.by_username(username)
        assert row is not None
        return uuid.UUID(str(row.id))


def _reset(
    admin_client: TestClient, csrf: str, user_id: uuid.UUID, password: str
) -> httpx2.Response:
    return admin_client.post(
        f"/c/{SIREN_A}/admin/utilisateurs/{user_id}/mot-de-passe",
        data={"csrf_token": csrf, "mot_de_passe": password, "confirmation": password},
    )


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("court", "au moins 12 caractères"),
        ("aaaaaaaaaaaa", "répétés ou qui se suivent"),
        ("123456789012", "répétés ou qui se suivent"),
        ("abcdabcdabcd", "répétés ou qui se suivent"),
        ("password1234", "plus courants"),
        ("Sunshine2024!", "plus courants"),
        ("jdupont-rivière-42", "identifiant, votre nom"),
        ("élodie-au-bord-de-l'eau", "identifiant, votre nom"),
        ("villeneuve-sur-lot-1", "identifiant, votre nom"),
    ],
)
def test_the_policy_says_what_to_do(password: str, message: str) -> None:
    names = ("jdupont", "Élodie Dupont", "elodie.dupont@mairie.fr", "Commune de Villeneuve")
    with pytest.raises(InvalidInput, match=message) as refused:
        check_new_password(password, names)
    assert "phrase de passe" in str(refused.value)


def test_the_policy_accepts_a_passphrase() -> None:
    check_new_password(TEMPORARY, ("jdupont", "Élodie Dupont", None, "Commune de Villeneuve"))


def test_an_admin_cannot_set_a_common_or_repeated_password(
    people: Platform, browser_as: Browser, web: TestClient
) -> None:
    client, csrf = browser_as("admin.a")
    elu = _user_id(people, "elu.a")
    for weak in ("aaaaaaaaaaaa", "password1234", "elu.a-montpellier"):
        refused = _reset(client, csrf, elu, weak)
        assert refused.status_code == 422, weak
    login(web, "elu.a", PASSWORD)  # unchanged


def test_a_reset_password_only_opens_the_change_page(
    people: Platform, browser_as: Browser, web: TestClient
) -> None:
    client, csrf = browser_as("admin.a")
    assert _reset(client, csrf, _user_id(people, "elu.a"), TEMPORARY).status_code == 303
    token = csrf_of(web.get("/connexion").text)
    answer = web.post(
        "/connexion",
        data={"identifiant": "elu.a", "mot_de_passe": TEMPORARY, "csrf_token": token},
    )
    assert answer.status_code == 303 and answer.headers["location"] == CHANGE
    for url in ("/espaces", f"/c/{SIREN_A}", f"/c/{SIREN_A}/parapheur"):
        assert web.get(url).headers["location"] == CHANGE, url
    page = web.get(CHANGE)
    assert page.status_code == 200 and "Votre mot de passe est provisoire" in page.text
    # Signing refuses it: the batch signature goes nowhere but the change page.
    signing = web.post(
        f"/c/{SIREN_A}/parapheur/signer",
        data={"csrf_token": csrf_of(page.text), "taches": [], "confirmation": TEMPORARY},
    )
    assert signing.status_code == 303 and signing.headers["location"] == CHANGE
    # The API (a token, or a visa confirmed with HTTP Basic) refuses it in French.
    basic = "Basic " + base64.b64encode(f"elu.a:{TEMPORARY}".encode()).decode()
    for method, url in (("POST", "/api/auth/token"), ("GET", f"/api/tenants/{SIREN_A}/tasks")):
        refused = web.request(method, url, headers={"Authorization": basic})
        assert refused.status_code == 403, url
        assert "mot de passe est provisoire" in refused.json()["detail"]
        assert refused.headers["content-type"].startswith("application/problem+json")


def test_the_member_chooses_their_own_password(
    people: Platform, browser_as: Browser, web: TestClient
) -> None:
    client, csrf = browser_as("admin.a")
    _reset(client, csrf, _user_id(people, "elu.a"), TEMPORARY)
    token = login(web, "elu.a", TEMPORARY)
    cases = [
        ({"actuel": "pas le bon", "nouveau": MINE, "confirmation": MINE}, "actuel incorrect"),
        ({"actuel": TEMPORARY, "nouveau": MINE, "confirmation": "autre"}, "diffèrent"),
        ({"actuel": TEMPORARY, "nouveau": TEMPORARY, "confirmation": TEMPORARY}, "différent"),
        ({"actuel": TEMPORARY, "nouveau": "aaaaaaaaaaaa", "confirmation": "aaaaaaaaaaaa"}, "répétés"),
    ]  # fmt: skip
    for form, message in cases:
        refused = web.post(CHANGE, data={"csrf_token": token, **form})
        assert refused.status_code == 422 and message in refused.text, message
    done = web.post(
        CHANGE,
        data={"csrf_token": token, "actuel": TEMPORARY, "nouveau": MINE, "confirmation": MINE},
    )
    assert done.status_code == 303
    # This session goes on with the new credential version; the temporary password is gone.
    assert web.get(f"/c/{SIREN_A}/parapheur").status_code == 200
    # Another browser, elsewhere (here, two failures in a row would delay the next attempt).
    other = TestClient(web.app, client=("203.0.113.7", 40000), follow_redirects=False)
    bad = other.post(
        "/connexion",
        data={
            "identifiant": "elu.a",
            "mot_de_passe": TEMPORARY,
            "csrf_token": csrf_of(other.get("/connexion").text),
        },
    )
    assert bad.status_code == 401
    login(other, "elu.a", MINE)
    assert other.get(f"/c/{SIREN_A}/parapheur").status_code == 200


def test_a_self_service_change_ends_the_other_sessions(browser_as: Browser) -> None:
    elsewhere, _ = browser_as("agent.a")
    here, token = browser_as("agent.a")
    form = {"csrf_token": token, "actuel": PASSWORD, "nouveau": MINE, "confirmation": MINE}
    assert here.get(CHANGE).status_code == 200
    assert here.post(CHANGE, data=form).status_code == 303
    assert here.get(f"/c/{SIREN_A}/taches").status_code == 200
    gone = elsewhere.get(f"/c/{SIREN_A}/taches")
    assert gone.status_code == 303 and gone.headers["location"].startswith("/connexion")


@pytest.fixture
def mailing(settings: Settings, smtp_server: SmtpServer) -> Iterator[Platform]:
    """The platform with the test SMTP server as its relay, and the usual users."""
    smtp = SmtpSettings(host=smtp_server.host, port=smtp_server.port, sender="mairie@test.fr")
    platform = build_platform(settings.model_copy(update={"smtp": smtp}))
    make_users(platform)
    with platform.uow() as uow:
        admin.create_user(
            uow,
            username="marie",
            display_name="Marie Curie",
            email="marie@commune.example.fr",
            password=PASSWORD,
            tenant=SIREN_A,
            roles=("elu",),
            actor=OPERATOR,
            now=platform.clock(),
        )
        uow.commit()
    smtp_server.clear()
    yield platform
    platform.db.dispose()


def test_the_member_is_told_by_mail_without_the_password(
    mailing: Platform, smtp_server: SmtpServer
) -> None:
    with TestClient(create_app(platform=mailing), follow_redirects=False) as client:
        csrf = login(client, "admin.a")
        assert _reset(client, csrf, _user_id(mailing, "marie"), TEMPORARY).status_code == 303
        shown = client.get(f"/c/{SIREN_A}/admin/utilisateurs/{_user_id(mailing, 'marie')}")
        assert "un courriel l&#39;en a averti" in shown.text
    [mail] = smtp_server.received
    assert mail.recipients == ("marie@commune.example.fr",)
    message = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert "mot de passe a été réinitialisé" in str(message["Subject"])
    parts = [p.get_content() for p in message.walk() if p.get_content_maintype() == "text"]
    text = "\n".join(parts)
    assert "Marie Curie" in text and "Admin.a" in text and "prochaine connexion" in text
    assert TEMPORARY not in text and TEMPORARY.encode() not in mail.data
