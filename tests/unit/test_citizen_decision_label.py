"""The citizen's status page names the decision's document for what it is."""

from __future__ import annotations

import pytest

from engine.services.citizen_requests import _decision_label


@pytest.mark.parametrize(
    ("data", "label"),
    [
        ({"statut": "accordée", "notification": {}}, "Décision (PDF)"),
        ({"statut": "refusée", "notification": {}}, "Décision (PDF)"),
        ({"statut": "acceptée implicitement"}, "Attestation d'acceptation implicite (PDF)"),
        ({"statut": "rejetée implicitement"}, "Information sur le rejet implicite (PDF)"),
    ],
)
def test_decision_document_label(data: dict[str, object], label: str) -> None:
    assert _decision_label(data) == label
