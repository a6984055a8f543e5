"""Personal assignment and delegation through the engine, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.bootstrap import Platform
from engine.domain.errors import Forbidden, InvalidInput
from engine.domain.model import Actor, Case, CaseStatus
from engine.services import delegations
from engine.services.cases import complete_task
from tests.engine.circuits.support import add_people, circuit_case, person, task_for, tasks_of
from tests.engine.support import OPERATOR, SIREN_A, get, make_tenants

SIGNATURE = [{"type": "signature", "signataires": ["maire"], "regle": "un", "qualite": "Le Maire"}]


@pytest.fixture
def p(platform: Platform) -> Platform:
    make_tenants(platform)
    add_people(platform)
    return platform


def _complete(p: Platform, case: Case, login: str, actor: Actor, data: dict[str, str]) -> Case:
    task = task_for(p, case, login)
    with p.uow() as uow:
        updated = complete_task(
            uow,
            tenant=SIREN_A,
            case_id=case.id,
            task_id=task.id,
            data=data,
            actor=actor,
            now=p.clock(),
        )
        uow.commit()
    return updated


def _delegate(p: Platform, *, days: int = 7, start_in: int = -1) -> None:
    now = p.clock()
    with p.uow() as uow:
        delegations.create_delegation(
            uow,
            tenant=SIREN_A,
            delegator="maire",
            deputy="adjoint",
            starts=now + timedelta(days=start_in),
            ends=now + timedelta(days=start_in + days),
            reason="Congés d'été",
            actor=person("maire"),
            now=now,
        )
        uow.commit()


def test_each_instance_is_assigned_and_listed_only_to_its_person(p: Platform) -> None:
    etapes = [{"type": "visa", "signataires": ["dgs", "maire"], "regle": "tous"}]
    case = circuit_case(p, etapes)
    assert sorted(t.assignee or "" for t in tasks_of(p, case)) == ["dgs", "maire"]
    with p.uow() as uow:
        # A lane inbox never shows somebody else's task; the person's own inbox does.
        assert uow.cases.human_tasks(SIREN_A, lanes=["agent", "elu"]) == []
        mine = uow.cases.human_tasks(SIREN_A, lanes=["elu"], assigned_to=["maire"])
        assert [t.assignee for t in mine] == ["maire"]
        assert [t.assignee for t in uow.cases.human_tasks(SIREN_A, assigned_to=["dgs"])] == ["dgs"]


def test_nobody_but_the_assignee_completes_a_task_not_even_an_elu_or_the_platform(
    p: Platform,
) -> None:
    case = circuit_case(p, SIGNATURE)
    for intruder in (person("adjoint"), person("secretaire"), OPERATOR):
        with pytest.raises(Forbidden, match="réservée à Marie Dupont"):
            _complete(p, case, "maire", intruder, {"decision": "signer"})
    done = _complete(p, case, "maire", person("maire"), {"decision": "signer"})
    assert done.status == CaseStatus.RUNNING  # waits for the signature job
    with p.uow() as uow:
        entry = [e for e in uow.journal.for_case(SIREN_A, case.id) if e.kind == "task.completed"]
    assert entry[0].actor == "user:maire" and "pour" not in entry[0].payload


def test_the_deputy_acts_during_the_period_and_it_is_recorded(p: Platform) -> None:
    _delegate(p)
    case = circuit_case(p, SIGNATURE)
    with p.uow() as uow:
        inbox = uow.cases.human_tasks(
            SIREN_A,
            lanes=["elu"],
            assigned_to=[
                "adjoint",
                *delegations.delegators_of(uow, tenant=SIREN_A, deputy="adjoint", at=p.clock()),
            ],
        )
    assert [t.assignee for t in inbox] == ["maire"]
    _complete(p, case, "maire", person("adjoint"), {"decision": "signer"})
    with p.uow() as uow:
        entries = uow.journal.for_case(SIREN_A, case.id)
        jobs = uow.jobs.for_case(SIREN_A, case.id)
    completed = next(e for e in entries if e.kind == "task.completed")
    assert completed.actor == "user:adjoint"
    assert completed.payload["pour"] == "user:maire"
    assert completed.payload["mention"] == "par délégation de Marie Dupont"
    (job,) = jobs
    assert job.params["signataire"] == "user:adjoint" and job.params["pour"] == "user:maire"


def test_no_delegation_outside_its_period_or_once_revoked(p: Platform) -> None:
    _delegate(p, start_in=2)  # starts in two days
    case = circuit_case(p, SIGNATURE)
    with pytest.raises(Forbidden):
        _complete(p, case, "maire", person("adjoint"), {"decision": "signer"})
    _delegate(p)
    with p.uow() as uow:
        (current,) = uow.delegations.active(SIREN_A, p.clock(), deputy="adjoint")
        delegations.revoke_delegation(
            uow, tenant=SIREN_A, delegation_id=current.id, actor=person("maire"), now=p.clock()
        )
        uow.commit()
        kinds = [e.kind for e in uow.journal.iter_entries(SIREN_A)]
    assert kinds.count("delegation.created") == 2 and "delegation.revoked" in kinds
    with pytest.raises(Forbidden):
        _complete(p, case, "maire", person("adjoint"), {"decision": "signer"})


def test_an_administrator_cannot_make_themself_a_deputy(p: Platform) -> None:
    now = p.clock()
    with p.uow() as uow:
        with pytest.raises(Forbidden):
            delegations.create_delegation(
                uow,
                tenant=SIREN_A,
                delegator="maire",
                deputy="secretaire",
                starts=now,
                ends=now + timedelta(days=3),
                reason="",
                actor=person("secretaire"),
                now=now,
            )
        with pytest.raises(Forbidden):
            delegations.create_delegation(
                uow,
                tenant=SIREN_A,
                delegator="maire",
                deputy="adjointe",
                starts=now,
                ends=now + timedelta(days=3),
                reason="",
                actor=person("adjoint"),
                now=now,
            )
        with pytest.raises(InvalidInput):
            delegations.create_delegation(
                uow,
                tenant=SIREN_A,
                delegator="maire",
                deputy="inconnu",
                starts=now,
                ends=now + timedelta(days=3),
                reason="",
                actor=person("maire"),
                now=now,
            )
        # An administrator records the mayor's signed delegation order for someone else.
        delegations.create_delegation(
            uow,
            tenant=SIREN_A,
            delegator="maire",
            deputy="adjointe",
            starts=now,
            ends=now + timedelta(days=3),
            reason="Arrêté de délégation n° 2026-12",
            actor=person("secretaire"),
            now=now,
        )


def test_a_rejection_needs_a_comment_and_sends_the_document_back(p: Platform) -> None:
    case = circuit_case(p, [{"type": "visa", "signataires": ["dgs"], "regle": "un"}, *SIGNATURE])
    with pytest.raises(InvalidInput):
        _complete(p, case, "dgs", person("dgs"), {"decision": "rejeter"})
    _complete(
        p, case, "dgs", person("dgs"), {"decision": "rejeter", "commentaire": "Annexe manquante."}
    )
    back = get(p, case)
    assert back.data["circuit_resultat"] == "rejete"
    assert back.data["circuit_commentaire"] == "Annexe manquante."
    assert [(t.name, t.lane, t.assignee) for t in tasks_of(p, case)] == [
        ("reprendre_document", "agent", None)
    ]
