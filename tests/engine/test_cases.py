"""Case lifecycle through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from engine.bootstrap import Platform
from engine.domain.errors import Conflict, Forbidden, FormValidationError, NotFound
from engine.domain.model import Actor, CaseStatus, JobState
from engine.jobs.timers import fire_due_timers
from engine.services import cases as case_services
from engine.services.messages import MessageOrigin
from tests.engine.support import (
    AGENT,
    ELU,
    SIREN_A,
    SIREN_B,
    complete,
    get,
    make_tenants,
    ready,
    run_pending_jobs,
    start,
)

SYSTEM_ACTES = Actor.system("actes")
DRAFT = {"objet": "Arrêté de voirie", "nature": "3", "texte": "Le maire arrête la fermeture."}


@pytest.fixture
def p(platform: Platform) -> Platform:
    make_tenants(platform)
    return platform


def test_start_lists_the_first_task_in_its_lane(p: Platform) -> None:
    case = start(p, "arrete")
    assert case.status == CaseStatus.RUNNING
    assert case.reference.endswith("000001")
    with p.uow() as uow:
        tasks = uow.cases.human_tasks(SIREN_A, lanes=["agent"])
        assert [(t.name, t.lane) for t in tasks] == [("rediger", "agent")]
        assert tasks[0].form is not None and tasks[0].form["required"] == [
            "objet",
            "nature",
            "texte",
        ]
        assert uow.cases.human_tasks(SIREN_A, lanes=["elu"]) == []
        kinds = [e.kind for e in uow.journal.for_case(SIREN_A, case.id)]
    assert kinds == ["case.started"]


def test_invalid_form_lists_every_field_and_changes_nothing(p: Platform) -> None:
    case = start(p, "arrete")
    with pytest.raises(FormValidationError) as caught:
        complete(p, case, "rediger", {"objet": "X", "nature": "9", "inconnu": 1})
    fields = {e.path: e.message for e in caught.value.errors}
    assert fields["objet"].startswith("au moins 3")
    assert "valeur non autorisée" in fields["nature"]
    assert fields["texte"] == "ce champ est obligatoire"
    assert fields["inconnu"] == "champ inconnu"
    after = get(p, case)
    assert after.version == case.version and "rediger" in ready(p, case)


def test_task_of_another_lane_is_refused(p: Platform) -> None:
    case = start(p, "arrete")
    with pytest.raises(Forbidden):
        complete(p, case, "rediger", DRAFT, actor=ELU)


def test_full_path_numbering_job_and_prefecture_message(p: Platform) -> None:
    case = start(p, "arrete")
    complete(p, case, "rediger", DRAFT)
    complete(p, case, "signer", {"decision": "signer"}, actor=ELU)
    outcomes = run_pending_jobs(p, case)
    assert [o.state for o in outcomes] == [JobState.DONE]
    waiting = get(p, case)
    number = waiting.data["numero_acte"]
    assert number == f"{p.clock().year}_ARR0001"
    assert waiting.current_steps == ("Accusé de réception de la préfecture",)
    with pytest.raises(NotFound), p.uow() as uow:
        case_services.deliver_message(
            uow,
            tenant=SIREN_A,
            message="accuse_reception_prefecture",
            correlation="AUTRE",
            payload={},
            origin=MessageOrigin.connector(SYSTEM_ACTES),
            now=p.clock(),
        )
    with p.uow() as uow:
        done = case_services.deliver_message(
            uow,
            tenant=SIREN_A,
            message="accuse_reception_prefecture",
            correlation=number,
            payload={"identifiant": f"034-{SIREN_A}-20260302-{number}-AI"},
            origin=MessageOrigin.connector(SYSTEM_ACTES),
            now=p.clock(),
        )
        uow.commit()
    assert done.status == CaseStatus.COMPLETED
    assert done.data["statut"] == "exécutoire"
    with p.uow() as uow:
        kinds = [e.kind for e in uow.journal.for_case(SIREN_A, case.id)]
        assert uow.cases.human_tasks(SIREN_A, case_id=case.id) == []
    assert kinds == [
        "case.started",
        "task.completed",
        "task.completed",
        "job.succeeded",
        "message.received",
    ]


def test_running_a_job_twice_has_one_effect(p: Platform) -> None:
    case = start(p, "service_test")
    complete(p, case, "saisir", {"mode": "compter", "attente": 0})
    with p.uow() as uow:
        job = uow.jobs.for_case(SIREN_A, case.id)[0]
    first = run_pending_jobs(p, case)
    from engine.operations.runner import run_job

    again = run_job(job.id, uow_factory=p.uow, operations=p.operations, clock=p.clock)
    assert first[0].state == JobState.DONE and again.detail == "déjà traité"
    with p.uow() as uow:
        assert uow.tenants.next_counter(SIREN_A, "test-effects") == 2  # one effect, then this call
    assert get(p, case).status == CaseStatus.COMPLETED


def test_failure_goes_to_the_error_boundary(p: Platform) -> None:
    case = start(p, "service_test")
    complete(p, case, "saisir", {"mode": "echec"})
    assert [o.state for o in run_pending_jobs(p, case)] == [JobState.FAILED]
    after = get(p, case)
    assert after.status == CaseStatus.COMPLETED and after.data["issue"] == "refus traité"


def test_failure_without_boundary_puts_case_in_error_and_operator_retries(p: Platform) -> None:
    case = start(p, "service_test")
    complete(p, case, "saisir", {"mode": "panne"})
    run_pending_jobs(p, case)
    failed = get(p, case)
    assert failed.status == CaseStatus.ERROR
    assert failed.error == "Le service distant a refusé la demande."
    with p.uow() as uow:
        retried = case_services.retry_case(
            uow, tenant=SIREN_A, case_id=case.id, actor=AGENT, now=p.clock()
        )
        uow.commit()
    assert retried.status == CaseStatus.RUNNING
    with p.uow() as uow:
        keys = sorted(
            j.idempotency_key.rsplit(":", 1)[1] for j in uow.jobs.for_case(SIREN_A, case.id)
        )
    assert keys == ["1", "2"]


def test_jobs_are_dispatched_only_after_commit(p: Platform) -> None:
    sent: list[object] = []
    p.dispatch = sent.extend
    case = start(p, "service_test")
    task_id = ready(p, case)["saisir"]
    with p.uow() as uow:
        case_services.complete_task(
            uow,
            tenant=SIREN_A,
            case_id=case.id,
            task_id=task_id,
            data={"mode": "compter", "attente": 0},
            actor=AGENT,
            now=p.clock(),
        )
        assert sent == []
    with p.uow() as uow:
        assert uow.jobs.for_case(SIREN_A, case.id) == []  # rolled back: no job row either
    complete(p, case, "saisir", {"mode": "compter", "attente": 0})
    assert len(sent) == 1


def test_timer_fires_from_the_periodic_job(p: Platform) -> None:
    case = start(p, "arrete")
    complete(p, case, "rediger", DRAFT)
    assert fire_due_timers(p.uow, now=p.clock() + timedelta(days=29)) == 0
    assert fire_due_timers(p.uow, now=p.clock() + timedelta(days=30, minutes=1)) == 1
    assert set(ready(p, case)) == {"signer", "relancer_elu"}
    with p.uow() as uow:
        assert [e.kind for e in uow.journal.for_case(SIREN_A, case.id)][-1] == "timer.fired"


def test_cancel_needs_a_reason_and_closes_the_case(p: Platform) -> None:
    case = start(p, "arrete")
    with p.uow() as uow, pytest.raises(Exception, match="motif"):
        case_services.cancel_case(
            uow, tenant=SIREN_A, case_id=case.id, reason=" ", actor=AGENT, now=p.clock()
        )
    with p.uow() as uow:
        cancelled = case_services.cancel_case(
            uow, tenant=SIREN_A, case_id=case.id, reason="Doublon", actor=AGENT, now=p.clock()
        )
        uow.commit()
    assert cancelled.status == CaseStatus.CANCELLED and ready(p, case) == {}


def test_other_tenant_case_does_not_exist(p: Platform) -> None:
    case = start(p, "arrete")
    task_id = ready(p, case)["rediger"]
    with p.uow() as uow:
        with pytest.raises(NotFound):
            uow.cases.get(SIREN_B, case.id)
        with pytest.raises(NotFound):
            case_services.complete_task(
                uow,
                tenant=SIREN_B,
                case_id=case.id,
                task_id=task_id,
                data=DRAFT,
                actor=AGENT,
                now=p.clock(),
            )
        with pytest.raises(NotFound):
            case_services.cancel_case(
                uow, tenant=SIREN_B, case_id=case.id, reason="x", actor=AGENT, now=p.clock()
            )
        assert uow.cases.search(SIREN_B)[1] == 0
        assert uow.cases.human_tasks(SIREN_B) == []
        assert uow.journal.for_case(SIREN_B, case.id) == []


def test_concurrent_completions_one_wins_one_conflicts(p: Platform) -> None:
    case = start(p, "arrete")
    task_id = ready(p, case)["rediger"]
    results: dict[str, object] = {}
    first = p.uow().__enter__()
    case_services.complete_task(
        first,
        tenant=SIREN_A,
        case_id=case.id,
        task_id=task_id,
        data=DRAFT,
        actor=AGENT,
        now=p.clock(),
        expected_version=case.version,
    )

    def second() -> None:
        try:
            with p.uow() as uow:
                case_services.complete_task(
                    uow,
                    tenant=SIREN_A,
                    case_id=case.id,
                    task_id=task_id,
                    data=DRAFT,
                    actor=AGENT,
                    now=p.clock(),
                    expected_version=case.version,
                )
                uow.commit()
                results["second"] = "committed"
        except Conflict as exc:
            results["second"] = exc

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(timeout=1.0)  # it must be waiting on the first transaction's lock
    first.commit()
    first.__exit__(None, None, None)
    thread.join(timeout=30)
    assert isinstance(results.get("second"), Conflict)
    after = get(p, case)
    assert after.version == case.version + 1
    with p.uow() as uow:
        assert [e.kind for e in uow.journal.for_case(SIREN_A, case.id)].count("task.completed") == 1
