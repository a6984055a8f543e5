"""The in-memory unit of work keeps the SQL one's promises: commit publishes, leaving without a
commit discards, jobs are handed over only after the commit."""

from __future__ import annotations

import uuid

import pytest

from engine.domain.errors import NotFound
from engine.services.cases import complete_task
from tests.fakes.memory_uow import MemoryDatabase, start_case
from tests.unit.support import (
    DOCUMENT,
    NOW,
    SIGNATURE,
    TENANT,
    complete,
    delegate,
    person,
    tasks_of,
)


def test_leaving_without_commit_discards_everything(db: MemoryDatabase) -> None:
    with db.uow() as uow:
        uow.journal.append(
            tenant=TENANT, kind="essai", case_id=None, actor="tests", payload={}, now=NOW
        )
    with db.uow() as uow:
        assert uow.journal.for_case(TENANT, uuid.UUID(int=0)) == []
        assert db.state.journal[TENANT] == []


def test_an_error_inside_rolls_back(db: MemoryDatabase) -> None:
    with pytest.raises(RuntimeError), db.uow() as uow:
        uow.journal.append(
            tenant=TENANT, kind="essai", case_id=None, actor="tests", payload={}, now=NOW
        )
        raise RuntimeError
    assert db.state.journal[TENANT] == []


def test_commit_publishes_and_the_unit_goes_on(db: MemoryDatabase) -> None:
    delegation = delegate(db.uow)
    with db.uow() as uow:
        assert uow.delegations.get(TENANT, delegation.id) == delegation
        with pytest.raises(NotFound, match="Délégation introuvable"):
            uow.delegations.get("216900001", delegation.id)
    kinds = [e.kind for e in db.state.journal[TENANT]]
    assert kinds == ["delegation.created"]


def test_jobs_are_dispatched_after_commit_only(db: MemoryDatabase, circuit_spec: str) -> None:
    handed: list[list[tuple[uuid.UUID, str]]] = []
    db.dispatch = lambda jobs: handed.append(list(jobs))
    data = {"circuit": {"etapes": SIGNATURE, "document": DOCUMENT}}
    with db.uow() as uow:
        case = start_case(
            uow, tenant=TENANT, spec_hash=circuit_spec, data=data, created_by="t", now=NOW
        )
        uow.commit()
    (task,) = tasks_of(db.uow, case)
    with db.uow() as uow:  # the mayor signs, then the request fails: nothing leaves
        complete_task(
            uow,
            tenant=TENANT,
            case_id=case.id,
            task_id=task.id,
            data={"decision": "signer"},
            actor=person("maire"),
            now=NOW,
        )
        assert [op for _id, op in uow.jobs_to_dispatch] == ["signatures.sign"]
    assert handed == [] and db.dispatched == [] and db.state.jobs == {}
    complete(db.uow, case, task, person("maire"), {"decision": "signer"})
    ((job_id, operation),) = db.dispatched
    assert handed == [[(job_id, operation)]] and operation == "signatures.sign"
    assert db.state.jobs[job_id].params["signataire"] == "user:maire"


def test_journal_links_chain(db: MemoryDatabase) -> None:
    with db.uow() as uow:
        first = uow.journal.append(
            tenant=TENANT, kind="a", case_id=None, actor="tests", payload={}, now=NOW
        )
        second = uow.journal.append(
            tenant=TENANT, kind="b", case_id=None, actor="tests", payload={"x": 1}, now=NOW
        )
        with pytest.raises(NotFound, match="Collectivité inconnue"):
            uow.journal.append(
                tenant="000000000", kind="c", case_id=None, actor="t", payload={}, now=NOW
            )
    assert (first.seq, second.seq, second.prev_hash) == (1, 2, first.hash)
    assert first.prev_hash == "0" * 64 and len(first.hash) == 64
