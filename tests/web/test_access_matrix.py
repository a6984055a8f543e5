"""Every route × every role × own or other tenant, against the expected access matrix.

The matrix below is the specification: a route added to the application without a line here
fails `test_the_matrix_covers_every_route`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from tests.engine.support import SIREN_A, SIREN_B, ready, start
from tests.web.support import PASSWORD, USERS
from web.app import create_app

MEMBERS = {"agent", "elu", "archiviste", "admin"}
READERS = {"agent", "elu", "archiviste"}


class Missing(frozenset[str]):
    """Roles that may use the route; the object asked for does not exist (404 for them)."""


PUBLIC = "public"
NOWHERE = "nowhere"
UNAVAILABLE = "unavailable"
"""Public routes asked for an object that does not exist (here: an unknown publication)."""
LOGGED_IN = "logged-in"
OPERATOR = "operator"
MEMBERS_AND_OPERATOR = "members and operator"
INTERNAL = "internal"
"""For the operator and internal networks only (the test client is on neither): 404 to others."""


Rule = set[str] | frozenset[str] | str
MATRIX: dict[tuple[str, str], Rule] = {
    # Public and authentication pages.
    ("GET", "/"): PUBLIC,
    ("GET", "/connexion"): PUBLIC,
    ("POST", "/connexion"): PUBLIC,
    ("POST", "/deconnexion"): PUBLIC,
    # The second step of a login with a second factor: without a pending login, back to the form.
    ("GET", "/connexion/code"): PUBLIC,
    ("POST", "/connexion/code"): PUBLIC,
    # OpenID Connect login (ProConnect): no provider configured here, so 404 for everyone;
    # tests/web/test_oidc.py runs them against the provider simulator.
    ("GET", "/connexion/proconnect"): NOWHERE,
    ("GET", "/connexion/proconnect/retour"): NOWHERE,
    ("GET", "/connexion/proconnect/deconnexion"): NOWHERE,
    ("GET", "/public/{tenant}/actes"): PUBLIC,
    ("GET", "/registre/{tenant}"): PUBLIC,
    # Citizens' requests (no account). Posted empty: the form comes back with its errors (422),
    # nothing is filed. The follow-up pages asked with an unknown token: 404 for everyone.
    ("GET", "/demarches/{tenant}"): PUBLIC,
    ("GET", "/demarches/{tenant}/deposer"): PUBLIC,
    ("POST", "/demarches/{tenant}/deposer"): PUBLIC,
    ("GET", "/demarches/{tenant}/suivi/{jeton}"): NOWHERE,
    ("POST", "/demarches/{tenant}/suivi/{jeton}/pieces"): NOWHERE,
    ("GET", "/demarches/{tenant}/suivi/{jeton}/accuse"): NOWHERE,
    ("GET", "/demarches/{tenant}/suivi/{jeton}/decision"): NOWHERE,
    # Platform-wide figures and the API description: operator and internal networks only
    # (tests/web/test_internal_routes.py covers the networks).
    ("GET", "/metrics"): INTERNAL,
    ("GET", "/openapi.json"): INTERNAL,
    ("GET", "/registre/{tenant}/donnees.json"): PUBLIC,
    ("GET", "/registre/{tenant}/donnees.csv"): PUBLIC,
    ("GET", "/registre/{tenant}/actes/{publication_id}"): NOWHERE,
    ("GET", "/registre/{tenant}/actes/{publication_id}/fichier"): NOWHERE,
    ("GET", "/favicon.ico"): PUBLIC,
    ("GET", "/health/live"): PUBLIC,
    # The test platform has no object store: readiness answers 503 to everyone, logged in or not.
    ("GET", "/health/ready"): UNAVAILABLE,
    ("GET", "/api/docs"): INTERNAL,
    ("GET", "/espaces"): LOGGED_IN,
    ("GET", "/compte/mot-de-passe"): LOGGED_IN,
    ("POST", "/compte/mot-de-passe"): LOGGED_IN,
    # Second factor: posted empty, the code is refused (422) or there is none to disable (409).
    ("GET", "/compte/double-authentification"): LOGGED_IN,
    ("POST", "/compte/double-authentification/activer"): LOGGED_IN,
    ("POST", "/compte/double-authentification/confirmer"): LOGGED_IN,
    ("POST", "/compte/double-authentification/desactiver"): LOGGED_IN,
    # Tenant pages.
    ("GET", "/c/{tenant}"): MEMBERS,
    ("GET", "/c/{tenant}/procedures"): {"agent"},
    ("POST", "/c/{tenant}/procedures/{procedure}/demarrer"): {"agent"},
    ("GET", "/c/{tenant}/taches"): MEMBERS,
    ("GET", "/c/{tenant}/dossiers"): READERS,
    ("GET", "/c/{tenant}/dossiers/{case_id}"): READERS,
    ("GET", "/c/{tenant}/dossiers/{case_id}/taches/{task_id}"): {"agent"},
    ("POST", "/c/{tenant}/dossiers/{case_id}/taches/{task_id}"): {"agent"},
    ("GET", "/c/{tenant}/parapheur"): {"elu"},
    # The counter: posted empty, refused (422); an unknown request is 404 for an agent.
    ("GET", "/c/{tenant}/guichet"): {"agent"},
    ("POST", "/c/{tenant}/guichet"): {"agent"},
    ("GET", "/c/{tenant}/guichet/{case_id}"): Missing({"agent"}),
    ("GET", "/c/{tenant}/guichet/{case_id}/accuse"): Missing({"agent"}),
    # Case documents (posted without a file: 422), previews and inline PDFs of an unknown
    # document (404), delegations (revoking an unknown one: 404).
    ("POST", "/c/{tenant}/dossiers/{case_id}/documents"): {"agent"},
    # A message form of the case page: the case (an arrêté) waits for no such message, 404 to
    # those who read cases (tests/web/test_case_messages.py covers the roles a procedure allows).
    ("GET", "/c/{tenant}/dossiers/{case_id}/messages/{message}"): Missing(READERS),
    ("POST", "/c/{tenant}/dossiers/{case_id}/messages/{message}"): Missing(READERS),
    ("GET", "/c/{tenant}/documents/{document_id}/apercu.png"): Missing(READERS),
    ("GET", "/c/{tenant}/documents/{document_id}/pdf"): Missing(READERS),
    ("GET", "/c/{tenant}/delegations"): MEMBERS,
    ("POST", "/c/{tenant}/delegations"): MEMBERS,
    ("POST", "/c/{tenant}/delegations/revocation"): Missing(MEMBERS),
    ("POST", "/c/{tenant}/parapheur/signer"): {"elu"},
    ("GET", "/c/{tenant}/archives"): {"archiviste"},
    ("POST", "/c/{tenant}/archives/journal/verifier"): {"archiviste"},
    # Documents: an empty JSON post is refused (422) before any upload; unknown document id.
    ("POST", "/api/tenants/{tenant}/documents"): {"agent"},
    ("GET", "/api/tenants/{tenant}/documents/{document_id}"): Missing(READERS),
    ("GET", "/api/tenants/{tenant}/cases/{case_id}/documents"): READERS,
    # Asked for a package and an audit that do not exist: the role is checked first.
    ("GET", "/c/{tenant}/archives/paquets/{package_id}"): Missing({"archiviste"}),
    ("GET", "/c/{tenant}/archives/paquets/{package_id}/dip"): Missing({"archiviste"}),
    ("POST", "/c/{tenant}/archives/paquets/{package_id}/verifier"): Missing({"archiviste"}),
    # Posted empty here: the form is refused (422) before the package is looked up.
    ("POST", "/c/{tenant}/archives/paquets/{package_id}/sort-final"): {"archiviste"},
    ("POST", "/c/{tenant}/archives/paquets/{package_id}/gel"): {"archiviste"},
    # Versement to the SAE and elimination by the SAE: the package is looked up first (404).
    ("POST", "/c/{tenant}/archives/paquets/{package_id}/versement"): Missing({"archiviste"}),
    ("POST", "/c/{tenant}/archives/paquets/{package_id}/elimination-sae"): Missing({"archiviste"}),
    ("GET", "/c/{tenant}/archives/paquets/{package_id}/bordereau-elimination"): Missing(
        {"archiviste"}
    ),
    ("GET", "/c/{tenant}/archives/audits/{run_id}"): Missing({"archiviste"}),
    ("GET", "/c/{tenant}/admin/utilisateurs"): {"admin"},
    ("POST", "/c/{tenant}/admin/utilisateurs"): {"admin"},
    # Tenant administration: asked for an account that is not a member (404 for an admin).
    ("GET", "/c/{tenant}/admin/utilisateurs/{user_id}"): Missing({"admin"}),
    ("POST", "/c/{tenant}/admin/utilisateurs/{user_id}/roles"): Missing({"admin"}),
    ("POST", "/c/{tenant}/admin/utilisateurs/{user_id}/activation"): Missing({"admin"}),
    ("POST", "/c/{tenant}/admin/utilisateurs/{user_id}/mot-de-passe"): Missing({"admin"}),
    ("POST", "/c/{tenant}/admin/utilisateurs/{user_id}/double-authentification"): Missing(
        {"admin"}
    ),
    # Posted empty: no role requires a second factor (as before).
    ("POST", "/c/{tenant}/admin/double-authentification"): {"admin"},
    ("GET", "/c/{tenant}/admin/procedures"): {"admin"},
    # Posted empty: refused (422) without changing the catalogue.
    ("POST", "/c/{tenant}/admin/procedures/{procedure}"): {"admin"},
    # A version's diagram: one the tenant's catalogue offers (the case's own version here).
    ("GET", "/c/{tenant}/admin/procedures/versions/{digest}"): {"admin"},
    ("GET", "/c/{tenant}/admin/parametres"): {"admin"},
    # The tenant's SAE (posted empty: the form comes back with its errors, 422).
    ("GET", "/c/{tenant}/admin/sae"): {"admin"},
    ("POST", "/c/{tenant}/admin/sae"): {"admin"},
    ("POST", "/c/{tenant}/admin/parametres"): {"admin"},
    # Posted empty: refused (422), the retention schedule is unchanged.
    ("POST", "/c/{tenant}/admin/conservation"): {"admin"},
    # The council: posted empty, refused (422); an unknown councillor is 404 for an admin.
    # The training space: a tenant not flagged « formation » has none (404 to its admins).
    ("GET", "/c/{tenant}/admin/formation"): Missing({"admin"}),
    ("POST", "/c/{tenant}/admin/formation/horloge"): Missing({"admin"}),
    ("GET", "/c/{tenant}/admin/conseil"): {"admin"},
    ("POST", "/c/{tenant}/admin/conseil"): {"admin"},
    ("POST", "/c/{tenant}/admin/conseil/{councillor_id}/retirer"): Missing({"admin"}),
    # RGPD: the register; the right of access posted empty is refused (422), nothing exported.
    ("GET", "/c/{tenant}/admin/rgpd"): {"admin"},
    ("POST", "/c/{tenant}/admin/rgpd/acces"): {"admin"},
    # Operator pages.
    ("GET", "/exploitation"): OPERATOR,
    ("POST", "/exploitation/collectivites"): OPERATOR,
    ("GET", "/exploitation/collectivites/{tenant}/formation"): OPERATOR,
    ("POST", "/exploitation/collectivites/{tenant}/formation"): OPERATOR,
    ("GET", "/exploitation/sante"): OPERATOR,
    ("POST", "/exploitation/dossiers/{tenant}/{case_id}/relancer"): OPERATOR,
    ("GET", "/exploitation/versions"): OPERATOR,
    ("POST", "/exploitation/versions/deployer"): OPERATOR,
    ("GET", "/exploitation/versions/migration"): OPERATOR,
    ("POST", "/exploitation/versions/migration"): OPERATOR,
    ("POST", "/exploitation/versions/dossiers/{tenant}/{case_id}/revenir"): OPERATOR,
    # Deployed versions and their diagrams; a case seen by the operator (any tenant's).
    ("GET", "/exploitation/procedures"): OPERATOR,
    ("GET", "/exploitation/procedures/{digest}"): OPERATOR,
    ("GET", "/exploitation/dossiers/{tenant}/{case_id}"): OPERATOR,
    # API.
    ("POST", "/api/auth/token"): LOGGED_IN,
    ("GET", "/api/me"): LOGGED_IN,
    ("GET", "/api/tenants"): OPERATOR,
    ("POST", "/api/tenants"): OPERATOR,
    ("GET", "/api/tenants/{tenant}/procedures"): MEMBERS,
    ("POST", "/api/tenants/{tenant}/journal/verify"): {"archiviste"},
    ("POST", "/api/tenants/{tenant}/cases"): {"agent"},
    ("GET", "/api/tenants/{tenant}/cases"): READERS,
    ("GET", "/api/tenants/{tenant}/cases/{case_id}"): READERS,
    ("GET", "/api/tenants/{tenant}/tasks"): MEMBERS,
    ("GET", "/api/tenants/{tenant}/cases/{case_id}/tasks/{task_id}"): {"agent"},
    ("POST", "/api/tenants/{tenant}/cases/{case_id}/tasks/{task_id}"): {"agent"},
    ("POST", "/api/tenants/{tenant}/cases/{case_id}/cancel"): {"agent"},
    ("POST", "/api/tenants/{tenant}/messages"): MEMBERS_AND_OPERATOR,
    ("POST", "/api/tenants/{tenant}/cases/{case_id}/signals/{signal}"): MEMBERS_AND_OPERATOR,
    ("GET", "/api/tenants/{tenant}/cases/{case_id}/timeline"): READERS,
}

VISITORS = ["anonyme", *USERS]


def _expected(rule: Rule, user: str) -> str:
    if rule == PUBLIC:
        return "ok"
    if rule == NOWHERE:
        return "absent"
    if rule == UNAVAILABLE:
        return "unavailable"
    if rule == INTERNAL:
        return "ok" if user == "exploitant" else "absent"
    if user == "anonyme":
        return "login"
    if rule == LOGGED_IN:
        return "ok"
    if rule == OPERATOR:
        return "ok" if user == "exploitant" else "denied"
    if rule == MEMBERS_AND_OPERATOR:  # messages: the procedure's declaration decides further
        return "ok" if user == "exploitant" or USERS[user][0] == SIREN_A else "absent"
    tenant, roles = USERS[user]
    if tenant != SIREN_A:
        return "absent"
    if isinstance(rule, Missing):
        return "absent" if set(roles) & rule else "denied"
    assert isinstance(rule, set)
    return "ok" if set(roles) & rule else "denied"


def _outcome(response: object, api: bool) -> str:
    status = response.status_code  # type: ignore[attr-defined]
    location = response.headers.get("location", "")  # type: ignore[attr-defined]
    if (status == 401 and api) or (status == 303 and location.startswith("/connexion?suivant=")):
        return "login"
    return {403: "denied", 404: "absent", 503: "unavailable"}.get(
        status, "ok" if status < 500 else f"erreur {status}"
    )


class Visitor:
    """A logged-in browser session (pages) and a bearer token (API) for one user."""

    def __init__(self, app: object, user: str) -> None:
        self.client = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
        self.client.__enter__()
        page = self.client.get("/connexion").text
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        self.headers: dict[str, str] = {}
        if user != "anonyme":
            self.client.post(
                "/connexion",
                data={"identifiant": user, "mot_de_passe": PASSWORD, "csrf_token": self.csrf},
            )
            page = self.client.get("/connexion").text
            self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            token = self.client.post("/api/auth/token", auth=(user, PASSWORD)).json()
            self.headers = {"Authorization": f"Bearer {token['access_token']}"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> object:
        if path.startswith("/api"):
            return self.client.request(method, path, headers=self.headers, json=body or {})
        data = {"csrf_token": self.csrf} if method == "POST" else None
        return self.client.request(method, path, data=data)

    def close(self) -> None:
        self.client.__exit__(None, None, None)


@pytest.fixture
def visitors(people: Platform) -> Iterator[dict[str, Visitor]]:
    app = create_app(platform=people)
    made = {user: Visitor(app, user) for user in VISITORS}
    yield made
    for visitor in made.values():
        visitor.close()


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def test_the_matrix_covers_every_route(people: Platform) -> None:
    app = create_app(platform=people)
    app.state.feature_routes.include()  # done by the first request that is not a probe
    routes = {(method, route.path) for route in _api_routes(app.routes) for method in route.methods}
    assert routes == set(MATRIX)


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Routes of the app, included routers unfolded (FastAPI includes them lazily)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _api_routes(included.routes)


def test_every_route_role_and_tenant(people: Platform, visitors: dict[str, Visitor]) -> None:
    case = start(people, "arrete")
    values = {
        "tenant": SIREN_A,
        "case_id": str(case.id),
        "task_id": str(ready(people, case)["rediger"]),
        "procedure": "arrete",
        "publication_id": "00000000-0000-4000-8000-000000000000",
        "package_id": "paquet-inexistant",
        "document_id": "00000000-0000-4000-8000-000000000002",
        "run_id": "00000000-0000-4000-8000-000000000001",
        "user_id": "00000000-0000-4000-8000-000000000003",
        "signal": "annulation",
        "message": "offre_deposee",
        "councillor_id": "00000000-0000-4000-8000-000000000004",
        "jeton": "0" * 64,
        "digest": case.spec_hash,
    }
    wrong: list[str] = []
    # Logging out last: it ends the sessions the other routes need.
    for (method, template), rule in sorted(MATRIX.items(), key=lambda i: i[0][1] == "/deconnexion"):
        path = _fill(template, values)
        for user in VISITORS:
            got = _outcome(visitors[user].call(method, path), path.startswith("/api"))
            want = _expected(rule, user)
            if got != want:
                wrong.append(f"{method} {path} as {user}: {got}, expected {want}")
    assert not wrong, "\n".join(wrong)


def test_another_tenants_objects_answer_404(people: Platform, visitors: dict[str, Visitor]) -> None:
    """agent.b, in its own tenant's URLs, asks for tenant A's case and task: they do not exist."""
    case = start(people, "arrete")
    values = {
        "tenant": SIREN_B,
        "case_id": str(case.id),
        "task_id": str(ready(people, case)["rediger"]),
        "procedure": "arrete",
        "publication_id": "00000000-0000-4000-8000-000000000000",
        "package_id": "paquet-inexistant",
        "document_id": "00000000-0000-4000-8000-000000000002",
        "run_id": "00000000-0000-4000-8000-000000000001",
        "user_id": "00000000-0000-4000-8000-000000000003",
        "signal": "annulation",
        "message": "offre_deposee",
        "digest": case.spec_hash,
    }
    wrong = []
    for method, template in MATRIX:
        if "{case_id}" not in template or MATRIX[(method, template)] == OPERATOR:
            continue  # operator routes are refused to tenant users whatever the object
        path = _fill(template, values)
        body = {"reason": "essai", "data": {}}  # valid bodies: the answer is about the case
        response = visitors["agent.b"].call(method, path, body)
        if response.status_code != 404:  # type: ignore[attr-defined]
            wrong.append(f"{method} {path}: {response.status_code}")  # type: ignore[attr-defined]
    assert not wrong, "\n".join(wrong)
