"""Clerk and élu screens end to end through HTML forms, with the engine underneath."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from tests.engine.support import SIREN_A
from tests.web.support import PASSWORD, login

Login = Callable[[str], tuple[TestClient, str]]
INVITATION = "tuile-velo-orage-marche"
DRAFT = {"objet": "Arrêté de voirie", "nature": "3", "texte": "Le maire arrête la fermeture."}


def _start_case(client: TestClient, token: str) -> str:
    """Start an arrêté from the catalogue; returns the URL of its first task."""
    catalogue = client.get(f"/c/{SIREN_A}/procedures")
    assert "Arrêté du maire (circuit simple)" in catalogue.text
    started = client.post(f"/c/{SIREN_A}/procedures/arrete/demarrer", data={"csrf_token": token})
    assert started.status_code == 303
    return str(started.headers["location"])


def test_clerk_starts_a_case_and_completes_the_draft(browser_as: Login, people: Platform) -> None:
    client, token = browser_as("agent.a")
    task_url = _start_case(client, token)
    assert re.fullmatch(rf"/c/{SIREN_A}/dossiers/[0-9a-f-]{{36}}/taches/[0-9a-f-]{{36}}", task_url)
    form = client.get(task_url)
    assert form.status_code == 200
    assert 'for="champ-objet"' in form.text and "Objet de l&#39;arrêté" in form.text
    assert 'type="radio" name="nature"' in form.text and "Acte individuel" in form.text
    assert "<textarea" in form.text  # texte allows 100,000 characters

    bad = client.post(task_url, data={"csrf_token": token, "objet": "X", "version": "1"})
    assert bad.status_code == 422
    assert 'id="champ-objet-erreur"' in bad.text and "au moins 3 caractère(s)" in bad.text
    assert 'id="champ-nature-erreur"' in bad.text and "ce champ est obligatoire" in bad.text
    assert 'aria-invalid="true"' in bad.text and 'value="X"' in bad.text

    case_url = task_url.split("/taches/")[0]
    version = re.search(r'name="version" value="(\d+)"', form.text)
    assert version
    done = client.post(task_url, data={"csrf_token": token, **DRAFT, "version": version.group(1)})
    assert done.status_code == 303 and done.headers["location"] == case_url
    page = client.get(case_url)
    assert "Dossier créé" in page.text and "Étape terminée" in page.text
    assert "« Rédiger le projet d&#39;arrêté » : enregistré." in page.text
    again = client.post(task_url, data={"csrf_token": token, **DRAFT})
    assert again.status_code == 404  # the task is no longer open

    listing = client.get(f"/c/{SIREN_A}/dossiers?statut=running")
    assert case_url in listing.text and "1 dossier(s)" in listing.text
    assert "0 dossier(s)" in client.get(f"/c/{SIREN_A}/dossiers?statut=completed").text


def _draft_cases(client: TestClient, token: str, count: int) -> list[str]:
    urls = []
    for _ in range(count):
        task_url = _start_case(client, token)
        client.post(task_url, data={"csrf_token": token, **DRAFT})
        urls.append(task_url.split("/taches/")[0])
    return urls


def test_elu_signs_a_batch_after_confirming(browser_as: Login) -> None:
    clerk, clerk_token = browser_as("agent.a")
    cases = _draft_cases(clerk, clerk_token, 2)
    elu, token = browser_as("elu.a")
    page = elu.get(f"/c/{SIREN_A}/parapheur")
    boxes = re.findall(r'name="taches" value="([^"]+)"', page.text)
    assert len(boxes) == 2
    wrong = elu.post(
        f"/c/{SIREN_A}/parapheur/signer",
        data={"csrf_token": token, "taches": boxes, "confirmation": "pas le bon"},
    )
    assert wrong.status_code == 422 and "rien n&#39;a été signé" in wrong.text
    assert len(re.findall(r'name="taches"', elu.get(f"/c/{SIREN_A}/parapheur").text)) == 2
    signed = elu.post(
        f"/c/{SIREN_A}/parapheur/signer",
        data={"csrf_token": token, "taches": boxes, "confirmation": PASSWORD},
    )
    assert signed.status_code == 303
    after = elu.get(f"/c/{SIREN_A}/parapheur")
    assert "2 document(s) signé(s)." in after.text and "Rien n'attend" in after.text
    for case_url in cases:
        assert elu.get(case_url).text.count("Étape terminée") == 2


def test_elu_rejects_with_a_comment_on_the_task_page(browser_as: Login) -> None:
    clerk, clerk_token = browser_as("agent.a")
    (case_url,) = _draft_cases(clerk, clerk_token, 1)
    elu, token = browser_as("elu.a")
    task_link = re.search(rf'href="({case_url}/taches/[^"]+)"', elu.get(case_url).text)
    assert task_link
    url = task_link.group(1)
    page = elu.get(url)
    assert 'name="confirmation"' in page.text
    no_reason = elu.post(
        url, data={"csrf_token": token, "decision": "refuser", "confirmation": PASSWORD}
    )
    assert no_reason.status_code == 422 and 'id="champ-motif-erreur"' in no_reason.text
    unconfirmed = elu.post(url, data={"csrf_token": token, "decision": "refuser", "motif": "Non."})
    assert unconfirmed.status_code == 403
    rejected = elu.post(
        url,
        data={
            "csrf_token": token,
            "decision": "refuser",
            "motif": "Texte incomplet.",
            "confirmation": PASSWORD,
        },
    )
    assert rejected.status_code == 303
    assert "Terminé" in elu.get(case_url).text
    # The clerk may not open the élu's task.
    assert clerk.get(url).status_code in (403, 404)


def test_archivist_verifies_the_journal(browser_as: Login) -> None:
    clerk, clerk_token = browser_as("agent.a")
    _draft_cases(clerk, clerk_token, 1)
    archivist, token = browser_as("archiviste.a")
    page = archivist.get(f"/c/{SIREN_A}/archives")
    assert "Vérifier le journal maintenant" in page.text
    report = archivist.post(f"/c/{SIREN_A}/archives/journal/verifier", data={"csrf_token": token})
    # No archive store here: the chain is checked, the seals cannot be, and the page says so
    # (never « intègre » on the chain alone; tests/web/test_pages_archives.py has the store).
    assert report.status_code == 200 and "sceaux non vérifiés" in report.text
    assert "La chaîne seule est cohérente" in report.text


def test_tenant_admin_creates_a_user_who_can_log_in(browser_as: Login) -> None:
    admin, token = browser_as("admin.a")
    base = f"/c/{SIREN_A}/admin/utilisateurs"
    short = admin.post(
        base,
        data={
            "csrf_token": token,
            "identifiant": "nouvel.agent",
            "mot_de_passe": "court",
            "roles": "agent",
        },
    )
    assert short.status_code == 422 and "au moins 12 caractères" in short.text
    created = admin.post(
        base,
        data={
            "csrf_token": token,
            "identifiant": "nouvel.agent",
            "nom": "Nouvel Agent",
            "mot_de_passe": INVITATION,
            "roles": ["agent", "elu"],
        },
    )
    assert created.status_code == 303
    newcomer = TestClient(admin.app, follow_redirects=False)
    first = login(newcomer, "nouvel.agent", INVITATION)
    # The admin chose it: it only opens the page where the newcomer chooses their own.
    assert newcomer.get(f"/c/{SIREN_A}").headers["location"] == "/compte/mot-de-passe"
    mine = "grue-citron-falaise-hiver"
    changed = newcomer.post(
        "/compte/mot-de-passe",
        data={"csrf_token": first, "actuel": INVITATION, "nouveau": mine, "confirmation": mine},
    )
    assert changed.status_code == 303
    assert "Parapheur" in newcomer.get(f"/c/{SIREN_A}").text


def test_operator_creates_a_tenant_and_sees_health(browser_as: Login) -> None:
    operator, token = browser_as("exploitant")
    bad = operator.post(
        "/exploitation/collectivites", data={"csrf_token": token, "siren": "123", "nom": "X"}
    )
    assert bad.status_code == 422 and "SIREN invalide" in bad.text
    good = operator.post(
        "/exploitation/collectivites",
        data={"csrf_token": token, "siren": "356000000", "nom": "La Poste de test"},
    )
    assert good.status_code == 303
    assert "La Poste de test" in operator.get("/exploitation").text
    health = operator.get("/exploitation/sante")
    assert "Base de données" in health.text and "Arrêté du maire (circuit simple)" in health.text


def test_public_register_is_honest(web: TestClient) -> None:
    moved = web.get(f"/public/{SIREN_A}/actes", follow_redirects=False)
    assert moved.status_code == 301 and moved.headers["location"] == f"/registre/{SIREN_A}"
    page = web.get(f"/registre/{SIREN_A}")
    assert page.status_code == 200 and "Aucun acte n'est publié pour l'instant." in page.text
    assert web.get("/registre/000000000").status_code == 404


def test_case_of_another_tenant_is_not_found(browser_as: Login) -> None:
    clerk, token = browser_as("agent.a")
    task_url = _start_case(clerk, token)
    other, _ = browser_as("agent.b")
    assert other.get(task_url.split("/taches/")[0]).status_code == 404
    from tests.engine.support import SIREN_B

    moved = task_url.split("/taches/")[0].replace(SIREN_A, SIREN_B)
    response = other.get(moved)
    assert response.status_code == 404 and "Introuvable" in response.text
    assert other.get(f"/c/{SIREN_B}/dossiers/{uuid.uuid4()}").status_code == 404


def test_operator_sees_stuck_work_and_retries_a_case(browser_as: Login, people: Platform) -> None:
    from engine.domain.model import CaseStatus
    from tests.engine.support import complete, get, run_pending_jobs, start

    case = start(people, "service_test")
    complete(people, case, "saisir", {"mode": "panne"})
    run_pending_jobs(people, case)
    assert get(people, case).status == CaseStatus.ERROR
    operator, token = browser_as("exploitant")
    page = operator.get("/exploitation/sante").text
    assert case.reference in page and "Le service distant a refusé la demande." in page
    assert "test.always_fails" in page
    retried = operator.post(
        f"/exploitation/dossiers/{case.tenant}/{case.id}/relancer", data={"csrf_token": token}
    )
    assert retried.status_code == 303
    assert get(people, case).status == CaseStatus.RUNNING
    clerk, clerk_token = browser_as("agent.a")
    assert clerk.post(
        f"/exploitation/dossiers/{case.tenant}/{case.id}/relancer", data={"csrf_token": clerk_token}
    ).status_code in (403, 404)
