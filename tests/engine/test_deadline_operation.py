"""The deadline operation gives BPMN timers a due instant with its legal reasoning."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from engine.services.deadline_operations import compute_deadline
from engine.services.operations import OperationContext, OperationFailed


def _ctx() -> OperationContext:
    def no_database() -> None:
        raise AssertionError("a deadline needs no database")

    return OperationContext(
        tenant="213400005",
        case_id=uuid.uuid4(),
        task_name="t",
        idempotency_key="k",
        now=datetime(2026, 3, 2, tzinfo=UTC),
        unit_of_work=no_database,
    )  # type: ignore[arg-type]


def test_convocation_deadline_for_a_monday_session() -> None:
    result = compute_deadline(
        _ctx(), {"regle": "cgct.convocation", "seance": "2026-03-16T18:00:00+01:00"}
    )
    # 5 jours francs before Monday 16 March: sending day and session day do not count → Tue 10.
    assert result["local_date"] == "2026-03-10"
    assert result["echeance"] == "2026-03-10T23:00:00Z"
    assert "jours francs" in result["explication"]
    assert result["base_legale"].startswith("Art. L2121")


def test_implicit_decision_two_months_later() -> None:
    result = compute_deadline(
        _ctx(),
        {
            "regle": "crpa.decision_implicite",
            "recu_le": "2026-01-31T10:00:00+01:00",
            "acceptation": True,
        },
    )
    assert result["local_date"] == "2026-03-31"


def test_unknown_rule_and_bad_input_are_definitive_failures() -> None:
    with pytest.raises(OperationFailed) as unknown:
        compute_deadline(_ctx(), {"regle": "inconnue"})
    assert unknown.value.code == "regle_inconnue"
    with pytest.raises(OperationFailed) as naive:
        compute_deadline(_ctx(), {"regle": "cgct.convocation", "seance": "2026-03-16T18:00:00"})
    assert naive.value.code == "echeance_entree"
