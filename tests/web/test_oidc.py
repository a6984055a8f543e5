"""OpenID Connect login (ProConnect) against the provider simulator, over real HTTP.

The app runs in-process (TestClient, http://testserver); the simulator runs in its own process
through the CLI. The browser's trips to the provider are made with httpx, so every call the
relying party makes (discovery, JWKS, token, userinfo) really crosses the network.
"""

from __future__ import annotations

import dataclasses
import html
import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from devstack.cli_simulators import group
from engine.bootstrap import Platform
from engine.persistence.tables import metadata
from engine.services import admin
from engine.settings import OidcSettings
from tests.engine.support import OPERATOR, SIREN_A, SIREN_B
from tests.fixtures.oidc import AGENTS, APP_BASE, CLIENT_ID, CLIENT_SECRET, OidcProvider
from tests.fixtures.oidc import oidc_provider as oidc_provider
from tests.web.support import csrf_of
from web.app import create_app
from web.oidc import CALLBACK_PATH

UNVERIFIABLE = "n'a pas pu être vérifiée : la connexion est refusée"
AppFactory = Callable[..., TestClient]


@pytest.fixture
def oidc_app(people: Platform, oidc_provider: OidcProvider) -> Iterator[AppFactory]:
    """Builds the app with OIDC configured against the simulator (options as keywords)."""
    clients: list[TestClient] = []

    def make(**options: object) -> TestClient:
        values: dict[str, object] = {
            "issuer": oidc_provider.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_base_url": APP_BASE,
            **options,
        }
        settings = people.settings.model_copy(update={"oidc": OidcSettings(**values)})  # type: ignore[arg-type]
        platform = dataclasses.replace(people, settings=settings)
        client = TestClient(
            create_app(platform=platform), base_url=APP_BASE, follow_redirects=False
        )
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


