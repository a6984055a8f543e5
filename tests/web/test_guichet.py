"""The counter (guichet): an agent registers a paper or in-person request for the citizen.

The deadlines run from the date of receipt typed in, not from the day of typing; a future date,
a date too far back and a request with no way to reach the citizen are refused in French; only
the tenant's agents reach the page; the sealed acknowledgement is the agent's to print.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from engine.bootstrap import Platform
from engine.domain.calendar_fr import local_date
from engine.domain.deadlines import implicit_decision
from engine.domain.model import Case
from engine.operations.runner import run_job
from tests.engine.support import SIREN_A, SIREN_B
from tests.fixtures.smtp import SmtpServer
from tests.signatures.pdfs import make_pdf
from tests.web.support import login
from web.app import create_app
from web.history import history

PAGE = f"/c/{SIREN_A}/guichet"
RECEIPT = re.compile(rf"/c/{SIREN_A}/guichet/([0-9a-f-]{{36}})$")
Browser = Callable[[str], tuple[TestClient, str]]


def _values(**changes: Any) -> dict[str, str]:
    values = {
        "canal": "courrier",
        "date_reception": "",
        "type_demande": "decision_individuelle",
        "objet": "Permission de voirie pour un échafaudage",
        "description": "Échafaudage au 8 rue Foch du 2 au 20 mars, trottoir côté pair.",
        "demandeur-nom": "Moreau",
        "demandeur-prenom": "Lucie",
        "demandeur-adresse": "12 rue des Tilleuls, 34000 Montpellier",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def _today(platform: Platform) -> date:
    return local_date(platform.clock())


def _post(client: TestClient, csrf: str, values: dict[str, str], files: Any = None) -> Any:
    return client.post(PAGE, data={**values, "csrf_token": csrf}, files=files or [])


def _cases(platform: Platform) -> list[Case]:
    with platform.uow() as uow:
        found, _ = uow.cases.search(SIREN_A, procedure="demande-usager", limit=10, offset=0)
        return [uow.cases.get(SIREN_A, c.id) for c in found]


def _count(platform: Platform, table: str) -> int:
    with platform.uow() as uow:
        return int(uow.connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _run_jobs(platform: Platform, case: Case, *, rounds: int = 20) -> list[str]:
    outcomes = []
    for _ in range(rounds):
        with platform.uow() as uow:
            pending = [j for j in uow.jobs.for_case(SIREN_A, case.id) if j.state.value == "pending"]
        if not pending:
            break
        for job in pending:
            outcome = run_job(
                job.id,
                uow_factory=platform.uow,
                operations=platform.operations,
                clock=platform.clock,
            )
            outcomes.append(f"{job.operation}:{outcome.state.value}")
    return outcomes


def test_the_deadline_runs_from_the_date_of_receipt(browser_as: Browser, people: Platform) -> None:
    agent, csrf = browser_as("agent.a")
    page = agent.get(PAGE)
    assert page.status_code == 200
    today = _today(people)
    assert f'value="{today.isoformat()}"' in page.text  # today by default
    assert f'max="{today.isoformat()}"' in page.text
    received = today - timedelta(days=10)
    files = [("pieces", ("courrier.pdf", make_pdf(text="courrier"), "application/pdf"))]
    response = _post(agent, csrf, _values(date_reception=received.isoformat()), files)
    assert response.status_code == 303, response.text
    assert RECEIPT.search(response.headers["location"])
    (case,) = _cases(people)
    assert case.created_by == "user:agent.a"
    recu_le = datetime.fromisoformat(case.data["recu_le"])
    assert local_date(recu_le) == received
    assert case.data["canal"] == "courrier"
    assert case.data["enregistre_par"]["pour"] == "Lucie Moreau"
    assert "courriel" not in case.data["demandeur"]
    assert [p["nom"] for p in case.data["pieces"]] == ["courrier.pdf"]
    assert _run_jobs(people, case, rounds=1) == ["engine.compute_deadline:done"]
    (case,) = _cases(people)
    expected = implicit_decision(recu_le, acceptance=True, months=2)
    typed_today = implicit_decision(people.clock(), acceptance=True, months=2)
    assert expected is not None and typed_today is not None
    assert case.data["echeance_implicite"]["local_date"] == expected.local_date.isoformat()
    assert expected.local_date != typed_today.local_date
    # The receipt page says when it was received and when silence becomes a decision.
    receipt = agent.get(response.headers["location"]).text
    assert case.data["reference"] in receipt and "reçue par courrier" in receipt
    assert expected.local_date.strftime("%Y") in receipt
    assert "en cours de préparation" in receipt
    status = agent.get(receipt.split("<code")[1].split(">")[1].split("<")[0]).text
    assert "il vous sera aussi envoyé par courrier" in status  # no e-mail address given
    catalogue = agent.get(f"/c/{SIREN_A}/procedures").text
    assert f'href="/c/{SIREN_A}/guichet"' in catalogue
    # The journal says who registered it, for whom; the history reads it in French.
    with people.uow() as uow:
        entries = uow.journal.for_case(SIREN_A, case.id)
    registered = [e for e in entries if e.kind == "citizen.request.registered"]
    assert len(registered) == 1 and registered[0].actor == "user:agent.a"
    assert "pour le compte de Lucie Moreau" in registered[0].payload["message"]
    assert "reçue par courrier" in registered[0].payload["message"]
    lines = history(entries, {"agent.a": "Agent.a"})
    assert any(
        line.what == "Demande enregistrée au guichet pour le compte de l'usager" for line in lines
    )


def test_a_future_or_too_old_date_is_refused_in_french(
    browser_as: Browser, people: Platform
) -> None:
    agent, csrf = browser_as("agent.a")
    today = _today(people)
    future = _post(agent, csrf, _values(date_reception=(today + timedelta(days=1)).isoformat()))
    assert future.status_code == 422
    assert "la date de réception ne peut pas être dans le futur" in future.text
    assert "rien n&#39;a été enregistré" in future.text or "rien n'a été enregistré" in future.text
    old = _post(agent, csrf, _values(date_reception=(today - timedelta(days=16)).isoformat()))
    assert old.status_code == 422 and "ne peut pas remonter au-delà de 15 jours" in old.text
    garbled = _post(agent, csrf, _values(date_reception="32/13/2026"))
    assert garbled.status_code == 422 and "date invalide" in garbled.text
    assert 'value="Moreau"' in garbled.text  # what was typed comes back
    assert _cases(people) == []


def test_a_request_without_any_contact_is_refused(browser_as: Browser, people: Platform) -> None:
    agent, csrf = browser_as("agent.a")
    today = _today(people).isoformat()
    response = _post(agent, csrf, _values(date_reception=today, **{"demandeur-adresse": None}))
    assert response.status_code == 422
    assert "sans adresse électronique, l&#39;adresse postale est obligatoire" in response.text
    assert 'id="champ-demandeur-adresse-erreur"' in response.text
    assert _cases(people) == [] and _count(people, "documents") == 0
    # An e-mail address alone is enough; the channel must be one of the two.
    by_mail = _values(
        date_reception=today,
        canal="guichet",
        **{"demandeur-adresse": None, "demandeur-courriel": "lucie.moreau@exemple.fr"},
    )
    assert _post(agent, csrf, by_mail).status_code == 303
    unknown = _post(agent, csrf, _values(date_reception=today, canal="pigeon"))
    assert (
        unknown.status_code == 422 and "choisissez comment la demande a été reçue" in unknown.text
    )


def test_only_the_tenants_agents_use_the_counter(
    browser_as: Browser, people: Platform, web: TestClient
) -> None:
    anonymous = web.get(PAGE)
    assert anonymous.status_code == 303 and "/connexion" in anonymous.headers["location"]
    # The tenant's other roles are refused; another tenant's agent does not even see it exists.
    for username, status in (("elu.a", 403), ("admin.a", 403), ("agent.b", 404)):
        client, csrf = browser_as(username)
        assert client.get(PAGE).status_code == status, username
        refused = _post(client, csrf, _values(date_reception=_today(people).isoformat()))
        assert refused.status_code == status, username
    agent_b, _ = browser_as("agent.b")
    assert agent_b.get(f"/c/{SIREN_B}/guichet").status_code == 200
    assert _cases(people) == []
    # Another tenant's agent cannot read a receipt nor its acknowledgement.
    agent, csrf = browser_as("agent.a")
    location = _post(agent, csrf, _values(date_reception=_today(people).isoformat()))
    url = location.headers["location"]
    assert agent.get(url).status_code == 200
    assert agent.get(f"{url}/accuse").status_code == 404  # not sealed yet
    other = url.replace(SIREN_A, SIREN_B)
    assert agent_b.get(other).status_code == 404
    assert agent_b.get(url).status_code == 404
    assert agent_b.get(f"{url}/accuse").status_code == 404


# -- with the real seal: the acknowledgement to print --------------------------------------------


@pytest.mark.integration
def test_the_agent_prints_the_sealed_acknowledgement_and_no_mail_leaves(
    live_platform: Platform, smtp_server: SmtpServer
) -> None:
    with TestClient(create_app(platform=live_platform), follow_redirects=False) as agent:
        csrf = login(agent, "agent.a")
        response = _post(agent, csrf, _values(date_reception=_today(live_platform).isoformat()))
        url = response.headers["location"]
        (case,) = _cases(live_platform)
        outcomes = _run_jobs(live_platform, case)
        assert outcomes[:3] == [
            "engine.compute_deadline:done",
            "documents.render:done",
            "signatures.seal:done",
        ]
        assert "connectors.send_mail:done" not in outcomes  # no e-mail address given
        assert smtp_server.received == []
        page = agent.get(url).text
        assert f'href="{url}/accuse"' in page and "imprimez-le" in page
        download = agent.get(f"{url}/accuse")
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/pdf"
        assert download.content.startswith(b"%PDF") and b"/ByteRange" in download.content
        (case,) = _cases(live_platform)
        assert "verifier_completude" in {t.name for t in _tasks(live_platform, case)}


def _tasks(platform: Platform, case: Case) -> list[Any]:
    with platform.uow() as uow:
        return list(uow.cases.human_tasks(SIREN_A, case_id=case.id))
