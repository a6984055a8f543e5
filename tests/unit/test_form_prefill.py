"""A task form opens with what the case already holds under its fields' names."""

from __future__ import annotations

from web.forms import fields_of, prefilled

SCHEMA = {
    "type": "object",
    "properties": {
        "membres_en_exercice": {"type": "integer", "title": "Conseillers en exercice"},
        "presents": {"type": "integer", "title": "Présents"},
        "observations": {"type": "string", "title": "Observations"},
    },
}


def test_fields_open_with_the_case_data_of_their_name() -> None:
    case_data = {"membres_en_exercice": 7, "observations": None, "autre": "x"}
    values = prefilled(SCHEMA, case_data)
    assert values == {"membres_en_exercice": 7}, "only the form's fields, only values held"
    shown = {f.name: f.value for f in fields_of(SCHEMA, values)}
    assert shown["membres_en_exercice"] == 7 and not shown["presents"]


def test_no_schema_no_values() -> None:
    assert prefilled(None, {"a": 1}) == {}
