"""JSON Schema -> HTML fields, and submitted values -> JSON, without a server."""

from __future__ import annotations

from engine.domain.errors import FieldError
from web.forms import errors_by_field, fields_of, read_form

SCHEMA = {
    "type": "object",
    "required": ["montant", "objet"],
    "properties": {
        "objet": {"type": "string", "title": "Objet", "maxLength": 200},
        "texte": {"type": "string", "maxLength": 5000},
        "montant": {"type": "number", "title": "Montant HT", "minimum": 0},
        "lots": {"type": "integer"},
        "urgent": {"type": "boolean", "title": "Urgent"},
        "procedure": {"type": "string", "enum": ["a", "b", "c", "d", "e"]},
        "annexes": {"type": "array"},
    },
}


def test_widgets_follow_the_schema() -> None:
    fields = {f.name: f for f in fields_of(SCHEMA, errors={"objet": "trop court"})}
    assert fields["objet"].widget == "text" and fields["objet"].attrs == {"data-maxlength": 200}
    assert fields["objet"].required and fields["objet"].error == "trop court"
    assert fields["texte"].widget == "textarea" and fields["texte"].label == "texte"
    assert fields["montant"].widget == "number" and fields["montant"].attrs["step"] == "any"
    assert fields["urgent"].widget == "checkbox"
    assert fields["procedure"].widget == "select" and len(fields["procedure"].options) == 5
    assert fields["annexes"].widget == "unsupported"


def test_submitted_values_become_typed_json() -> None:
    form = {"objet": "  Achat  ", "texte": "", "montant": "12,5", "lots": "deux", "urgent": "on"}
    assert read_form(SCHEMA, form) == {
        "objet": "Achat",
        "montant": 12.5,
        "lots": "deux",  # left as text: the engine's validation names the field
        "urgent": True,
    }
    assert read_form(SCHEMA, {})["urgent"] is False


def test_errors_are_put_next_to_their_field() -> None:
    by_field, general = errors_by_field(
        SCHEMA, [FieldError("objet", "obligatoire"), FieldError("x,y", "champ inconnu")]
    )
    assert by_field == {"objet": "obligatoire"}
    assert general == ["x,y : champ inconnu"]
