"""Signature circuits through engine.services.cases.complete_task, over the in-memory unit of
work: each step is its signatory's, a deputy signs « pour » the person, a rejection needs a
comment and sends the document back to its author's service."""

from __future__ import annotations

from typing import Any

import pytest

from engine.domain.errors import Conflict, Forbidden, InvalidInput
from engine.domain.model import Case, CaseStatus
from engine.services.cases import complete_task
from tests.fakes.memory_uow import MemoryDatabase, start_case
from tests.unit.support import (
    DOCUMENT,
    NOW,
    PLATFORM,
    SIGNATURE,
    TENANT,
    complete,
    delegate,
    person,
    tasks_of,
)


def _circuit(db: MemoryDatabase, spec: str, etapes: list[dict[str, Any]]) -> Case:
    with db.uow() as uow:
        case = start_case(
            uow,
            tenant=TENANT,
            spec_hash=spec,
            data={"circuit": {"etapes": etapes, "document": DOCUMENT}},
            created_by="user:dgs",
            now=NOW,
        )
        uow.commit()
    return case


def test_nobody_but_the_signatory_signs(db: MemoryDatabase, circuit_spec: str) -> None:
    case = _circuit(db, circuit_spec, SIGNATURE)
    (task,) = tasks_of(db.uow, case)
    for intruder in (person("adjoint"), person("secretaire"), PLATFORM):
        with pytest.raises(Forbidden, match="réservée à Marie Dupont"):
            complete(db.uow, case, task, intruder, {"decision": "signer"})
    done = complete(db.uow, case, task, person("maire"), {"decision": "signer"})
    assert done.status == CaseStatus.RUNNING and done.version == 2  # waits for the signature
    completed = [e for e in db.state.journal[TENANT] if e.kind == "task.completed"]
    assert [(e.actor, "pour" in e.payload) for e in completed] == [("user:maire", False)]


def test_the_deputy_signs_for_the_absent_mayor(db: MemoryDatabase, circuit_spec: str) -> None:
    delegate(db.uow)
    case = _circuit(db, circuit_spec, SIGNATURE)
    (task,) = tasks_of(db.uow, case)
    complete(db.uow, case, task, person("adjoint"), {"decision": "signer"})
    (entry,) = [e for e in db.state.journal[TENANT] if e.kind == "task.completed"]
    assert entry.actor == "user:adjoint" and entry.payload["pour"] == "user:maire"
    assert entry.payload["mention"] == "par délégation de Marie Dupont"
    (job,) = db.state.jobs.values()
    assert (job.params["signataire"], job.params["pour"]) == ("user:adjoint", "user:maire")


def test_every_visa_of_a_tous_step_is_awaited(db: MemoryDatabase, circuit_spec: str) -> None:
    etapes = [{"type": "visa", "signataires": ["dgs", "maire"], "regle": "tous"}, *SIGNATURE]
    case = _circuit(db, circuit_spec, etapes)
    visas = {t.assignee: t for t in tasks_of(db.uow, case)}
    complete(db.uow, case, visas["dgs"], person("dgs"), {"decision": "viser"})
    assert [t.assignee for t in tasks_of(db.uow, case)] == ["maire"]
    complete(db.uow, case, visas["maire"], person("maire"), {"decision": "viser"})
    assert [(t.name, t.assignee) for t in tasks_of(db.uow, case)] == [("signer", "maire")]


def test_a_rejection_needs_a_comment_and_goes_back_to_the_service(
    db: MemoryDatabase, circuit_spec: str
) -> None:
    etapes = [{"type": "visa", "signataires": ["dgs"], "regle": "un"}, *SIGNATURE]
    case = _circuit(db, circuit_spec, etapes)
    (visa,) = tasks_of(db.uow, case)
    with pytest.raises(InvalidInput):
        complete(db.uow, case, visa, person("dgs"), {"decision": "rejeter"})
    back = complete(
        db.uow, case, visa, person("dgs"), {"decision": "rejeter", "commentaire": "Annexe ?"}
    )
    assert (back.data["circuit_resultat"], back.data["circuit_commentaire"]) == (
        "rejete",
        "Annexe ?",
    )
    (redo,) = tasks_of(db.uow, case)
    assert (redo.name, redo.lane, redo.assignee) == ("reprendre_document", "agent", None)
    with pytest.raises(Forbidden, match="revient au rôle « Agent »"):
        complete(db.uow, case, redo, person("maire"), {})


def test_a_stale_version_loses_cleanly(db: MemoryDatabase, circuit_spec: str) -> None:
    case = _circuit(db, circuit_spec, SIGNATURE)
    (task,) = tasks_of(db.uow, case)
    with db.uow() as uow, pytest.raises(Conflict, match="modifié entre-temps"):
        complete_task(
            uow,
            tenant=TENANT,
            case_id=case.id,
            task_id=task.id,
            data={"decision": "signer"},
            actor=person("maire"),
            now=NOW,
            expected_version=0,
        )
