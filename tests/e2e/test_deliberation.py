"""A council deliberation end to end on the production stack: draft, visa circuit, council
session (its own case) with convocation and vote, the mayor's B-LTA signature, @ctes and its
acknowledgement, publication grouped by session, legality control, sealed archive package.

A session is convened at least five clear days ahead and an act is transmitted only after the
vote: the steps before the session run on a clock set back three weeks. For that period the
test stops the worker and runs the service tasks itself, through the same `run_job` the worker
calls, with the production operations; from the mayor's signature on, the worker runs every
service task on the real clock.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine.domain.model import Actor, Case, CaseStatus
from engine.operations.base import OperationRetry
from engine.operations.runner import JobNotReady, run_job
from engine.rendering import RenderRequest, render_pdf
from engine.runtime.clock import frozen_now, utcnow
from engine.services import cases as case_services
from engine.services.documents import add_case_document
from engine.services.publication import list_register
from signatures import ValidationOptions, validate_pdf_for_archive
from tests.e2e.conftest import TENANT_NAME, Stack, actor
from tests.fixtures.processes import worker

pytestmark = pytest.mark.integration

PARIS = ZoneInfo("Europe/Paris")
COUNCILLOR = "conseillere.dumas@saint-exemple.fr"
SUBJECT = "Tarifs de la restauration scolaire à compter du 1er janvier"


def _visa_actor(login: str) -> Actor:
    return Actor(f"user:{login}", frozenset({"agent"}), login)


def _run_jobs(stack: Stack, cases: list[Case]) -> None:
    """What the worker would do, at the frozen time: every open job until none is left."""
    for _ in range(30):
        with stack.platform.uow() as uow:
            pending = [
                job.id
                for case in cases
                for job in uow.jobs.for_case(stack.tenant, case.id)
                if job.state.value in ("pending", "sent")
            ]
        if not pending:
            return
        for job_id in pending:
            try:
                run_job(
                    job_id,
                    uow_factory=stack.platform.uow,
                    operations=stack.platform.operations,
                    clock=utcnow,  # the frozen time (the platform's clock is the real one)
                )
            except (OperationRetry, JobNotReady):
                continue
    raise AssertionError("jobs still open after 30 rounds")


def _complete_as(stack: Stack, case: Case, task: str, data: dict[str, Any], who: Actor) -> None:
    with stack.platform.uow() as uow:
        (found,) = [
            t
            for t in uow.cases.human_tasks(stack.tenant, case_id=case.id)
            if t.name == task and t.assignee in (None, who.user_id.removeprefix("user:"))
        ]
        case_services.complete_task(
            uow,
            tenant=stack.tenant,
            case_id=case.id,
            task_id=found.id,
            data=data,
            actor=who,
            now=utcnow(),
        )
        uow.commit()


def _draft(stack: Stack) -> Case:
    case = stack.start("deliberation")
    fields = {
        "objet": SUBJECT,
        "rapporteur": "Mme Claire Dumas, adjointe aux affaires scolaires",
        "service_porteur": "Service enfance et éducation",
        "texte": "Le conseil municipal fixe le prix du repas servi dans les écoles à 3,45 euros.",
    }
    pdf = render_pdf(
        RenderRequest(
            template="projet_deliberation",
            context=fields,
            issuer=TENANT_NAME,
            issued_at=utcnow(),
        )
    )
    with stack.platform.uow() as uow:
        stored = add_case_document(
            uow,
            tenant=stack.tenant,
            case_id=case.id,
            name=pdf.file_name,
            content=pdf.pdf,
            actor=actor("agent"),
            now=utcnow(),
            max_bytes=10_000_000,
        )
        uow.commit()
    projet = {"id": str(stored.id), "nom": stored.name, "sha256": stored.sha256}
    _complete_as(
        stack,
        case,
        "rediger_projet",
        {
            **fields,
            "matiere": "7.1",
            "projet": projet,
            "annexes": [],
            "visa_finances_requis": False,
            "chef_service": "chef_service",
            "dgs": "dgs",
            "signataire": "maire",
        },
        actor("agent"),
    )
    return case


def _before_the_session(stack: Stack, session_at: datetime) -> tuple[Case, Case]:
    """Draft and visas three weeks before, convocation twelve days before, then the vote."""
    with frozen_now(session_at - timedelta(days=20)):
        deliberation = _draft(stack)
        for login in ("chef_service", "dgs"):
            _complete_as(stack, deliberation, "viser", {"decision": "viser"}, _visa_actor(login))
        _run_jobs(stack, [deliberation])
        number = stack.data(deliberation)["numero_projet"]
    with frozen_now(session_at - timedelta(days=12)):
        session = stack.start("seance-conseil")
        _complete_as(
            stack,
            session,
            "convoquer_seance",
            {
                "seance": session_at.isoformat(),
                "lieu": "Salle du conseil, hôtel de ville",
                "projets": [number],
                "conseillers": [COUNCILLOR],
            },
            actor("agent"),
        )
        _run_jobs(stack, [session, deliberation])
    convened = stack.case(session)
    assert stack.data(deliberation)["statut"] == "inscrite à l'ordre du jour", (
        convened.status,
        convened.error,
        stack.data(session).get("motif_refus"),
    )
    (convocation,) = stack.mails_to(COUNCILLOR)
    assert SUBJECT in convocation.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    at_session = session_at + timedelta(minutes=10)
    assert stack.fire_timers(at_session) == 1
    with frozen_now(at_session):
        _complete_as(
            stack,
            session,
            "constater_presences",
            {
                "membres_en_exercice": 27,
                "presents": 21,
                "pouvoirs": 3,
                "president_seance": "Mme Marie Dupont, maire",
                "secretaire_seance": "M. Paul Archiviste",
            },
            actor("agent"),
        )
        vote = {"presents_au_vote": 21, "pouvoirs_au_vote": 3, "pour": 20, "contre": 3}
        vote |= {"abstentions": 1, "ne_prend_pas_part": 0}
        _complete_as(stack, session, "enregistrer_vote", vote, actor("agent"))
        _run_jobs(stack, [deliberation, session])
    return deliberation, session


def _after_the_session(stack: Stack, deliberation: Case, session_at: datetime) -> None:
    """The mayor's signature, @ctes, publication, legality control and archive, on the worker."""
    numero = stack.data(deliberation)["numero_acte"]
    stack.complete(deliberation, "signer", {"decision": "signer"}, login="maire")
    stack.wait(lambda: "transmission" in stack.data(deliberation), "@ctes", deliberation)
    stack.wait(lambda: stack.poll_prefecture().delivered == 1, "the acknowledgement")
    stack.wait(lambda: "publication" in stack.data(deliberation), "publication", deliberation)
    stack.settle(deliberation)
    data = stack.data(deliberation)

    # The signed act passes the archive's validation: AdES-LTA, offline, with the PKI's root.
    signed = stack.document_bytes(data["acte_signe"]["document"])
    report = validate_pdf_for_archive(signed, ValidationOptions(trust_roots=stack.pki.trust_roots))
    assert report.valid, report.summary
    assert len(report.signatures) == 1 and report.document_timestamps
    assert data["acte_signe"]["validation"]["valide"] is True
    assert str(data["identifiant_ar"]).endswith(f"-{numero}-DE")
    assert data["executoire_le"] == data["publication"]["publie_le"]

    with stack.platform.uow() as uow:
        register = list_register(
            uow, stack.settings.publication, stack.tenant, now=stack.platform.clock()
        )
    # The act and the session's list are grouped on the register by the session.
    by_kind = {entry.publication.kind: entry.publication for entry in register}
    assert set(by_kind) == {"acte", "liste_deliberations"}
    assert by_kind["acte"].session == session_at.isoformat()
    assert by_kind["liste_deliberations"].session == session_at.isoformat()

    # Legality control over, minimum publication period over (each parallel branch keeps its
    # own deadline, both about two months away): the case is archived.
    assert stack.fire_timers(stack.platform.clock() + timedelta(days=100)) == 2
    final = stack.data(stack.wait_completed(deliberation))
    assert final["statut"] == "exécutoire" and final["controle_legalite"] == "purgé"
    stack.assert_archive_verifies(str(final["archivage"]["paquet"]))
    stack.assert_journal_verifies()


def test_deliberation_from_draft_to_verified_archive(stack: Stack) -> None:
    stack.worker.stop()
    today = stack.platform.clock()
    session_at = datetime.combine(
        (today - timedelta(days=3)).astimezone(PARIS).date(), time(18, 30), tzinfo=PARIS
    )
    deliberation, session = _before_the_session(stack, session_at)

    assert stack.case(session).status is CaseStatus.COMPLETED
    assert stack.data(session)["deliberations_seance"]["deliberations"] == [
        {
            "numero": stack.data(deliberation)["numero_acte"],
            "reference": deliberation.reference,
            "objet": SUBJECT,
            "resultat": "adoptée",
        }
    ]

    # From here on a worker runs the service tasks, on the real clock. The fixture stops the
    # worker it started (stopped above); this one is stopped here.
    stack.worker = worker(stack.settings, stack.tmp / "worker-apres-seance.log")
    try:
        _after_the_session(stack, deliberation, session_at)
    finally:
        stack.worker.stop()
