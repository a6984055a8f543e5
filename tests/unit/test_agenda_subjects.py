"""A séance's projects read as their agenda points, not as project numbers."""

from __future__ import annotations

from web.display import case_rows
from web.pages.cases import agenda_subjects

DATA = {
    "projets": ["2027_PDEL0012"],
    "agenda": {
        "ordre_du_jour": [
            {"numero": 1, "numero_projet": "2027_PDEL0012", "objet": "Tarifs de la cantine"},
        ]
    },
}
FORMS = {
    "convoquer": {
        "type": "object",
        "properties": {
            "projets": {
                "type": "array",
                "title": "Ordre du jour",
                "items": {"type": "string"},
                "x-dematflow-source": {"kind": "seance_projects"},
            }
        },
    }
}


def test_projects_picked_for_a_seance_read_as_their_agenda_points() -> None:
    subjects = agenda_subjects(DATA)
    assert subjects == {"2027_PDEL0012": "1. Tarifs de la cantine (projet 2027_PDEL0012)"}
    rows = case_rows(DATA, FORMS, people=subjects)
    [row] = [r for r in rows if r.key == "projets"]
    assert [item.text for item in row.value.items] == [subjects["2027_PDEL0012"]]


def test_no_agenda_yet() -> None:
    assert agenda_subjects({"projets": ["2027_PDEL0012"]}) == {}
    assert agenda_subjects({"agenda": "?"}) == {}
