"""The deadline operation gives BPMN timers a due instant with its legal reasoning."""

from __future__ import annotations

from typing import Any

import pytest

from engine.operations.base import OperationFailed
from engine.operations.deadlines import COMPUTE_DEADLINE


def compute_deadline(params: dict[str, Any]) -> dict[str, Any]:
    """The operation's phases with no database: parameters parsed, then the rule computed."""
    return COMPUTE_DEADLINE.act(COMPUTE_DEADLINE.parse(params))


def test_convocation_deadline_for_a_monday_session() -> None:
    result = compute_deadline({"regle": "cgct.convocation", "seance": "2026-03-16T18:00:00+01:00"})
    # 5 jours francs before Monday 16 March: sending day and session day do not count → Tue 10.
    assert result["local_date"] == "2026-03-10"
    assert result["echeance"] == "2026-03-10T23:00:00Z"
    assert "jours francs" in result["explication"]
    assert result["base_legale"].startswith("Art. L2121")


def test_implicit_decision_two_months_later() -> None:
    result = compute_deadline(
        {
            "regle": "crpa.decision_implicite",
            "recu_le": "2026-01-31T10:00:00+01:00",
            "acceptation": True,
        },
    )
    assert result["local_date"] == "2026-03-31"


def test_unknown_rule_and_bad_input_are_definitive_failures() -> None:
    with pytest.raises(OperationFailed) as unknown:
        compute_deadline({"regle": "inconnue"})
    assert unknown.value.code == "regle_inconnue"
    with pytest.raises(OperationFailed) as naive:
        compute_deadline({"regle": "cgct.convocation", "seance": "2026-03-16T18:00:00"})
    assert naive.value.code == "echeance_entree"


def test_legality_control_runs_from_the_complements_when_the_prefet_asked_for_them() -> None:
    params = {"regle": "cgct.controle_legalite", "ar_recu_le": "2026-03-02T10:00:00+01:00"}
    without = compute_deadline(params)
    later = compute_deadline({**params, "complements_recus_le": "2026-04-15T09:00:00+02:00"})
    assert later["due"] > without["due"]
    assert later["inputs"]["complements_received_at"].startswith("2026-04-15")


def test_standstill_takes_the_days_the_procedure_gives() -> None:
    params = {"regle": "ccp.standstill", "notifie_le": "2026-03-02T10:00:00+01:00"}
    assert compute_deadline({**params, "jours": 11}) == compute_deadline(params)
    assert compute_deadline({**params, "jours": 16})["inputs"]["days"] == 16