def go_to_provider(web: TestClient, provider: OidcProvider) -> tuple[str, dict[str, str]]:
    """Click « Se connecter avec ProConnect »: the authorization URL and its consent form."""
    start = web.get("/connexion/proconnect", params={"suivant": "/espaces"})
    assert start.status_code == 303, start.text
    location = start.headers["location"]
    assert location.startswith(f"{provider.issuer}/authorize?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["code_challenge_method"] == "S256" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == APP_BASE + CALLBACK_PATH
    assert set(query["scope"].split()) >= {"openid", "siret", "email", "usual_name"}
    page = httpx.get(location, timeout=10)
    assert page.status_code == 200, page.text
    return location, dict(HIDDEN.findall(page.text))


def consent(provider: OidcProvider, form: dict[str, str], agent: str, scenario: str) -> str:
    """Choose an agent (and a misbehaviour) in the simulator: the callback URL, as a path."""
    answer = httpx.post(
        f"{provider.issuer}/authorize",
        data={**form, "sub": AGENTS[agent]["sub"], "scenario": scenario},
        timeout=10,
    )
    assert answer.status_code == 303, answer.text
    callback = answer.headers["location"]
    assert callback.startswith(APP_BASE + CALLBACK_PATH)
    return callback[len(APP_BASE) :]


def log_in(
    web: TestClient, provider: OidcProvider, agent: str, scenario: str = "normal"
) -> httpx2.Response:
    _, form = go_to_provider(web, provider)
    return web.get(consent(provider, form, agent, scenario))


def text(response: httpx.Response | httpx2.Response) -> str:
    """The page as the user reads it (entities decoded)."""
    return html.unescape(response.text)


def account_of(platform: Platform, provider: OidcProvider, agent: str) -> object:
    with platform.uow() as uow:
        return uow.users.by_oidc_subject(provider.issuer, AGENTS[agent]["sub"])


def nothing_created(platform: Platform, provider: OidcProvider, agent: str) -> bool:
    with platform.uow() as uow:
        linked = uow.users.by_oidc_subject(provider.issuer, AGENTS[agent]["sub"])
        return linked is None and not uow.users.by_email(AGENTS[agent]["email"])


def journal_kinds(platform: Platform, tenant: str) -> list[str]:
    with platform.uow() as uow:
        return [e.kind for e in uow.journal.iter_entries(tenant)]


def invite(platform: Platform, agent: str, roles: tuple[str, ...] = ("agent",)) -> None:
    """The tenant admin creates the agent's account with their e-mail, no password."""
    with platform.uow() as uow:
        admin.create_user(
            uow,
            username=AGENTS[agent]["email"],
            display_name="Dominique Petit",
            password=None,
            email=AGENTS[agent]["email"],
            tenant=SIREN_A,
            roles=roles,
            actor=OPERATOR,
            now=platform.clock(),
        )
        uow.commit()


def test_the_button_shows_only_when_a_provider_is_configured(
    web: TestClient,
    oidc_app: AppFactory,
    oidc_provider: OidcProvider,
) -> None:
    assert "Se connecter avec ProConnect" not in web.get("/connexion").text
    assert web.get("/connexion/proconnect").status_code == 404
    page = oidc_app().get("/connexion?suivant=/c/123")
    assert "Se connecter avec ProConnect" in page.text
    assert 'href="/connexion/proconnect?suivant=/c/123"' in page.text
    # Forms may lead to the provider (logout redirects there), and nowhere else.
    assert f"form-action 'self' {oidc_provider.issuer};" in page.headers["content-security-policy"]


def test_an_invited_agent_is_linked_then_recognised(
    people: Platform,
    oidc_app: AppFactory,
    oidc_provider: OidcProvider,
) -> None:
    invite(people, "invite-a", roles=("agent", "elu"))
    web = oidc_app()
    response = log_in(web, oidc_provider, "invite-a")
    assert response.status_code == 303 and response.headers["location"] == "/espaces"
    assert web.get("/espaces").headers["location"] == f"/c/{SIREN_A}"
    assert web.get(f"/c/{SIREN_A}/taches").status_code == 200
    row = account_of(people, oidc_provider, "invite-a")
    assert row is not None and row.username == AGENTS["invite-a"]["email"]  # type: ignore[attr-defined]
    assert journal_kinds(people, SIREN_A).count("user.oidc_linked") == 1
    # Roles are those the admin granted, nothing more nor less.
    with people.uow() as uow:
        assert uow.users.roles(row.id, SIREN_A) == {"agent", "elu"}  # type: ignore[attr-defined]
    # Next time the subject alone finds the account: no second link, no new account.
    again = oidc_app()
    assert log_in(again, oidc_provider, "invite-a").status_code == 303
    assert journal_kinds(people, SIREN_A).count("user.oidc_linked") == 1
    with people.uow() as uow:
        assert len(uow.users.by_email(AGENTS["invite-a"]["email"])) == 1


def _deactivate(platform: Platform, agent: str) -> None:
    with platform.uow() as uow:
        (row,) = uow.users.by_email(AGENTS[agent]["email"])
    with platform.uow() as uow:
        admin.deactivate_member(
            uow, tenant=SIREN_A, user_id=row.id, actor=OPERATOR, now=platform.clock()
        )
        uow.commit()


@pytest.mark.parametrize("linked_before", [True, False], ids=["linked", "invited"])
def test_a_member_deactivated_by_the_tenant_admin_is_refused_at_login(
    people: Platform, oidc_app: AppFactory, oidc_provider: OidcProvider, linked_before: bool
) -> None:
    invite(people, "invite-a")
    if linked_before:
        assert log_in(oidc_app(), oidc_provider, "invite-a").status_code == 303
    _deactivate(people, "invite-a")
    web = oidc_app()
    refused = log_in(web, oidc_provider, "invite-a")
    assert refused.status_code == 403
    assert "Votre compte a été désactivé par l'administrateur" in text(refused)
    assert web.get("/espaces").headers["location"].startswith("/connexion")  # no session
    if not linked_before:
        assert account_of(people, oidc_provider, "invite-a") is None  # nothing linked


def test_the_secret_may_come_from_a_file_and_plain_http_is_refused(
    people: Platform, oidc_app: AppFactory, oidc_provider: OidcProvider, tmp_path: Path
) -> None:
    secret = tmp_path / "oidc-secret"
    secret.write_text(CLIENT_SECRET + "\n", encoding="utf-8")
    invite(people, "invite-a")
    web = oidc_app(client_secret="", client_secret_file=secret)
    assert log_in(web, oidc_provider, "invite-a").status_code == 303
    with pytest.raises(ValueError, match="client_secret_file illisible"):
        oidc_app(client_secret_file=tmp_path / "absent")
    with pytest.raises(ValueError, match="une URL https est exigée"):
        oidc_app(issuer="http://auth.example.fr/api/v2")
    with pytest.raises(ValueError, match="une URL https est exigée"):
        oidc_app(redirect_base_url="http://dematflow.example.fr")


def test_an_uninvited_agent_is_refused_by_default(
    people: Platform,
    oidc_app: AppFactory,
    oidc_provider: OidcProvider,
) -> None:
    response = log_in(oidc_app(), oidc_provider, "agent-a")
    assert response.status_code == 403
    assert "Aucun compte n'a été ouvert pour vous dans « Commune de Montpellier-le-Test »" in (
        text(response)
    )
    assert AGENTS["agent-a"]["email"] in text(response)
    assert nothing_created(people, oidc_provider, "agent-a")


def test_agent_mode_creates_a_clerk_in_the_tenant_of_the_siret(
    people: Platform,
    oidc_app: AppFactory,
    oidc_provider: OidcProvider,
) -> None:
    web = oidc_app(provisioning="agent")
    response = log_in(web, oidc_provider, "agent-b", scenario="userinfo_json")
    assert response.status_code == 303, text(response)
    assert web.get("/espaces").headers["location"] == f"/c/{SIREN_B}"
    assert web.get(f"/c/{SIREN_A}").status_code == 404
    row = account_of(people, oidc_provider, "agent-b")
    assert row is not None
    assert row.display_name == "Sacha Bernard" and row.password_hash is None  # type: ignore[attr-defined]
    with people.uow() as uow:
        assert uow.users.roles(row.id, SIREN_B) == {"agent"}  # type: ignore[attr-defined]
        assert uow.users.tenants_of(row.id) == [SIREN_B]  # type: ignore[attr-defined]
    kinds = journal_kinds(people, SIREN_B)
    assert kinds[-2:] == ["user.created", "user.oidc_linked"]
    assert "user.oidc_linked" not in journal_kinds(people, SIREN_A)


def test_an_explicit_siret_mapping_and_the_allow_list(
    people: Platform,
    oidc_app: AppFactory,
    oidc_provider: OidcProvider,
) -> None:
    # The unknown organisation's agents work for tenant A (e.g. its CCAS) by configuration.
    mapped = oidc_app(provisioning="agent", tenant_by_siret={AGENTS["inconnu"]["siret"]: SIREN_A})
    assert log_in(mapped, oidc_provider, "inconnu").status_code == 303
    assert mapped.get("/espaces").headers["location"] == f"/c/{SIREN_A}"
    # Tenant B is not open to OIDC login: its agent is refused.
    closed = oidc_app(provisioning="agent", allowed_tenants=[SIREN_A])
    response = log_in(closed, oidc_provider, "agent-b")
    assert response.status_code == 403 and "n'utilise pas cette plateforme" in text(response)
    assert nothing_created(people, oidc_provider, "agent-b")


def test_an_unknown_siret_is_refused(
    people: Platform,
    oidc_app: AppFactory,
    oidc_provider: OidcProvider,
) -> None:
    response = log_in(oidc_app(provisioning="agent"), oidc_provider, "inconnu")
    assert response.status_code == 403
    assert (
        f"Votre organisation (SIRET {AGENTS['inconnu']['siret']}) n'utilise pas cette plateforme"
        in text(response)
    )
    assert 'id="erreur-connexion"' in text(response)
    assert nothing_created(people, oidc_provider, "inconnu")


REFUSALS = {
    "signature_invalide": UNVERIFIABLE,
    "jeton_expire": UNVERIFIABLE,
    "audience_erronee": UNVERIFIABLE,
    "nonce_errone": UNVERIFIABLE,
    "refus": "La connexion a été refusée par ProConnect.",
}
"""Simulator scenario → what the login page says."""


@pytest.mark.parametrize("scenario", sorted(REFUSALS))
def test_a_bad_answer_of_the_provider_is_refused(
    people: Platform,
    oidc_app: AppFactory,
    oidc_provider: OidcProvider,
    scenario: str,
) -> None:
    web = oidc_app(provisioning="agent")  # a good answer would create the account
    response = log_in(web, oidc_provider, "agent-b", scenario=scenario)
    assert response.status_code == 400
    assert REFUSALS[scenario] in text(response)
    assert nothing_created(people, oidc_provider, "agent-b")
    assert web.get("/espaces").status_code == 303  # still anonymous
    assert web.get("/espaces").headers["location"].startswith("/connexion")


def test_a_wrong_or_replayed_state_is_refused(
    people: Platform,
    oidc_app: AppFactory,
    oidc_provider: OidcProvider,
) -> None:
    web = oidc_app(provisioning="agent")
    _, form = go_to_provider(web, oidc_provider)
    callback = consent(oidc_provider, form, "agent-b", "normal")
    forged = re.sub(r"state=[^&]+", "state=un-autre-etat", callback)
    response = web.get(forged)
    assert response.status_code == 400
    assert "La connexion a expiré ou ne vient pas de ce navigateur" in text(response)
    # The transaction was used up by the failed attempt: the genuine answer is refused too,
    # and so is it in another browser (login CSRF: the state belongs to one session).
    assert web.get(callback).status_code == 400
    assert oidc_app(provisioning="agent").get(callback).status_code == 400
    assert nothing_created(people, oidc_provider, "agent-b")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_provider_that_is_down_gives_a_french_message(oidc_app: AppFactory) -> None:
    web = oidc_app(issuer=f"http://127.0.0.1:{free_port()}", timeout_seconds=2)
    response = web.get("/connexion/proconnect")
    assert response.status_code == 502
    assert "ProConnect est momentanément indisponible" in text(response)
    assert "Identifiant" in text(response)  # the local login form is still there


def test_a_discovery_document_of_another_issuer_is_refused(
    oidc_app: AppFactory, oidc_provider: OidcProvider
) -> None:
    """The same server reached under another name announces an issuer that is not ours."""
    web = oidc_app(issuer=oidc_provider.issuer.replace("127.0.0.1", "localhost"))
    response = web.get("/connexion/proconnect")
    assert response.status_code == 502
    assert "ProConnect est momentanément indisponible" in text(response)


def test_logout_goes_through_the_provider(
    people: Platform,
    oidc_app: AppFactory,
    oidc_provider: OidcProvider,
) -> None:
    web = oidc_app(provisioning="agent")
    assert log_in(web, oidc_provider, "agent-b").status_code == 303
    token = csrf_of(web.get(f"/c/{SIREN_B}").text)
    response = web.post("/deconnexion", data={"csrf_token": token})
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(f"{oidc_provider.issuer}/session/end?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["post_logout_redirect_uri"] == f"{APP_BASE}/connexion/proconnect/deconnexion"
    assert query["id_token_hint"].count(".") == 2
    # The session is over before the browser even reaches the provider.
    assert web.get("/espaces").headers["location"].startswith("/connexion")
    back = httpx.get(location, timeout=10)
    assert back.status_code == 303 and back.headers["location"].startswith(APP_BASE)
    assert {"sub": AGENTS["agent-b"]["sub"], "redirect": query["post_logout_redirect_uri"]} in (
        oidc_provider.logouts()
    )
    landing = web.get(back.headers["location"][len(APP_BASE) :])
    assert landing.status_code == 303 and landing.headers["location"] == "/connexion"
    assert "Vous êtes déconnecté, y compris de votre fournisseur d'identité." in (
        text(web.get("/connexion"))
    )


def test_operator_and_other_tenants_accounts_are_never_taken_over(
    people: Platform,
    oidc_app: AppFactory,
    oidc_provider: OidcProvider,
) -> None:
    """An e-mail matching an account outside the agent's tenant links nothing."""
    with people.uow() as uow:
        admin.create_user(
            uow,
            username="exploitant.oidc",
            display_name="Exploitant",
            password=None,
            email=AGENTS["invite-a"]["email"],
            is_operator=True,
            actor=OPERATOR,
            now=people.clock(),
        )
        admin.create_user(
            uow,
            username="homonyme.b",
            display_name="Homonyme",
            password=None,
            email=AGENTS["invite-a"]["email"],
            tenant=SIREN_B,
            roles=("admin",),
            actor=OPERATOR,
            now=people.clock(),
        )
        uow.commit()
    response = log_in(oidc_app(), oidc_provider, "invite-a")
    assert response.status_code == 403 and "Aucun compte n'a été ouvert" in text(response)
    assert account_of(people, oidc_provider, "invite-a") is None


def test_the_migration_creates_the_identities_table_as_declared(people: Platform) -> None:
    with people.db.connect() as conn:
        assert "oidc_identities" in inspect(conn).get_table_names()
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert [d for d in differences if "oidc_identities" in repr(d)] == []


def test_the_simulator_enforces_pkce_and_the_client_secret(
    oidc_app: AppFactory, oidc_provider: OidcProvider
) -> None:
    """So that the successful logins above prove the app's PKCE and client authentication."""
    web = oidc_app()
    _, form = go_to_provider(web, oidc_provider)
    callback = consent(oidc_provider, form, "agent-a", "normal")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": APP_BASE + CALLBACK_PATH,
        "client_id": CLIENT_ID,
    }
    token_url = f"{oidc_provider.issuer}/token"
    wrong_secret = httpx.post(token_url, data={**exchange, "client_secret": "faux"}, timeout=10)
    assert wrong_secret.status_code == 401
    wrong_verifier = httpx.post(
        token_url,
        data={**exchange, "client_secret": CLIENT_SECRET, "code_verifier": "x" * 64},
        timeout=10,
    )
    assert wrong_verifier.status_code == 400
    assert wrong_verifier.json()["error"] == "invalid_grant"
    # The code was used up by that attempt: the app's own exchange fails too, cleanly.
    response = web.get(callback)
    assert response.status_code == 400 and UNVERIFIABLE not in text(response)
    assert "La connexion a été refusée par ProConnect." in text(response)


def test_the_simulator_command_refuses_bad_options(tmp_path: Path) -> None:
    runner = CliRunner()
    exposed = runner.invoke(group, ["oidc", "--host", "0.0.0.0"])
    assert exposed.exit_code == 2 and "boucle locale" in exposed.output
    broken = tmp_path / "agents.json"
    broken.write_text('[{"sub": "x"}]', encoding="utf-8")
    unreadable = runner.invoke(group, ["oidc", "--identities", str(broken)])
    assert unreadable.exit_code == 2 and "fichier d'agents illisible" in unreadable.output
