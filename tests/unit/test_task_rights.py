"""Who may act on a task, through the services, over the in-memory unit of work: the assignee,
their deputy under a delegation in force, the holders of the lane's role for an unassigned
task; everybody else is refused with the same French message on every path."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from engine.domain.errors import Forbidden, NotFound
from engine.domain.model import Case
from engine.services import task_access
from engine.services.delegations import ActingFor, check_task_actor
from tests.fakes.memory_uow import MemoryDatabase, start_case
from tests.unit.support import (
    DOCUMENT,
    NOW,
    PLATFORM,
    SIGNATURE,
    TENANT,
    delegate,
    person,
    tasks_of,
)

RESERVED = "Cette tâche est réservée à Marie Dupont (ou à son délégataire)."


def _check(db: MemoryDatabase, lane: str | None, assignee: str | None, who: str) -> object:
    actor = PLATFORM if who == "platform" else person(who)
    with db.uow() as uow:
        try:
            return check_task_actor(
                uow, tenant=TENANT, lane=lane, assignee=assignee, actor=actor, now=NOW
            )
        except Forbidden as exc:
            return str(exc)


def test_an_assigned_task_is_its_assignees_or_their_deputys(db: MemoryDatabase) -> None:
    delegate(db.uow, deputy="archiviste")  # a deputy holding none of the lane's roles
    assert _check(db, "elu", "maire", "maire") is None
    assert _check(db, "elu", "maire", "archiviste") == ActingFor("maire", "Marie Dupont")
    for refused in ("adjoint", "secretaire", "dgs", "platform"):
        assert _check(db, "elu", "maire", refused) == RESERVED


def test_a_deputy_outside_the_period_or_of_someone_else_is_refused(db: MemoryDatabase) -> None:
    delegate(db.uow, deputy="adjoint", start_in=timedelta(days=1))
    delegate(db.uow, delegator="dgs", deputy="adjointe")
    assert _check(db, "elu", "maire", "adjoint") == RESERVED
    assert _check(db, "elu", "maire", "adjointe") == RESERVED


def test_an_unassigned_task_is_its_lanes(db: MemoryDatabase) -> None:
    delegate(db.uow, delegator="dgs", deputy="archiviste")
    assert _check(db, "agent", None, "dgs") is None
    assert _check(db, "agent", None, "secretaire") is None
    assert _check(db, "agent", None, "platform") is None
    refusal = "Cette tâche revient au rôle « Agent »."
    assert _check(db, "agent", None, "maire") == refusal
    assert _check(db, "agent", None, "archiviste") == refusal  # no role by proxy
    assert _check(db, None, None, "archiviste") is None


def _visa_case(db: MemoryDatabase, spec: str) -> Case:
    etapes = [{"type": "visa", "signataires": ["dgs", "maire"], "regle": "tous"}, *SIGNATURE]
    with db.uow() as uow:
        case = start_case(
            uow,
            tenant=TENANT,
            spec_hash=spec,
            data={"objet": "Arrêté de voirie", "circuit": {"etapes": etapes, "document": DOCUMENT}},
            created_by="user:dgs",
            now=NOW,
        )
        uow.commit()
    return case


def test_opening_a_task_and_the_task_lists(db: MemoryDatabase, circuit_spec: str) -> None:
    delegate(db.uow)
    case = _visa_case(db, circuit_spec)
    tasks = {t.assignee: t for t in tasks_of(db.uow, case)}
    assert sorted(tasks) == ["dgs", "maire"]
    mayors = tasks["maire"]
    with db.uow() as uow:
        opened = task_access.open_task(
            uow, tenant=TENANT, case_id=case.id, task_id=mayors.id, actor=person("adjoint"), now=NOW
        )
        assert opened.acting_for == ActingFor("maire", "Marie Dupont")
        with pytest.raises(Forbidden, match="réservée à Marie Dupont"):
            task_access.open_task(
                uow,
                tenant=TENANT,
                case_id=case.id,
                task_id=mayors.id,
                actor=person("adjointe"),
                now=NOW,
            )
        with pytest.raises(NotFound, match="n'existe pas ou a déjà été traitée"):
            task_access.open_task(
                uow,
                tenant=TENANT,
                case_id=uuid.uuid4(),
                task_id=mayors.id,
                actor=person("maire"),
                now=NOW,
            )
        both = list(tasks.values())
        for who, expected in (
            ("adjoint", {mayors.id}),
            ("adjointe", set()),
            ("dgs", {tasks["dgs"].id}),
        ):
            assert (
                task_access.actionable(uow, tenant=TENANT, actor=person(who), tasks=both, now=NOW)
                == expected
            )
        deputy_list = task_access.list_tasks(uow, tenant=TENANT, actor=person("adjoint"), now=NOW)
        other_list = task_access.list_tasks(uow, tenant=TENANT, actor=person("adjointe"), now=NOW)
    (row,) = deputy_list.tasks
    assert (row.task.id, row.acting_for, row.acting_for_name) == (
        mayors.id,
        "maire",
        "Marie Dupont",
    )
    assert (row.kind, row.case.title, row.state) == ("Visa", "Arrêté de voirie", "sans_echeance")
    assert deputy_list.acting == {"maire": "Marie Dupont"}
    assert other_list.tasks == [] and other_list.total == 0
