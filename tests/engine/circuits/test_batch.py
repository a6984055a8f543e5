"""Batch signing: each selected task in its own transaction; one failure blocks no other."""

from __future__ import annotations

import uuid

import pytest

from engine.bootstrap import Platform
from engine.domain.errors import InvalidInput
from engine.jobs.runner import TransactionRunner
from engine.services.batch import MAX_BATCH, sign_batch
from tests.engine.circuits.support import add_people, circuit_case, person, task_for, tasks_of
from tests.engine.support import SIREN_A, make_tenants

SIGN = {"decision": "signer"}


def _signature_for(login: str) -> list[dict[str, object]]:
    return [{"type": "signature", "signataires": [login], "regle": "un"}]


@pytest.fixture
def p(platform: Platform) -> Platform:
    make_tenants(platform)
    add_people(platform)
    return platform


def test_each_document_is_signed_separately_and_failures_are_reported(p: Platform) -> None:
    first, second = (circuit_case(p, _signature_for("maire")) for _ in range(2))
    other = circuit_case(p, _signature_for("adjoint"))
    refused = circuit_case(p, _signature_for("maire"))
    ids = [
        task_for(p, first, "maire").id,
        task_for(p, other, "adjoint").id,  # assigned to someone else
        uuid.uuid4(),  # unknown
        task_for(p, refused, "maire").id,  # then refused by the form (bad decision)
        task_for(p, second, "maire").id,
    ]
    outcomes = sign_batch(
        TransactionRunner(p.uow),
        tenant=SIREN_A,
        actor=person("maire"),
        task_ids=ids[:3],
        data=SIGN,
        now=p.clock(),
    )
    bad_data = sign_batch(
        TransactionRunner(p.uow),
        tenant=SIREN_A,
        actor=person("maire"),
        task_ids=ids[3:],
        data={"decision": "approuver"},
        now=p.clock(),
    )
    tail = sign_batch(
        TransactionRunner(p.uow),
        tenant=SIREN_A,
        actor=person("maire"),
        task_ids=ids[4:],
        data=SIGN,
        now=p.clock(),
    )
    assert [o.done for o in outcomes] == [True, False, False]
    assert "réservée à Jean Martin" in outcomes[1].message and outcomes[1].reference
    assert outcomes[2].case_id is None and "introuvable" in outcomes[2].message
    assert [o.done for o in bad_data] == [False, False] and [o.done for o in tail] == [True]
    assert tasks_of(p, first) == [] and tasks_of(p, second) == []
    assert [t.assignee for t in tasks_of(p, other)] == ["adjoint"]
    assert [t.assignee for t in tasks_of(p, refused)] == ["maire"]
    with p.uow() as uow:
        for case in (first, second):
            (job,) = uow.jobs.for_case(SIREN_A, case.id)
            assert job.operation == "signatures.sign" and job.params["signataire"] == "user:maire"
        done = [e for e in uow.journal.iter_entries(SIREN_A) if e.kind == "task.completed"]
    assert sorted(str(e.case_id) for e in done) == sorted([str(first.id), str(second.id)])


def test_a_task_already_done_is_reported_not_done_twice(p: Platform) -> None:
    case = circuit_case(p, _signature_for("maire"))
    task_id = task_for(p, case, "maire").id
    outcomes = sign_batch(
        TransactionRunner(p.uow),
        tenant=SIREN_A,
        actor=person("maire"),
        task_ids=[task_id, task_id],
        data=SIGN,
        now=p.clock(),
    )
    again = sign_batch(
        TransactionRunner(p.uow),
        tenant=SIREN_A,
        actor=person("maire"),
        task_ids=[task_id],
        data=SIGN,
        now=p.clock(),
    )
    assert [o.done for o in outcomes] == [True] and [o.done for o in again] == [False]
    with pytest.raises(InvalidInput):
        sign_batch(
            TransactionRunner(p.uow),
            tenant=SIREN_A,
            actor=person("maire"),
            task_ids=[uuid.uuid4() for _ in range(MAX_BATCH + 1)],
            data=SIGN,
            now=p.clock(),
        )
