"""Sessions, CSRF, security headers, login rate limiting, open redirections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.engine.support import SIREN_A
from tests.web.support import PASSWORD, csrf_of, login
from web.sessions import sign, unsign


def test_pages_need_a_session(web: TestClient) -> None:
    response = web.get(f"/c/{SIREN_A}/taches")
    assert response.status_code == 303
    assert response.headers["location"] == f"/connexion?suivant=/c/{SIREN_A}/taches"


def test_login_sets_a_hardened_cookie_and_lands_in_the_tenant(web: TestClient) -> None:
    token = csrf_of(web.get("/connexion").text)
    response = web.post(
        "/connexion",
        data={
            "identifiant": "Agent.A",
            "mot_de_passe": PASSWORD,
            "csrf_token": token,
            "suivant": f"/c/{SIREN_A}/dossiers",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/c/{SIREN_A}/dossiers"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert web.get("/espaces").headers["location"] == f"/c/{SIREN_A}"
    page = web.get(f"/c/{SIREN_A}")
    assert page.status_code == 200 and "Commune de Montpellier-le-Test" in page.text
    # The CSRF token changed at login: the one of the anonymous session no longer works.
    assert csrf_of(page.text) != token


def test_wrong_password_and_unknown_user_look_the_same(web: TestClient) -> None:
    token = csrf_of(web.get("/connexion").text)
    for username in ("agent.a", "personne"):
        response = web.post(
            "/connexion",
            data={"identifiant": username, "mot_de_passe": "mauvais", "csrf_token": token},
        )
        assert response.status_code == 401
        assert "Identifiant ou mot de passe incorrect." in response.text


def test_login_is_rate_limited(web: TestClient) -> None:
    moments = iter(datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(minutes=i) for i in range(99))
    now = next(moments)
    web.app.state.login_limiter.clock = lambda: now
    token = csrf_of(web.get("/connexion").text)
    form = {"identifiant": "elu.a", "mot_de_passe": "mauvais", "csrf_token": token}
    statuses = []
    for _ in range(6):  # a minute apart: past the progressive delays, within the window
        statuses.append(web.post("/connexion", data=form).status_code)
        now = next(moments)
    assert statuses == [401] * 5 + [429]
    good = web.post("/connexion", data={**form, "mot_de_passe": PASSWORD})
    assert good.status_code == 429 and "Trop de tentatives" in good.text
    assert int(good.headers["retry-after"]) > 0
    # Other accounts are not locked out by it.
    assert login(web, "agent.a")


def test_forms_without_the_csrf_token_are_refused(web: TestClient) -> None:
    login(web, "agent.a")
    response = web.post(f"/c/{SIREN_A}/procedures/arrete/demarrer", data={})
    assert response.status_code == 403
    assert "Jeton de sécurité manquant" in response.text
    forged = web.post(f"/c/{SIREN_A}/procedures/arrete/demarrer", data={"csrf_token": "x" * 43})
    assert forged.status_code == 403


def test_open_redirection_is_refused(web: TestClient) -> None:
    token = csrf_of(web.get("/connexion").text)
    response = web.post(
        "/connexion",
        data={
            "identifiant": "agent.a",
            "mot_de_passe": PASSWORD,
            "csrf_token": token,
            "suivant": "//evil.example/",
        },
    )
    assert response.headers["location"] == "/espaces"


def test_logout_ends_the_session(web: TestClient) -> None:
    token = login(web, "agent.a")
    assert web.post("/deconnexion", data={"csrf_token": token}).status_code == 303
    assert web.get(f"/c/{SIREN_A}").status_code == 303


def test_security_headers(web: TestClient) -> None:
    response = web.get("/connexion")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in response.headers
    api = web.get("/health/live")
    assert api.headers["x-frame-options"] == "DENY"


def test_hsts_and_secure_cookie_behind_tls(people: object) -> None:
    from web.app import create_app

    with TestClient(create_app(platform=people), base_url="https://testserver") as client:  # type: ignore[arg-type]
        response = client.get("/connexion")
        assert response.headers["strict-transport-security"].startswith("max-age=")
        assert "Secure" in response.headers["set-cookie"]


def test_signed_values_resist_tampering_and_expire() -> None:
    key = b"k" * 32
    value = sign(key, {"user": "u1"}, now=1000)
    assert unsign(key, value, max_age=60, now=1010) == {"user": "u1"}
    assert unsign(key, value, max_age=60, now=1061) == {}
    assert unsign(b"other" * 8, value, max_age=60, now=1010) == {}
    payload, issued, mac = value.split(".")
    assert unsign(key, f"{payload}.{int(issued) + 100}.{mac}", max_age=600, now=1010) == {}
    assert unsign(key, "garbage", max_age=60) == {}


def test_a_forged_cookie_is_an_anonymous_visitor(web: TestClient) -> None:
    web.cookies.set("dematflow_session", sign(b"not-the-key" * 3, {"user": "x"}))
    assert web.get(f"/c/{SIREN_A}").status_code == 303
