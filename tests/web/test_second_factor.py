"""Second factor (TOTP): enrolment from « Mon compte », the code after the password, replays and
guesses refused, recovery codes, tenants' requirements, signing, the API; secrets encrypted."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from httpx import Response

from engine.bootstrap import Platform
from engine.persistence.tables import metadata
from engine.services import second_factor
from tests.engine.support import SIREN_A
from tests.web.support import PASSWORD, csrf_of, login
from web.app import create_app

ACCOUNT = "/compte/double-authentification"
SECRET = re.compile(r'id="cle-secrete" class="secret-key">([A-Z2-7 ]+)<')
RECOVERY = re.compile(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>")


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def step(self, seconds: int = 30) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(people: Platform) -> Clock:
    found = Clock()
    people.clock = found
    return found


Client = Callable[..., TestClient]


@pytest.fixture
def client(people: Platform, clock: Clock) -> Iterator[Client]:
    app = create_app(platform=people)
    made: list[TestClient] = []

    def make(address: str = "testclient") -> TestClient:
        new = TestClient(app, client=(address, 40000), follow_redirects=False)
        new.__enter__()
        made.append(new)
        return new

    yield make
    for one in made:
        one.__exit__(None, None, None)


def _enrol(browser: TestClient, token: str, clock: Clock) -> tuple[str, list[str], str]:
    """Enrol from « Mon compte »: (secret, recovery codes, the new CSRF token)."""
    page = browser.post(f"{ACCOUNT}/activer", data={"csrf_token": token})
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in page.text  # the QR code, drawn without Pillow
    assert 'autocomplete="one-time-code"' in page.text and 'inputmode="numeric"' in page.text
    found = SECRET.search(page.text)
    assert found
    secret = found.group(1).replace(" ", "")
    wrong = browser.post(f"{ACCOUNT}/confirmer", data={"csrf_token": token, "code": "000000"})
    assert wrong.status_code == 422 and "Code incorrect" in wrong.text
    assert secret in SECRET.search(wrong.text).group(1).replace(" ", "")  # type: ignore[union-attr]
    code = pyotp.TOTP(secret).at(clock.now)
    done = browser.post(f"{ACCOUNT}/confirmer", data={"csrf_token": token, "code": code})
    assert done.status_code == 200, done.text
    codes = RECOVERY.findall(done.text)
    assert len(codes) == 10 and "ne seront plus jamais affichés" in done.text
    return secret, codes, csrf_of(done.text)


def _password(browser: TestClient, username: str, password: str = PASSWORD) -> Response:
    token = csrf_of(browser.get("/connexion").text)
    form = {"identifiant": username, "mot_de_passe": password, "csrf_token": token}
    return browser.post("/connexion", data=form)


def _code(browser: TestClient, code: str) -> Response:
    page = browser.get("/connexion/code")
    assert page.status_code == 200, page.headers.get("location")
    return browser.post("/connexion/code", data={"csrf_token": csrf_of(page.text), "code": code})


def _enrolled(client: Client, clock: Clock, username: str = "elu.a") -> tuple[str, list[str]]:
    browser = client()
    token = login(browser, username)
    secret, codes, _ = _enrol(browser, token, clock)
    clock.step()
    return secret, codes


def test_enrolment_then_every_login_asks_for_a_code_once(client: Client, clock: Clock) -> None:
    owner = client()
    token = login(owner, "elu.a")
    page = owner.get(ACCOUNT)
    assert "n'est pas activée" in page.text.replace("&#39;", "'")
    secret, _codes, _token = _enrol(owner, token, clock)
    assert owner.get(f"/c/{SIREN_A}/parapheur").status_code == 200  # this session goes on
    clock.step()
    browser = client()
    after_password = _password(browser, "elu.a")
    assert after_password.headers["location"] == "/connexion/code"
    # Between the password and the code, the session opens nothing.
    held = browser.get(f"/c/{SIREN_A}/parapheur")
    assert held.status_code == 303 and held.headers["location"].startswith("/connexion?")
    code_page = browser.get("/connexion/code")
    assert 'autocomplete="one-time-code"' in code_page.text
    assert 'inputmode="numeric"' in code_page.text and '<label for="code">' in code_page.text
    assert _code(browser, "123456").status_code == 401
    code = pyotp.TOTP(secret).at(clock.now)
    done = _code(browser, code)
    assert done.status_code == 303 and done.headers["location"] == "/espaces"
    assert "dematflow_appareil" in browser.cookies
    assert browser.get(f"/c/{SIREN_A}/parapheur").status_code == 200
    # The same code, replayed by someone who watched it typed, within its 30 seconds: refused.
    thief = client("198.51.100.4")
    _password(thief, "elu.a")
    replay = _code(thief, code)
    assert replay.status_code == 401 and "déjà utilisé" in replay.text
    # So is the code of the previous step (still inside the drift window).
    previous = pyotp.TOTP(secret).at(clock.now - timedelta(seconds=30))
    assert _code(thief, previous).status_code == 401


def test_a_recovery_code_works_once(client: Client, clock: Clock) -> None:
    _secret, codes = _enrolled(client, clock)
    browser = client()
    _password(browser, "elu.a")
    used = _code(browser, codes[0].upper().replace("-", " "))  # typed loosely: still accepted
    assert used.status_code == 303
    assert "il vous en reste 9" in browser.get("/espaces", follow_redirects=True).text
    again = client("203.0.113.9")
    _password(again, "elu.a")
    assert _code(again, codes[0]).status_code == 401


def test_code_guesses_share_the_login_throttle(client: Client, clock: Clock) -> None:
    secret, _codes = _enrolled(client, clock)
    attacker = client("198.51.100.7")  # knows the password, not the code
    _password(attacker, "elu.a")
    assert [_code(attacker, f"00000{i}").status_code for i in range(2)] == [401, 401]
    delayed = _code(attacker, "000002")
    assert delayed.status_code == 429 and "réessayez dans 1 seconde(s)" in delayed.text
    clock.step(1)
    assert _code(attacker, "000003").status_code == 401
    clock.step(1)
    early = _password(attacker, "elu.a")  # the password too waits (2 s after a 3rd failure)
    assert early.status_code == 429 and "réessayez dans 1 seconde(s)" in early.text
    clock.step(1)
    # The right password does not reset the code's attempts: the 5-attempt bound holds.
    assert _password(attacker, "elu.a").headers["location"] == "/connexion/code"
    right = _code(attacker, pyotp.TOTP(secret).at(clock.now))
    assert right.status_code == 429 and "minute(s)" in right.text


def test_a_tenant_requiring_it_sends_members_to_enrolment(
    people: Platform, client: Client, clock: Clock
) -> None:
    admin = client()
    token = login(admin, "admin.a")
    settings = admin.get(f"/c/{SIREN_A}/admin/parametres")
    assert 'id="double-elu"' in settings.text
    saved = admin.post(
        f"/c/{SIREN_A}/admin/double-authentification",
        data={"csrf_token": token, "roles": ["elu"]},
    )
    assert saved.status_code == 303
    assert "exigée des élus" in admin.get(saved.headers["location"]).text
    with people.uow() as uow:
        assert second_factor.policy(uow, SIREN_A) == {"elu"}
    # The élu logs in: every page leads to the enrolment, the API refuses.
    elu = client()
    token = login(elu, "elu.a")
    for url in (f"/c/{SIREN_A}/parapheur", "/espaces", f"/c/{SIREN_A}"):
        sent = elu.get(url)
        assert sent.status_code == 303 and sent.headers["location"] == ACCOUNT, url
    assert "exige la double authentification" in elu.get(ACCOUNT).text
    refused = elu.post("/api/auth/token", auth=("elu.a", PASSWORD))
    assert refused.status_code == 403 and "double authentification" in refused.json()["detail"]
    _secret, _codes, token = _enrol(elu, token, clock)
    assert elu.get(f"/c/{SIREN_A}/parapheur").status_code == 200
    # Required: it cannot be disabled. Other roles are not concerned.
    page = elu.get(ACCOUNT)
    assert "ne peut pas être désactivée" in page.text and "/desactiver" not in page.text
    agent = client()
    login(agent, "agent.a")
    assert agent.get(f"/c/{SIREN_A}/taches").status_code == 200


def _signature_page(browser: TestClient) -> tuple[str, list[str]]:
    page = browser.get(f"/c/{SIREN_A}/parapheur")
    return page.text, re.findall(r'name="taches" value="([^"]+)"', page.text)


def _draft(client: Client, count: int) -> None:
    clerk = client()
    token = login(clerk, "agent.a")
    draft = {"objet": "Arrêté de voirie", "nature": "3", "texte": "Le maire arrête."}
    for _ in range(count):
        started = clerk.post(f"/c/{SIREN_A}/procedures/arrete/demarrer", data={"csrf_token": token})
        clerk.post(started.headers["location"], data={"csrf_token": token, **draft})


def test_signing_asks_for_the_code_when_the_tenant_requires_it(
    people: Platform, client: Client, clock: Clock
) -> None:
    _draft(client, 2)
    with people.uow() as uow:
        second_factor.set_policy(
            uow, tenant=SIREN_A, roles=frozenset({"elu"}), actor=_admin(), now=clock.now
        )
        uow.commit()
    elu = client()
    token = login(elu, "elu.a")
    secret, _codes, token = _enrol(elu, token, clock)
    clock.step()
    text, boxes = _signature_page(elu)
    assert 'name="code_confirmation"' in text and 'autocomplete="one-time-code"' in text
    sign = f"/c/{SIREN_A}/parapheur/signer"
    form: dict[str, Any] = {"csrf_token": token, "taches": boxes[:1], "confirmation": PASSWORD}
    without = elu.post(sign, data=form)
    assert without.status_code == 422 and "Code de confirmation incorrect" in without.text
    code = pyotp.TOTP(secret).at(clock.now)
    assert elu.post(sign, data={**form, "code_confirmation": code}).status_code == 303
    # The code is spent: signing the second one with it is refused.
    replay = elu.post(sign, data={**form, "taches": boxes[1:], "code_confirmation": code})
    assert replay.status_code == 422 and "déjà utilisé" in replay.text


def _admin() -> Any:
    from engine.domain.model import Actor

    return Actor("user:admin.a", frozenset({"admin"}), "Admin.a")


def test_the_api_needs_a_code_for_an_enrolled_account(client: Client, clock: Clock) -> None:
    secret, _codes = _enrolled(client, clock)
    api = client()
    bare = api.post("/api/auth/token", auth=("elu.a", PASSWORD))
    assert bare.status_code == 401 and "X-OTP" in bare.json()["detail"]
    code = pyotp.TOTP(secret).at(clock.now)
    token = api.post("/api/auth/token", auth=("elu.a", PASSWORD), headers={"X-OTP": code})
    assert token.status_code == 200
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert api.get("/api/me", headers=bearer).status_code == 200
    again = api.post("/api/auth/token", auth=("elu.a", PASSWORD), headers={"X-OTP": code})
    assert again.status_code == 401  # once per code


def test_disabling_needs_the_password_and_a_code_and_ends_other_sessions(
    client: Client, clock: Clock
) -> None:
    owner = client()
    token = login(owner, "elu.a")
    secret, _codes, token = _enrol(owner, token, clock)
    clock.step()
    other = client("203.0.113.5")
    _password(other, "elu.a")
    _code(other, pyotp.TOTP(secret).at(clock.now))
    clock.step()
    code = pyotp.TOTP(secret).at(clock.now)
    url = f"{ACCOUNT}/desactiver"
    wrong = owner.post(url, data={"csrf_token": token, "mot_de_passe": "non", "code": code})
    assert wrong.status_code == 422 and "Mot de passe incorrect" in wrong.text
    done = owner.post(url, data={"csrf_token": token, "mot_de_passe": PASSWORD, "code": code})
    assert done.status_code == 303
    assert "désactivée" in owner.get(ACCOUNT).text
    assert other.get("/espaces").status_code == 303  # the other session ended
    assert _password(client("203.0.113.6"), "elu.a").headers["location"] == "/espaces"


def test_the_secret_is_stored_encrypted(people: Platform, client: Client, clock: Clock) -> None:
    secret, codes = _enrolled(client, clock)
    with people.uow() as uow:
        row = uow.users.by_username("elu.a")
        stored = uow.second_factors.get(row.id)
        hashes = uow.connection.exec_driver_sql(
            "SELECT code_hash FROM second_factor_recovery_codes"
        ).fetchall()
    assert stored.secret and secret not in stored.secret and stored.secret.startswith("gAAAA")
    assert all(code.replace("-", "") not in str(hashes) for code in codes)
    code = pyotp.TOTP(secret).at(clock.now)
    key = people.settings.secret_key
    with people.uow() as uow:
        assert (
            second_factor.check_code(uow, row.id, code, secret_key="x" * 40, now=clock.now) is None
        )
        assert second_factor.check_code(uow, row.id, code, secret_key=key, now=clock.now) == "totp"


def test_the_migration_creates_the_tables_as_declared(people: Platform) -> None:
    tables = (
        "login_failures",
        "second_factors",
        "second_factor_recovery_codes",
        "second_factor_requirements",
    )
    with people.db.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert [d for d in differences if any(t in repr(d) for t in tables)] == []
