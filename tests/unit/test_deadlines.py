"""Deadlines in task lists (engine.services.task_access), over the in-memory unit of work: the
dossier's next legal deadline gives each task its state, lists filter and sort on it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.domain.deadlines import days_later_end_of_day
from engine.domain.errors import InvalidInput
from engine.services import task_access
from tests.fakes.memory_uow import MemoryDatabase, start_case
from tests.unit.support import DOCUMENT, NOW, TENANT, person

VISA = [{"type": "visa", "signataires": ["dgs"], "regle": "un"}]


def _deadline(days: int) -> dict[str, object]:
    start = NOW + timedelta(days=days - 10)
    return days_later_end_of_day(start, days=10, rule="recours", legal_basis="CJA R421-1").to_dict()


def _case_due_in(db: MemoryDatabase, spec: str, days: int | None, objet: str) -> None:
    data: dict[str, object] = {"objet": objet, "circuit": {"etapes": VISA, "document": DOCUMENT}}
    if days is not None:
        data["echeance"] = _deadline(days)
    with db.uow() as uow:
        start_case(uow, tenant=TENANT, spec_hash=spec, data=data, created_by="t", now=NOW)
        uow.commit()


def test_next_deadline_and_its_state() -> None:
    data = {"a": _deadline(-3), "b": _deadline(3), "c": _deadline(30), "x": {"due": "?"}}
    coming = task_access.next_deadline(data, NOW)
    assert coming is not None and coming.due.date() == (NOW + timedelta(days=3)).date()
    assert task_access.deadline_state(coming, NOW) == "proche"
    assert task_access.deadline_state(coming, NOW + timedelta(days=5)) == "en_retard"
    assert task_access.deadline_state(coming, NOW - timedelta(days=30)) == "a_venir"
    assert task_access.deadline_state(None, NOW) == "sans_echeance"
    passed = task_access.next_deadline({"a": _deadline(-3), "b": _deadline(-9)}, NOW)
    assert passed is not None and passed.due.date() == (NOW - timedelta(days=3)).date()


def test_lists_filter_and_sort_on_deadlines(db: MemoryDatabase, circuit_spec: str) -> None:
    for days, objet in ((30, "lointain"), (None, "sans"), (-2, "passe"), (4, "proche")):
        _case_due_in(db, circuit_spec, days, objet)
    with db.uow() as uow:

        def titles(**options: str) -> list[str]:
            listed = task_access.list_tasks(
                uow, tenant=TENANT, actor=person("dgs"), now=NOW, **options
            )
            return [row.case.title for row in listed.tasks]

        assert titles(sort="echeance") == ["passe", "proche", "lointain", "sans"]
        assert titles(state="en_retard") == ["passe"]
        assert titles(state="proche") == ["proche"]
        assert titles(state="sans_echeance") == ["sans"]
        with pytest.raises(InvalidInput, match="État inconnu : « bientot »"):
            titles(state="bientot")
        assert titles(assignment="service") == []  # visas are assigned, never the service's
