"""Contract tests: one scenario over the in-memory unit of work and over the SQL one (SQLite),
with the same outcome, so the fake cannot drift from the repositories it stands in for."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from engine.bootstrap import Platform
from engine.domain.errors import Forbidden
from engine.domain.model import Case
from engine.ports import UnitOfWorkFactory
from engine.services import admin, delegations, task_access
from engine.services import cases as case_services
from tests.engine.support import OPERATOR, SIREN_A, make_tenants
from tests.fakes.memory_uow import MemoryDatabase
from tests.fakes.memory_uow import start_case as start_in_memory
from tests.unit.support import (
    DOCUMENT,
    NOW,
    PEOPLE,
    PROCEDURES,
    SIGNATURE,
    TENANT,
    complete,
    delegate,
    person,
    tasks_of,
)

StartCase = Callable[[dict[str, Any]], Case]
ETAPES = [{"type": "visa", "signataires": ["dgs", "maire"], "regle": "tous"}, *SIGNATURE]


def _may_act(uow_factory: UnitOfWorkFactory, case: Case) -> dict[str, Any]:
    """Who may open each ready task, and what every person's task list shows."""
    seen: dict[str, Any] = {}
    with uow_factory() as uow:
        for task in uow.cases.human_tasks(TENANT, case_id=case.id):
            for login in PEOPLE:
                try:
                    opened = task_access.open_task(
                        uow,
                        tenant=TENANT,
                        case_id=case.id,
                        task_id=task.id,
                        actor=person(login),
                        now=NOW,
                    )
                    seen[f"{task.name}/{task.assignee}/{login}"] = opened.acting_for
                except Forbidden as exc:
                    seen[f"{task.name}/{task.assignee}/{login}"] = str(exc)
        for login in PEOPLE:
            listed = task_access.list_tasks(uow, tenant=TENANT, actor=person(login), now=NOW)
            seen[f"list/{login}"] = [
                (r.task.name, r.task.assignee, r.acting_for, r.kind, r.state, r.case.reference)
                for r in listed.tasks
            ]
    return seen


def _scenario(uow_factory: UnitOfWorkFactory, start: StartCase) -> dict[str, Any]:
    delegate(uow_factory)  # maire -> adjoint, in force
    delegate(uow_factory, delegator="dgs", deputy="adjointe", start_in=timedelta(days=2))
    case = start({"objet": "Arrêté de voirie", "circuit": {"etapes": ETAPES, "document": DOCUMENT}})
    outcome: dict[str, Any] = {"before": _may_act(uow_factory, case)}
    visas = {t.assignee: t for t in tasks_of(uow_factory, case)}
    complete(uow_factory, case, visas["dgs"], person("dgs"), {"decision": "viser"})
    complete(uow_factory, case, visas["maire"], person("adjoint"), {"decision": "viser"})
    outcome["signing"] = _may_act(uow_factory, case)
    (signature,) = tasks_of(uow_factory, case)
    done = complete(uow_factory, case, signature, person("adjoint"), {"decision": "signer"})
    with uow_factory() as uow:
        outcome["case"] = (done.status, done.version, done.reference, done.title)
        outcome["journal"] = [
            (e.seq, e.kind, e.actor, e.payload.get("task"), e.payload.get("mention"))
            for e in uow.journal.for_case(TENANT, case.id)
        ]
        outcome["jobs"] = [
            (j.operation, j.params.get("signataire"), j.params.get("pour"), j.state, j.attempts)
            for j in uow.jobs.for_case(TENANT, case.id)
        ]
        outcome["delegations"] = [
            (d.delegator, d.deputy, d.starts, d.ends)
            for login in ("maire", "adjoint", "dgs", "adjointe")
            for d in delegations.delegations_of(uow, tenant=TENANT, login=login, now=NOW)
        ]
    return outcome


def _in_memory() -> dict[str, Any]:
    db = MemoryDatabase()
    db.add_tenant(TENANT)
    for login, (name, roles) in PEOPLE.items():
        db.add_user(login, name, tenant=TENANT, roles=roles)
    spec = db.deploy(PROCEDURES / "circuit_test")

    def start(data: dict[str, Any]) -> Case:
        with db.uow() as uow:
            case = start_in_memory(
                uow, tenant=TENANT, spec_hash=spec, data=data, created_by="user:dgs", now=NOW
            )
            uow.commit()
        return case

    return _scenario(db.uow, start)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_memory_unit_of_work_answers_as_the_sql_one(platform: Platform) -> None:
    assert SIREN_A == TENANT
    make_tenants(platform)
    with platform.uow() as uow:
        for login, (name, roles) in PEOPLE.items():
            admin.create_user(
                uow,
                username=login,
                display_name=name,
                password=None,
                tenant=TENANT,
                roles=roles,
                actor=OPERATOR,
                now=NOW,
            )
        uow.commit()

    def start(data: dict[str, Any]) -> Case:
        with platform.uow() as uow:
            case = case_services.start_case(
                uow,
                tenant=TENANT,
                procedure="circuit_test",
                data=data,
                actor=person("dgs"),
                now=NOW,
            )
            uow.commit()
        return case

    sql = _scenario(platform.uow, start)
    memory = _in_memory()
    assert memory["before"] == sql["before"]
    assert memory["signing"] == sql["signing"]
    assert memory["jobs"] == sql["jobs"] and memory["delegations"] == sql["delegations"]
    assert memory["case"] == sql["case"]
    # The SQL journal also holds the tenant's and the people's creation: same entries, but
    # further down the tenant's chain.
    assert [e[1:] for e in memory["journal"]] == [e[1:] for e in sql["journal"]]
