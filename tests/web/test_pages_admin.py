"""Tenant administration screens: members and roles, procedure catalogue, settings."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from engine.bootstrap import Platform
from engine.services import admin, tenant_settings
from tests.engine.support import OPERATOR, SIREN_A, SIREN_B
from tests.web.support import PASSWORD, login

Browser = Callable[[str], tuple[TestClient, str]]
USERS_URL = f"/c/{SIREN_A}/admin/utilisateurs"


def _user_id(people: Platform, username: str) -> str:
    with people.uow() as uow:
        row = uow.users.by_username(username)
    assert row is not None
    return str(row.id)


def _add_member(people: Platform, username: str, roles: tuple[str, ...]) -> None:
    with people.uow() as uow:
        admin.create_user(
            uow,
            username=username,
            display_name=username.title(),
            password=PASSWORD,
            tenant=SIREN_A,
            roles=roles,
            actor=OPERATOR,
            now=people.clock(),
        )
        uow.commit()


def _statements(people: Platform, client: TestClient, url: str) -> int:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(people.db, "before_cursor_execute", record)
    try:
        response = client.get(url)
    finally:
        event.remove(people.db, "before_cursor_execute", record)
    assert response.status_code == 200, response.text
    return len(statements)


def test_members_page_lists_roles_with_a_constant_number_of_queries(
    people: Platform, browser_as: Browser
) -> None:
    client, _ = browser_as("admin.a")
    few = _statements(people, client, USERS_URL)
    for index in range(10):
        _add_member(people, f"renfort{index}", ("agent", "archiviste"))
    many = _statements(people, client, USERS_URL)
    assert few == many
    page = client.get(USERS_URL).text
    assert "11 membre(s)" not in page and "14 membre(s)" in page
    assert "Renfort3" in page and "Agent, Archiviste" in page
    assert "agent.b" not in page  # another tenant's people are not listed
    nav = re.search(r'<nav class="main-nav".*?</nav>', page, re.S)
    assert nav is not None
    assert f'href="/c/{SIREN_A}/admin/procedures"' in nav.group(0)
    assert f'href="/c/{SIREN_A}/admin/parametres"' in nav.group(0)


def test_an_admin_changes_roles_and_sees_refusals_beside_the_form(
    people: Platform, browser_as: Browser
) -> None:
    client, csrf = browser_as("admin.a")
    agent = _user_id(people, "agent.a")
    url = f"{USERS_URL}/{agent}"
    assert "Agent.a" in client.get(url).text
    done = client.post(f"{url}/roles", data={"csrf_token": csrf, "roles": ["agent", "elu"]})
    assert done.status_code == 303 and done.headers["location"] == url
    assert "Rôles de « agent.a » enregistrés." in client.get(url).text
    with people.uow() as uow:
        assert uow.users.roles(uuid.UUID(agent), SIREN_A) == {"agent", "elu"}
    me = _user_id(people, "admin.a")
    refused = client.post(f"{USERS_URL}/{me}/roles", data={"csrf_token": csrf, "roles": "agent"})
    assert refused.status_code == 409
    assert 'id="erreur-roles"' in refused.text
    assert "Vous ne pouvez pas retirer votre propre rôle d&#39;administrateur" in refused.text
    empty = client.post(f"{url}/roles", data={"csrf_token": csrf})
    assert empty.status_code == 422 and "au moins un rôle" in empty.text
    # Another tenant's member does not exist here.
    other = _user_id(people, "agent.b")
    assert client.get(f"{USERS_URL}/{other}").status_code == 404
    assert client.post(f"{USERS_URL}/{other}/roles", data={"csrf_token": csrf}).status_code == 404


def test_the_member_page_forms_post_to_the_member(people: Platform, browser_as: Browser) -> None:
    """The forms are driven by clicks: each must post under the member's own address (they once
    posted to /c/<siren>/roles, a 404, because the layout's `base` variable shadowed the page's)."""
    client, _csrf = browser_as("admin.a")
    url = f"{USERS_URL}/{_user_id(people, 'agent.a')}"
    actions = re.findall(r'<form method="post" action="([^"]+)"', client.get(url).text)
    assert {f"{url}/roles", f"{url}/activation", f"{url}/mot-de-passe"} <= set(actions)
    assert not {f"/c/{SIREN_A}/roles", f"/c/{SIREN_A}/activation"} & set(actions)


def test_a_deactivated_member_loses_this_tenant_only_until_reactivated(
    people: Platform, browser_as: Browser
) -> None:
    client, csrf = browser_as("admin.a")
    agent_id = uuid.UUID(_user_id(people, "agent.a"))
    with people.uow() as uow:
        uow.users.grant(agent_id, SIREN_B, "agent")
        uow.commit()
    agent_client, _ = browser_as("agent.a")
    url = f"{USERS_URL}/{_user_id(people, 'agent.a')}"
    done = client.post(f"{url}/activation", data={"csrf_token": csrf, "action": "desactiver"})
    assert done.status_code == 303
    assert "Désactivé le" in client.get(USERS_URL).text
    # Deactivation ends the member's sessions (tests/web/test_session_revocation.py); logged in
    # again, they keep their other tenant.
    assert agent_client.get(f"/c/{SIREN_A}/taches").status_code == 303
    login(agent_client, "agent.a")
    assert agent_client.get(f"/c/{SIREN_A}/taches").status_code == 404
    assert agent_client.get(f"/c/{SIREN_B}/taches").status_code == 200
    again = client.post(f"{url}/activation", data={"csrf_token": csrf, "action": "desactiver"})
    assert again.status_code == 409 and "déjà désactivé" in again.text
    client.post(f"{url}/activation", data={"csrf_token": csrf, "action": "reactiver"})
    assert agent_client.get(f"/c/{SIREN_A}/taches").status_code == 200
    me = f"{USERS_URL}/{_user_id(people, 'admin.a')}"
    last = client.post(f"{me}/activation", data={"csrf_token": csrf, "action": "desactiver"})
    assert last.status_code == 409 and "dernier administrateur actif" in last.text
    assert client.get(USERS_URL).status_code == 200


def test_an_admin_sets_a_temporary_password(
    people: Platform, browser_as: Browser, web: TestClient
) -> None:
    client, csrf = browser_as("admin.a")
    url = f"{USERS_URL}/{_user_id(people, 'elu.a')}/mot-de-passe"
    differ = client.post(
        url,
        data={"csrf_token": csrf, "mot_de_passe": "provisoire-2026-B", "confirmation": "autre"},
    )
    assert (
        differ.status_code == 422 and "Les deux saisies du mot de passe diffèrent." in differ.text
    )
    new = "provisoire-2026-B"
    done = client.post(url, data={"csrf_token": csrf, "mot_de_passe": new, "confirmation": new})
    assert done.status_code == 303
    login(web, "elu.a", new)
    # Temporary: it only opens the page where the élu chooses their own password.
    assert web.get(f"/c/{SIREN_A}/parapheur").headers["location"] == "/compte/mot-de-passe"


def test_the_catalogue_decides_what_agents_may_start(
    people: Platform, browser_as: Browser, web: TestClient
) -> None:
    client, csrf = browser_as("admin.a")
    page = client.get(f"/c/{SIREN_A}/admin/procedures").text
    assert "Arrêté du maire (circuit simple)" in page and "Toujours la dernière déployée" in page
    empty = client.post(f"/c/{SIREN_A}/admin/procedures/arrete", data={"csrf_token": csrf})
    assert empty.status_code == 422
    assert "Choisissez si la procédure est activée ou non." in empty.text
    assert (
        client.post(
            f"/c/{SIREN_A}/admin/procedures/inconnue", data={"csrf_token": csrf, "etat": "activee"}
        ).status_code
        == 404
    )
    done = client.post(
        f"/c/{SIREN_A}/admin/procedures/arrete",
        data={"csrf_token": csrf, "etat": "desactivee", "version": ""},
    )
    assert done.status_code == 303
    agent, agent_csrf = browser_as("agent.a")
    catalogue = agent.get(f"/c/{SIREN_A}/procedures").text
    assert "Arrêté du maire" not in catalogue and "Délibération" in catalogue
    refused = agent.post(
        f"/c/{SIREN_A}/procedures/arrete/demarrer", data={"csrf_token": agent_csrf}
    )
    assert refused.status_code == 409
    assert "n&#39;est pas activée pour votre collectivité" in refused.text
    auth = ("agent.a", PASSWORD)
    listed = web.get(f"/api/tenants/{SIREN_A}/procedures", auth=auth).json()
    assert "arrete" not in {p["procedure"] for p in listed} and listed
    problem = web.post(
        f"/api/tenants/{SIREN_A}/cases", json={"procedure": "arrete", "data": {}}, auth=auth
    )
    assert problem.status_code == 409
    assert problem.headers["content-type"] == "application/problem+json"
    assert "n'est pas activée pour votre collectivité" in problem.json()["detail"]
    other = web.get(f"/api/tenants/{SIREN_B}/procedures", auth=("agent.b", PASSWORD)).json()
    assert "arrete" in {p["procedure"] for p in other}


def test_settings_show_french_errors_beside_fields_and_reach_the_public_register(
    people: Platform, browser_as: Browser, web: TestClient
) -> None:
    client, csrf = browser_as("admin.a")
    url = f"/c/{SIREN_A}/admin/parametres"
    bad = client.post(
        url,
        data={
            "csrf_token": csrf,
            "publication_titre": "Nos actes",
            "publication_contact": "pas-une-adresse",
            "service_nom": "Accueil",
        },
    )
    assert bad.status_code == 422
    assert (
        '<p class="field-error" id="publication_contact-erreur">Erreur : Adresse électronique '
        "invalide" in bad.text
    )
    assert 'id="service_adresse-erreur">Erreur : Indiquez l&#39;adresse postale' in bad.text
    assert 'value="Nos actes"' in bad.text  # what was typed is kept
    register = web.get(f"/registre/{SIREN_A}").text
    assert "Nos actes" not in register and "Registre des actes publiés" in register
    good = client.post(
        url,
        data={
            "csrf_token": csrf,
            "publication_titre": "Actes de Montpellier-le-Test",
            "publication_introduction": "Les actes sont en ligne le jour de leur publication.",
            "publication_contact": "actes@mairie-test.fr",
        },
    )
    assert good.status_code == 303
    assert 'value="actes@mairie-test.fr"' in client.get(url).text
    register = web.get(f"/registre/{SIREN_A}").text
    assert "<h1>Actes de Montpellier-le-Test" in register
    assert "Les actes sont en ligne le jour de leur publication." in register
    assert 'href="mailto:actes@mairie-test.fr"' in register
    assert "Actes de Montpellier-le-Test" not in web.get(f"/registre/{SIREN_B}").text


def test_the_admin_names_the_archives_service_and_its_convention(
    people: Platform, browser_as: Browser
) -> None:
    """SEDA ArchivalAgency and ArchivalAgreement of the tenant's packages, set in the browser."""
    client, csrf = browser_as("admin.a")
    url = f"/c/{SIREN_A}/admin/parametres"
    page = client.get(url).text
    assert "<legend>Service d'archives compétent</legend>" in page
    bad = client.post(
        url,
        data={
            "csrf_token": csrf,
            "archives_nom": "Archives départementales de l'Hérault",
            "archives_convention": "CV 2026 012",
        },
    )
    assert bad.status_code == 422
    assert 'id="archives_identifiant-erreur">Erreur : Indiquez l&#39;identifiant' in bad.text
    assert 'id="archives_convention-erreur">Erreur : Identifiant sans espace' in bad.text
    good = client.post(
        url,
        data={
            "csrf_token": csrf,
            "archives_nom": "Archives départementales de l'Hérault",
            "archives_identifiant": "FR-AD034",
            "archives_convention": "CV-2026-012",
        },
    )
    assert good.status_code == 303
    with people.uow() as uow:
        service = tenant_settings.read_settings(uow, SIREN_A).archives
        other = tenant_settings.read_settings(uow, SIREN_B).archives
    assert service == tenant_settings.ArchiveService(
        "Archives départementales de l'Hérault", "FR-AD034", "CV-2026-012"
    )
    assert other is None
    assert 'value="FR-AD034"' in client.get(url).text
    # Emptied: back to the platform's archive service (the packages say so).
    client.post(url, data={"csrf_token": csrf})
    with people.uow() as uow:
        assert tenant_settings.read_settings(uow, SIREN_A).archives is None


def test_retention_overrides_from_the_settings_page(people: Platform, browser_as: Browser) -> None:
    client, csrf = browser_as("admin.a")
    page = client.get(f"/c/{SIREN_A}/admin/parametres").text
    assert 'name="annees_arrete" id="annees_arrete" value="10"' in page
    form = dict(re.findall(r'name="(annees_\w+)" id="\w+" value="(\d+)"', page))
    form |= {name.replace("annees_", "sort_"): "Keep" for name in form}
    assert len(form) == 8
    bad = client.post(
        f"/c/{SIREN_A}/admin/conservation",
        data={"csrf_token": csrf, **form, "annees_arrete": "mille"},
    )
    assert bad.status_code == 422
    assert 'id="annees_arrete-erreur">Erreur : Nombre entier d&#39;années' in bad.text
    done = client.post(
        f"/c/{SIREN_A}/admin/conservation",
        data={"csrf_token": csrf, **form, "annees_arrete": "25"},
    )
    assert done.status_code == 303
    page = client.get(f"/c/{SIREN_A}/admin/parametres").text
    assert 'name="annees_arrete" id="annees_arrete" value="25"' in page
    assert "(règle propre)" in page
